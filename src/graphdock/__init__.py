"""graphdock: an open server for LangGraph graphs, centred on assistants and their versions."""

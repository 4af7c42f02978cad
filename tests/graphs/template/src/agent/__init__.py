"""A project laid out like LangChain's `new-langgraph-project` template (its .env deliberately absent)."""

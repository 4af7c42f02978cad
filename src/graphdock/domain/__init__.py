"""The rules of assistants and versions (threads and runs to come); never sees HTTP or SQL."""

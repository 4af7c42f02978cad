"""The column lists both SQL backends select and insert, in the order their row mappers read."""

SNAPSHOT = "graph_id, config, context, metadata, name, description"
ASSISTANT = f"assistant_id, {SNAPSHOT}, version, created_at, updated_at"
VERSION = f"assistant_id, {SNAPSHOT}, version, created_at, change, changed_by, restored_from"

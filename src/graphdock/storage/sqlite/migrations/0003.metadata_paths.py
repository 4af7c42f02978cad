"""Re-index metadata by path: every leaf at any depth, so nested containment searches use the index.

0001 indexed only top-level keys (nested objects and arrays fell back to a scan); the table keeps
its shape, its rows change meaning, so they are rebuilt from each assistant's active metadata.
"""

import json

from yoyo import step

from graphdock.storage.containment import index_entries


def rebuild(conn):  # type: ignore[no-untyped-def]
    cursor = conn.cursor()
    rows = cursor.execute("SELECT assistant_id, metadata FROM assistants").fetchall()
    cursor.execute("DELETE FROM assistant_metadata")
    cursor.executemany(
        "INSERT INTO assistant_metadata (assistant_id, key, value) VALUES (?, ?, ?)",
        [(aid, path, value) for aid, metadata in rows for path, value in index_entries(json.loads(metadata))],
    )


steps = [step(rebuild)]

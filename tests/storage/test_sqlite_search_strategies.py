"""SQLite: both ways of running a metadata search (from the index's matches, or walking in page
order) return the same pages; which one runs is only a question of speed."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from graphdock.storage.columns import ASSISTANT
from graphdock.storage.records import AssistantFilter, Snapshot
from graphdock.storage.sqlite.rows import where_sql
from graphdock.storage.sqlite.store import SqliteStorage

QUERIES = [
    {"owner": "u3"},
    {"team": {"id": 3}},
    {"team": {"id": 3}, "owner": "u3"},
    {"tags": ["b"]},
    {"tags": ["a", "b"], "team": {}},
    {"n": 5},
    {"missing": 1},
]


@pytest.mark.parametrize("metadata", QUERIES, ids=str)
async def test_both_search_strategies_return_the_same_rows_in_the_same_order(
    tmp_path: Path, metadata: dict[str, object]
) -> None:
    storage = SqliteStorage(f"sqlite:///{tmp_path / 's.sqlite3'}")
    await storage.open()
    try:
        for i in range(400):
            tags = ["a", "b"] if i % 3 == 0 else ["a"]
            meta = {"owner": f"u{i % 10}", "n": i, "team": {"id": i % 7}, "tags": tags}
            await storage.create_assistant(
                str(uuid.uuid4()), Snapshot("agent", {}, {}, meta, f"n{i}", None), "raise"
            )
        conn = storage._conn  # white-box: the two plans are internal by design
        assert conn is not None
        pages = []
        for in_order in (False, True):
            clause, params = where_sql(AssistantFilter(metadata=metadata), in_sort_order=in_order)
            sql = f"SELECT {ASSISTANT} FROM assistants{clause} ORDER BY created_at DESC, assistant_id DESC"
            pages.append([row[0] for row in conn.execute(sql, params).fetchall()])
        assert pages[0] == pages[1]
        expected = {"missing": 0, "n": 1}.get(next(iter(metadata)))
        if expected is not None:
            assert len(pages[0]) == expected
        else:
            assert pages[0], "the query should match some assistants"
    finally:
        await storage.close()

"""SQLite: the statements behind get, update, set_latest, versions and delete never scan a table.

That is what makes them cost the same with 1 version or 100,000 (bench/ measures the times; this
pins the cause without timing anything). Every statement the backend runs is traced and its
query plan inspected.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from graphdock.storage.records import Assistant, Page, Snapshot
from graphdock.storage.sqlite.store import SqliteStorage

SNAPSHOT = Snapshot("agent", {"configurable": {"a": 1}}, {"a": 1}, {"owner": "x"}, "n", None)


def _same(current: Assistant) -> Snapshot:
    return current.snapshot


async def _traced(storage: SqliteStorage, action: Callable[[], Awaitable[Any]]) -> list[str]:
    conn: sqlite3.Connection = storage._conn  # type: ignore[assignment]  # white-box by design
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        await action()
    finally:
        conn.set_trace_callback(None)
    return [s for s in statements if s.split()[0].upper() in {"SELECT", "INSERT", "UPDATE", "DELETE"}]


def _unbounded_steps(conn: sqlite3.Connection, statement: str) -> list[str]:
    """Plan steps that walk a table or index without a key: "SCAN t [USING ...]", or a
    "SEARCH t USING PRIMARY KEY" with no "(col=?)" constraint, which reads every row."""
    plan = conn.execute("EXPLAIN QUERY PLAN " + statement).fetchall()
    return [
        row[3]
        for row in plan
        if row[3].startswith("SCAN") or (row[3].startswith("SEARCH") and "(" not in row[3])
    ]


@pytest.mark.parametrize(
    "operation",
    ["get", "revise", "set_active_version", "list_versions", "get_version", "delete_version", "delete"],
)
async def test_single_assistant_operations_use_indexes_only(tmp_path: Path, operation: str) -> None:
    storage = SqliteStorage(f"sqlite:///{tmp_path / 'plans.sqlite3'}")
    await storage.open()
    try:
        aid = "00000000-0000-4000-8000-000000000001"
        await storage.create_assistant(aid, SNAPSHOT, "raise")
        for _ in range(50):
            await storage.revise_assistant(aid, _same)
        actions: dict[str, Callable[[], Awaitable[Any]]] = {
            "get": lambda: storage.get_assistant(aid),
            "revise": lambda: storage.revise_assistant(aid, _same),
            "set_active_version": lambda: storage.set_active_version(aid, 3),
            "list_versions": lambda: storage.list_versions(aid, {}, Page(limit=10, offset=0)),
            "get_version": lambda: storage.get_version(aid, 7),
            "delete_version": lambda: storage.delete_version(aid, 7),
            "delete": lambda: storage.delete_assistant(aid),
        }
        statements = await _traced(storage, actions[operation])
        assert statements, "the operation ran no statement"
        check = sqlite3.connect(tmp_path / "plans.sqlite3")
        for statement in statements:
            assert _unbounded_steps(check, statement) == [], statement
        check.close()
    finally:
        await storage.close()

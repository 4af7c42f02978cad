"""SQLite: the statements behind get, update, set_latest, versions and delete, and the run queue's,
never scan a table.

That is what makes them cost the same with 1 version or 100,000, and a run's creation and claim the
same with 10 runs kept or 100,000 (bench/ measures the times; this pins the cause without timing
anything). Every statement the backend runs is traced and its query plan inspected.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from graphdock.domain.run_rules import admission, thread_after_run
from graphdock.storage.records import Assistant, Page, Snapshot, utc_now
from graphdock.storage.sqlite.store import SqliteStorage
from graphdock.storage.threads import Lease, NewThread, Run, ThreadOutcome

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
    "SEARCH t USING PRIMARY KEY" with no "(col=?)" constraint, which reads every row. ("SCAN
    CONSTANT ROW", a SELECT without FROM, reads nothing.)"""
    plan = conn.execute("EXPLAIN QUERY PLAN " + statement).fetchall()
    return [
        row[3]
        for row in plan
        if (row[3].startswith("SCAN") and row[3] != "SCAN CONSTANT ROW")
        or (row[3].startswith("SEARCH") and "(" not in row[3])
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
        _assert_bounded(tmp_path / "plans.sqlite3", await _traced(storage, actions[operation]))
    finally:
        await storage.close()


def _assert_bounded(database: Path, statements: list[str]) -> None:
    """Each statement the operation ran reaches rows only through an index."""
    assert statements, "the operation ran no statement"
    check = sqlite3.connect(database)
    try:
        for statement in statements:
            assert _unbounded_steps(check, statement) == [], statement
    finally:
        check.close()


AID = "00000000-0000-4000-8000-000000000001"
DONE = ThreadOutcome("idle", None, {})


def _lease() -> Lease:
    return Lease("w", utc_now())


async def _create(storage: SqliteStorage, *, temporary: bool, start: Lease | None) -> Run:
    now = utc_now()
    run = Run(
        str(uuid.uuid4()), str(uuid.uuid4()), AID, now, now, "pending", {}, "enqueue", {}, temporary=temporary
    )
    created, _ = await storage.create_run(
        run, new_thread=NewThread({}, fresh=True), admit=admission("enqueue"), start=start
    )
    return created


@pytest.mark.parametrize(
    "operation", ["create_and_claim", "create_queued", "claim", "queue", "finish_stateless"]
)
async def test_run_queue_operations_use_indexes_only(tmp_path: Path, operation: str) -> None:
    storage = SqliteStorage(f"sqlite:///{tmp_path / 'plans.sqlite3'}")
    await storage.open()
    try:
        await storage.create_assistant(AID, SNAPSHOT, "raise")
        for _ in range(50):  # finished runs kept on their threads, which the queue must not read
            kept = await _create(storage, temporary=False, start=_lease())
            await storage.finish_run(kept.run_id, "success", error=None, outcome=DONE, after=thread_after_run)
        queued = await _create(storage, temporary=True, start=None)
        if operation == "finish_stateless":
            assert await storage.claim_run(utc_now(), _lease()) is not None
        actions: dict[str, Callable[[], Awaitable[Any]]] = {
            "create_and_claim": lambda: _create(storage, temporary=True, start=_lease()),
            "create_queued": lambda: _create(storage, temporary=True, start=None),
            "claim": lambda: storage.claim_run(utc_now(), _lease()),
            "queue": storage.run_queue,
            "finish_stateless": lambda: storage.finish_run(
                queued.run_id,
                "success",
                error=None,
                outcome=DONE,
                after=thread_after_run,
                attempt=1,
                discard=True,
            ),
        }
        _assert_bounded(tmp_path / "plans.sqlite3", await _traced(storage, actions[operation]))
    finally:
        await storage.close()

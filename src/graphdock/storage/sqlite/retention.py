"""Retention on SQLite: threads' own TTLs, the sweep's claim, and taking expired threads.

SQLite has one writer, so a sweep's select and its delete (or mark) are one step already; a run
created on a thread meanwhile waits for the sweep's transaction, and finds the thread gone.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from typing import Literal, Protocol

from graphdock.storage.base import thread_not_found
from graphdock.storage.retention import Expiry, ThreadTtl


class _Connected(Protocol):
    def _write(
        self, mode: Literal["IMMEDIATE", "DEFERRED"] = ...
    ) -> AbstractContextManager[sqlite3.Connection]: ...
    def _read(self) -> AbstractContextManager[sqlite3.Connection]: ...


class SqliteRetention:
    """Mixed into SqliteStorage, whose connection and transaction helpers it uses."""

    async def get_thread_ttl(self: _Connected, thread_id: str) -> ThreadTtl:
        with self._read() as c:
            row = c.execute(
                "SELECT ttl_minutes, ttl_strategy FROM threads WHERE thread_id = ?", (thread_id,)
            ).fetchone()
        if row is None:
            raise thread_not_found(thread_id)
        return ThreadTtl(row[0], row[1])

    async def claim_sweep(self: _Connected, name: str, holder: str, now: str, next_at: str) -> bool:
        with self._write() as c:
            row = c.execute(
                "INSERT INTO sweeps (name, next_at, holder) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE"
                " SET next_at = excluded.next_at, holder = excluded.holder WHERE sweeps.next_at <= ?"
                " RETURNING name",
                (name, next_at, holder, now),
            ).fetchone()
            return row is not None

    async def expire_threads(self: _Connected, expiry: Expiry) -> list[str]:
        with self._write() as c:
            shortest = c.execute("SELECT min(ttl_minutes) FROM threads WHERE ttl_minutes IS NOT NULL")
            cutoff = expiry.cutoff(shortest.fetchone()[0])
            if cutoff is None:
                return []
            # julianday() reads utc_now's ISO text (offset included) as days, so minutes / 1440.
            due = (
                "SELECT thread_id FROM threads t WHERE updated_at <= ? AND status <> 'busy'"
                " AND coalesce(ttl_strategy, ?) = ?"
                " AND julianday(updated_at) + coalesce(ttl_minutes, ?) / 1440.0 <= julianday(?)"
                " AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.thread_id = t.thread_id"
                " AND r.status IN ('pending', 'running'))"
            )
            params: tuple[object, ...] = (
                cutoff,
                expiry.default_strategy,
                expiry.strategy,
                expiry.default_minutes,
                expiry.now,
            )
            if expiry.strategy == "delete":  # its runs go with it (ON DELETE CASCADE)
                sql = f"DELETE FROM threads WHERE thread_id IN ({due} ORDER BY updated_at LIMIT ?)"
            else:
                due += " AND (pruned_at IS NULL OR pruned_at <> updated_at)"
                sql = (
                    "UPDATE threads SET pruned_at = updated_at"
                    f" WHERE thread_id IN ({due} ORDER BY updated_at LIMIT ?)"
                )
            rows = c.execute(f"{sql} RETURNING thread_id", (*params, expiry.limit)).fetchall()
            return [r[0] for r in rows]


def write_ttl(c: sqlite3.Connection, thread_id: str, ttl: ThreadTtl) -> None:
    """Inside the transaction that creates or updates the thread."""
    c.execute(
        "UPDATE threads SET ttl_minutes = ?, ttl_strategy = ? WHERE thread_id = ?",
        (ttl.minutes, ttl.strategy, thread_id),
    )

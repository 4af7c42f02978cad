"""Retention on PostgreSQL: threads' own TTLs, the sweep's claim, and taking expired threads.

A sweep locks the threads it takes with SKIP LOCKED: a thread a run is being created on (its row
locked by create_run) is skipped, never waited for; once locked, a thread's row is read again, so
one that became busy meanwhile is left. Two replicas sweeping at once take disjoint threads.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import psycopg

from graphdock.storage.base import thread_not_found
from graphdock.storage.retention import Expiry, ThreadTtl

Conn = psycopg.AsyncConnection[tuple[Any, ...]]


class _Connected(Protocol):
    def _write(self, isolation: psycopg.IsolationLevel | None = ...) -> AbstractAsyncContextManager[Conn]: ...
    def _read(self) -> AbstractAsyncContextManager[Conn]: ...


class PostgresRetention:
    """Mixed into PostgresStorage, whose pool, transactions and error mapping it uses."""

    async def get_thread_ttl(self: _Connected, thread_id: str) -> ThreadTtl:
        async with self._read() as c:
            cursor = await c.execute(
                "SELECT ttl_minutes, ttl_strategy FROM threads WHERE thread_id = %s", (thread_id,)
            )
            row = await cursor.fetchone()
        if row is None:
            raise thread_not_found(thread_id)
        return ThreadTtl(row[0], row[1])

    async def claim_sweep(self: _Connected, name: str, holder: str, now: str, next_at: str) -> bool:
        # Replicas claiming together: the second waits for the first's row and then finds next_at
        # in the future, so it claims nothing.
        async with self._write() as c:
            cursor = await c.execute(
                "INSERT INTO sweeps (name, next_at, holder) VALUES (%s, %s::timestamptz, %s)"
                " ON CONFLICT (name) DO UPDATE SET next_at = excluded.next_at, holder = excluded.holder"
                " WHERE sweeps.next_at <= %s::timestamptz RETURNING name",
                (name, next_at, holder, now),
            )
            return await cursor.fetchone() is not None

    async def expire_threads(self: _Connected, expiry: Expiry) -> list[str]:
        async with self._write() as c:
            cursor = await c.execute("SELECT min(ttl_minutes) FROM threads WHERE ttl_minutes IS NOT NULL")
            shortest = await cursor.fetchone()
            cutoff = expiry.cutoff(shortest[0] if shortest else None)
            if cutoff is None:
                return []
            pruned = " AND pruned_at IS DISTINCT FROM updated_at" if expiry.strategy == "keep_latest" else ""
            due = (
                "SELECT thread_id FROM threads t WHERE updated_at <= %(cutoff)s::timestamptz"
                " AND status <> 'busy' AND coalesce(ttl_strategy, %(default_strategy)s) = %(strategy)s"
                " AND updated_at + coalesce(ttl_minutes, %(default_minutes)s::double precision)"
                " * interval '1 minute' <= %(now)s::timestamptz"
                " AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.thread_id = t.thread_id"
                f" AND r.status IN ('pending', 'running')){pruned}"
                " ORDER BY updated_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED"
            )
            if expiry.strategy == "delete":  # its runs go with it (ON DELETE CASCADE)
                sql = f"WITH due AS ({due}) DELETE FROM threads t USING due WHERE t.thread_id = due.thread_id"
            else:
                sql = (
                    f"WITH due AS ({due}) UPDATE threads t SET pruned_at = t.updated_at"
                    " FROM due WHERE t.thread_id = due.thread_id"
                )
            cursor = await c.execute(
                f"{sql} RETURNING t.thread_id",
                {
                    "cutoff": cutoff,
                    "default_strategy": expiry.default_strategy,
                    "strategy": expiry.strategy,
                    "default_minutes": expiry.default_minutes,
                    "now": expiry.now,
                    "limit": expiry.limit,
                },
            )
            return [r[0] for r in await cursor.fetchall()]


async def write_ttl(c: Conn, thread_id: str, ttl: ThreadTtl) -> None:
    """Inside the transaction that creates or updates the thread."""
    await c.execute(
        "UPDATE threads SET ttl_minutes = %s, ttl_strategy = %s WHERE thread_id = %s",
        (ttl.minutes, ttl.strategy, thread_id),
    )

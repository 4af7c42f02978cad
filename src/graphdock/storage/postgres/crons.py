"""Crons on PostgreSQL: the rows, and the claim that makes each firing happen once across replicas.

Every replica's scheduler asks for due crons with `FOR UPDATE SKIP LOCKED`: a cron another
replica is claiming right now is skipped, not waited for, and the claim moves next_run_date
forward (conditionally on the date it was due at) before the transaction commits. A firing is
therefore handed to exactly one replica.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import psycopg
from psycopg.types.json import Jsonb

from graphdock.storage.base import assistant_not_found, thread_not_found
from graphdock.storage.columns import CRON, RUN
from graphdock.storage.cron_rows import CRON_SORT, cron_from_row, cron_params
from graphdock.storage.crons import Cron, CronFilter, CronSortField, NextFiring, ReviseCron, cron_not_found
from graphdock.storage.postgres.rows import timestamp
from graphdock.storage.records import Page
from graphdock.storage.thread_rows import run_from_row
from graphdock.storage.threads import Run
from graphdock.storage.visibility import postgres_sql

Conn = psycopg.AsyncConnection[tuple[Any, ...]]
_PLACEHOLDERS = ",".join(["%s"] * len(CRON.split(",")))
# Every column but the id, for an update that writes the revised cron whole.
_ASSIGN = ", ".join(f"{name.strip()} = %s" for name in CRON.split(",")[1:])


class _Connected(Protocol):
    def _write(self, isolation: psycopg.IsolationLevel | None = ...) -> AbstractAsyncContextManager[Conn]: ...
    def _read(self) -> AbstractAsyncContextManager[Conn]: ...


class PostgresCrons:
    """Mixed into PostgresStorage, whose pool, transactions and error mapping it uses."""

    async def create_cron(self: _Connected, cron: Cron) -> Cron:
        async with self._write() as c:
            # FOR SHARE: a concurrent delete_assistant (FOR UPDATE) waits for this cron, then takes it along.
            found = await c.execute(
                "SELECT 1 FROM assistants WHERE assistant_id = %s FOR SHARE", (cron.assistant_id,)
            )
            if await found.fetchone() is None:
                raise assistant_not_found(cron.assistant_id)
            if cron.thread_id is not None:
                found = await c.execute(
                    "SELECT 1 FROM threads WHERE thread_id = %s FOR SHARE", (cron.thread_id,)
                )
                if await found.fetchone() is None:
                    raise thread_not_found(cron.thread_id)
            await c.execute(
                f"INSERT INTO crons ({CRON}) VALUES ({_PLACEHOLDERS})", cron_params(cron, json=Jsonb)
            )
        return cron

    async def get_cron(self: _Connected, cron_id: str) -> Cron:
        async with self._read() as c:
            return await _cron(c, cron_id)

    async def update_cron(self: _Connected, cron_id: str, revise: ReviseCron) -> Cron:
        async with self._write() as c:
            updated = revise(await _cron(c, cron_id, lock=True))
            params = cron_params(updated, json=Jsonb)
            await c.execute(f"UPDATE crons SET {_ASSIGN} WHERE cron_id = %s", (*params[1:], cron_id))
            return updated

    async def delete_cron(self: _Connected, cron_id: str) -> None:
        async with self._write() as c:
            if not (await c.execute("DELETE FROM crons WHERE cron_id = %s", (cron_id,))).rowcount:
                raise cron_not_found(cron_id)

    async def search_crons(
        self: _Connected, where: CronFilter, page: Page, sort_by: CronSortField, descending: bool
    ) -> tuple[list[Cron], bool]:
        clause, params = _where(where)
        order = "DESC" if descending else "ASC"
        # NULLs sort as SQLite sorts them (first ascending, last descending).
        nulls = "NULLS LAST" if descending else "NULLS FIRST"
        async with self._read() as c:
            cursor = await c.execute(
                f"SELECT {CRON} FROM crons{clause} ORDER BY {CRON_SORT[sort_by]} {order} {nulls},"
                f" cron_id {order} LIMIT %s OFFSET %s",
                (*params, page.limit + 1, page.offset),
            )
            rows = await cursor.fetchall()
        return [_row(r) for r in rows[: page.limit]], len(rows) > page.limit

    async def count_crons(self: _Connected, where: CronFilter) -> int:
        clause, params = _where(where)
        async with self._read() as c:
            row = await (await c.execute(f"SELECT count(*) FROM crons{clause}", params)).fetchone()
        assert row is not None
        count: int = row[0]
        return count

    async def list_cron_runs(self: _Connected, cron_id: str, page: Page) -> list[Run]:
        async with self._read() as c:
            await _cron(c, cron_id)
            cursor = await c.execute(
                f"SELECT {RUN} FROM runs WHERE metadata->>'cron_id' = %s"
                " ORDER BY created_at DESC, seq DESC LIMIT %s OFFSET %s",
                (cron_id, page.limit, page.offset),
            )
            rows = await cursor.fetchall()
        return [run_from_row(r, json=lambda v: v, time=timestamp) for r in rows]

    async def claim_due_crons(self: _Connected, now: str, next_firing: NextFiring, limit: int) -> list[Cron]:
        async with self._write() as c:
            cursor = await c.execute(
                f"SELECT {CRON} FROM crons WHERE enabled AND next_run_date <= %s"
                " ORDER BY next_run_date, cron_id LIMIT %s FOR UPDATE SKIP LOCKED",
                (now, limit),
            )
            due = [_row(r) for r in await cursor.fetchall()]
            for cron in due:
                # Conditional on the date it was due at: a claim that lost a race changes nothing.
                await c.execute(
                    "UPDATE crons SET next_run_date = %s WHERE cron_id = %s AND next_run_date = %s",
                    (next_firing(cron, now), cron.cron_id, cron.next_run_date),
                )
            return due


def _where(where: CronFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if where.assistant_id is not None:
        clauses.append("assistant_id = %s")
        params.append(where.assistant_id)
    if where.thread_id is not None:
        clauses.append("thread_id = %s")
        params.append(where.thread_id)
    if where.enabled is not None:
        clauses.append("enabled = %s")
        params.append(where.enabled)
    if where.metadata:
        clauses.append("metadata @> %s")
        params.append(Jsonb(where.metadata))
    if where.visible is not None:
        clause, more = postgres_sql(where.visible)
        clauses.append(clause)
        params += more
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


async def _cron(c: Conn, cron_id: str, *, lock: bool = False) -> Cron:
    sql = f"SELECT {CRON} FROM crons WHERE cron_id = %s" + (" FOR UPDATE" if lock else "")
    row = await (await c.execute(sql, (cron_id,))).fetchone()
    if row is None:
        raise cron_not_found(cron_id)
    return _row(row)


def _row(row: Sequence[Any]) -> Cron:
    return cron_from_row(row, json=lambda v: v, time=timestamp)

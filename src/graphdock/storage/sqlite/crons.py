"""Crons on SQLite: the rows, and the claim that makes each firing happen once.

A firing is claimed by moving the cron's next_run_date forward inside a `BEGIN IMMEDIATE`
transaction: any other process on the file waits for it, then sees the new date, so a due cron
is handed out once however many schedulers look.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol

import orjson

from graphdock.storage.base import assistant_not_found, thread_not_found
from graphdock.storage.columns import CRON, RUN
from graphdock.storage.cron_rows import CRON_SORT, cron_from_row, cron_params
from graphdock.storage.crons import Cron, CronFilter, CronSortField, NextFiring, ReviseCron, cron_not_found
from graphdock.storage.records import Page
from graphdock.storage.thread_rows import run_from_row
from graphdock.storage.threads import Run
from graphdock.storage.visibility import sqlite_sql

_PLACEHOLDERS = ",".join("?" * len(CRON.split(",")))
# Every column but the id, for an update that writes the revised cron whole.
_ASSIGN = ", ".join(f"{name.strip()} = ?" for name in CRON.split(",")[1:])


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


class _Connected(Protocol):
    def _write(
        self, mode: Literal["IMMEDIATE", "DEFERRED"] = ...
    ) -> AbstractContextManager[sqlite3.Connection]: ...
    def _read(self) -> AbstractContextManager[sqlite3.Connection]: ...


class SqliteCrons:
    """Mixed into SqliteStorage, whose connection and transaction helpers it uses."""

    async def create_cron(self: _Connected, cron: Cron) -> Cron:
        with self._write() as c:
            if (
                c.execute("SELECT 1 FROM assistants WHERE assistant_id = ?", (cron.assistant_id,)).fetchone()
                is None
            ):
                raise assistant_not_found(cron.assistant_id)
            if cron.thread_id is not None and (
                c.execute("SELECT 1 FROM threads WHERE thread_id = ?", (cron.thread_id,)).fetchone() is None
            ):
                raise thread_not_found(cron.thread_id)
            c.execute(
                f"INSERT INTO crons ({CRON}) VALUES ({_PLACEHOLDERS})", cron_params(cron, json=_json_text)
            )
        return cron

    async def get_cron(self: _Connected, cron_id: str) -> Cron:
        with self._read() as c:
            return _cron(c, cron_id)

    async def update_cron(self: _Connected, cron_id: str, revise: ReviseCron) -> Cron:
        with self._write() as c:
            updated = revise(_cron(c, cron_id))
            params = cron_params(updated, json=_json_text)
            c.execute(f"UPDATE crons SET {_ASSIGN} WHERE cron_id = ?", (*params[1:], cron_id))
            return updated

    async def delete_cron(self: _Connected, cron_id: str) -> None:
        with self._write() as c:
            if not c.execute("DELETE FROM crons WHERE cron_id = ?", (cron_id,)).rowcount:
                raise cron_not_found(cron_id)

    async def search_crons(
        self: _Connected, where: CronFilter, page: Page, sort_by: CronSortField, descending: bool
    ) -> tuple[list[Cron], bool]:
        clause, params = _where(where)
        order = "DESC" if descending else "ASC"
        with self._read() as c:
            rows = c.execute(
                f"SELECT {CRON} FROM crons{clause} ORDER BY {CRON_SORT[sort_by]} {order}, cron_id {order}"
                " LIMIT ? OFFSET ?",
                (*params, page.limit + 1, page.offset),
            ).fetchall()
        return [_row(r) for r in rows[: page.limit]], len(rows) > page.limit

    async def count_crons(self: _Connected, where: CronFilter) -> int:
        clause, params = _where(where)
        with self._read() as c:
            count: int = c.execute(f"SELECT count(*) FROM crons{clause}", params).fetchone()[0]
            return count

    async def list_cron_runs(self: _Connected, cron_id: str, page: Page) -> list[Run]:
        with self._read() as c:
            _cron(c, cron_id)
            rows = c.execute(
                f"SELECT {RUN} FROM runs WHERE json_extract(metadata, '$.cron_id') = ?"
                " ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
                (cron_id, page.limit, page.offset),
            ).fetchall()
        return [run_from_row(r, json=orjson.loads, time=lambda t: t) for r in rows]

    async def claim_due_crons(self: _Connected, now: str, next_firing: NextFiring, limit: int) -> list[Cron]:
        with self._write() as c:
            due = [
                _row(r)
                for r in c.execute(
                    f"SELECT {CRON} FROM crons WHERE enabled = 1 AND next_run_date IS NOT NULL"
                    " AND next_run_date <= ? ORDER BY next_run_date, cron_id LIMIT ?",
                    (now, limit),
                )
            ]
            for cron in due:
                # Conditional on the date it was due at: a claim that lost a race changes nothing.
                c.execute(
                    "UPDATE crons SET next_run_date = ? WHERE cron_id = ? AND next_run_date = ?",
                    (next_firing(cron, now), cron.cron_id, cron.next_run_date),
                )
            return due


def _where(where: CronFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if where.assistant_id is not None:
        clauses.append("assistant_id = ?")
        params.append(where.assistant_id)
    if where.thread_id is not None:
        clauses.append("thread_id = ?")
        params.append(where.thread_id)
    if where.enabled is not None:
        clauses.append("enabled = ?")
        params.append(int(where.enabled))
    if where.metadata:
        clauses.append("gd_contains(metadata, ?)")
        params.append(_json_text(where.metadata))
    if where.visible is not None:
        clause, more = sqlite_sql(where.visible)
        clauses.append(clause)
        params += more
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _cron(c: sqlite3.Connection, cron_id: str) -> Cron:
    row = c.execute(f"SELECT {CRON} FROM crons WHERE cron_id = ?", (cron_id,)).fetchone()
    if row is None:
        raise cron_not_found(cron_id)
    return _row(row)


def _row(row: Sequence[Any]) -> Cron:
    return cron_from_row(row, json=orjson.loads, time=lambda t: t)

"""An assistant's runs across threads on PostgreSQL: the filtered page, per-version stats, version tallies."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import psycopg
from psycopg.types.json import Jsonb

from graphdock.storage.assistant_runs import (
    AssistantRunFilter,
    StatsRule,
    VersionRunStats,
    VersionTally,
    run_conditions,
)
from graphdock.storage.base import assistant_not_found
from graphdock.storage.columns import RUN, VERSION, qualified
from graphdock.storage.postgres.rows import timestamp, to_version, version_read
from graphdock.storage.records import AssistantVersion, Page
from graphdock.storage.thread_rows import run_from_row
from graphdock.storage.threads import Run
from graphdock.storage.visibility import Visibility, postgres_sql

Conn = psycopg.AsyncConnection[tuple[Any, ...]]

_RUN_R = qualified("r.", RUN)
_MS = "extract(epoch FROM r.updated_at - r.created_at) * 1000"
_VERSION_P = version_read("p.")
_VERSION_COLUMNS = len(VERSION.split(", "))


def _statuses(statuses: Sequence[str]) -> str:
    return "{" + ",".join(statuses) + "}"


class _Connected(Protocol):
    def _read(self) -> AbstractAsyncContextManager[Conn]: ...


def _parsed(value: Any) -> Any:
    return value  # jsonb columns come back parsed


def _seen(visible: Visibility | None) -> tuple[str, str, list[Any]]:
    """The join to the runs' threads and the auth filter on their metadata, when there is one."""
    if visible is None:
        return "", "", []
    clause, params = postgres_sql(visible, "t.metadata")
    return " JOIN threads t ON t.thread_id = r.thread_id", f" AND {clause}", params


class PostgresAssistantRuns:
    """Mixed into PostgresStorage, whose pool and error mapping it uses."""

    async def search_assistant_runs(
        self: _Connected, where: AssistantRunFilter, page: Page
    ) -> tuple[list[Run], bool]:
        join, seen, seen_params = _seen(where.visible)
        sql, params = run_conditions(where, "%s")
        async with self._read() as c:
            cursor = await c.execute(
                f"SELECT {_RUN_R} FROM runs r{join} {sql}{seen}"
                " ORDER BY r.created_at DESC, r.seq DESC LIMIT %s OFFSET %s",
                (*params, *seen_params, page.limit + 1, page.offset),
            )
            rows = await cursor.fetchall()
        found = [run_from_row(r, json=_parsed, time=timestamp) for r in rows[: page.limit]]
        return found, len(rows) > page.limit

    async def version_run_stats(
        self: _Connected,
        assistant_id: str,
        versions: Sequence[int],
        rule: StatsRule,
        *,
        visible: Visibility | None = None,
    ) -> dict[int, VersionRunStats]:
        if not versions:
            return {}
        join, seen, seen_params = _seen(visible)
        scope = f"FROM runs r{join} WHERE r.assistant_id = %s AND r.assistant_version = ANY(%s){seen}"
        scope_params = [assistant_id, list(versions), *seen_params]
        # Both statements in one round trip (pipeline mode): the durations are asked for every
        # version named, which gives the same rows as asking for those with runs.
        async with self._read() as c:
            async with c.pipeline():
                totals_cursor = await c.execute(
                    "SELECT r.assistant_version, count(*), count(*) FILTER (WHERE r.status = ANY(%s)),"
                    f" max(r.created_at) {scope} GROUP BY r.assistant_version",
                    (list(rule.errors), *scope_params),
                )
                # Each version's newest ended runs: one index range per version, in one statement.
                recent_cursor = await c.execute(
                    f"SELECT v, d.ms FROM unnest(%s::int[]) v, LATERAL (SELECT {_MS} AS ms FROM runs r{join}"
                    f" WHERE r.assistant_id = %s AND r.assistant_version = v{seen} AND r.status = ANY(%s)"
                    " ORDER BY r.created_at DESC LIMIT %s) d",
                    (list(versions), assistant_id, *seen_params, list(rule.finished), rule.sample),
                )
            totals, recent = await totals_cursor.fetchall(), await recent_cursor.fetchall()
        durations: dict[int, list[float]] = {}
        for version, ms in recent:
            durations.setdefault(version, []).append(float(ms))
        return {
            version: VersionRunStats(runs, errors, timestamp(last), tuple(durations.get(version, ())))
            for version, runs, errors, last in totals
        }

    async def list_versions_with_run_stats(
        self: _Connected,
        assistant_id: str,
        metadata: dict[str, object],
        page: Page,
        rule: StatsRule,
        *,
        visible: Visibility | None = None,
        threads_visible: Visibility | None = None,
    ) -> list[tuple[AssistantVersion, VersionRunStats | None]]:
        # One statement, so one round trip: the assistant's row (none: NotFound, or hidden), the
        # page of its versions (none: one row of NULLs), and per version its run tallies and, only
        # when some of its runs ended, their newest durations (one index range each).
        join, seen, seen_params = _seen(threads_visible)
        filtered, filter_params = (" AND v.metadata @> %s", [Jsonb(metadata)]) if metadata else ("", [])
        allowed, allowed_params = ("", list[Any]())
        if visible is not None:
            clause, allowed_params = postgres_sql(visible, "a.metadata")
            allowed = f" AND {clause}"
        scope = f"FROM runs r{join} WHERE r.assistant_id = %s AND r.assistant_version = p.version{seen}"
        sql = (
            f"SELECT {_VERSION_P}, s.runs, s.errors, s.last_run_at, CASE WHEN s.ended > 0 THEN"
            f" ARRAY(SELECT ({_MS})::float8 {scope} AND r.status = ANY(%s::text[]) ORDER BY r.created_at DESC LIMIT %s)"
            " END FROM assistants a"
            f" LEFT JOIN LATERAL (SELECT {VERSION} FROM assistant_versions v WHERE v.assistant_id = a.assistant_id"
            f"{filtered} ORDER BY v.version DESC LIMIT %s OFFSET %s) p ON true"
            " LEFT JOIN LATERAL (SELECT count(*) AS runs, count(*) FILTER (WHERE r.status = ANY(%s::text[])) AS errors,"
            " count(*) FILTER (WHERE r.status = ANY(%s::text[])) AS ended, max(r.created_at) AS last_run_at"
            f" {scope}) s ON true WHERE a.assistant_id = %s{allowed} ORDER BY p.version DESC"
        )
        # The statuses as array literals (run statuses are plain words): dumping a Python list
        # per parameter cost more than the rest of the parameters together.
        finished, errors = _statuses(rule.finished), _statuses(rule.errors)
        params = (
            *(assistant_id, *seen_params, finished, rule.sample),
            *(*filter_params, page.limit, page.offset),
            *(errors, finished, assistant_id, *seen_params),
            *(assistant_id, *allowed_params),
        )
        async with self._read() as c:
            rows = await (await c.execute(sql, params)).fetchall()
        if not rows:
            raise assistant_not_found(assistant_id)
        n = _VERSION_COLUMNS
        return [
            (
                to_version(row[:n]),
                VersionRunStats(row[n], row[n + 1], timestamp(row[n + 2]), tuple(row[n + 3] or ()))
                if row[n]
                else None,
            )
            for row in rows
            if row[0] is not None
        ]

    async def version_tallies(self: _Connected, assistant_ids: Sequence[str]) -> dict[str, VersionTally]:
        if not assistant_ids:
            return {}
        async with self._read() as c:
            cursor = await c.execute(
                "SELECT a.assistant_id::text, a.version, a.last_version, a.version_count"
                " FROM assistants a WHERE a.assistant_id = ANY(%s::uuid[])",
                (list(assistant_ids),),
            )
            rows = await cursor.fetchall()
        return {row[0]: VersionTally(row[0], row[1], row[3], row[2] + 1) for row in rows}

"""An assistant's runs across threads on SQLite: the filtered page, per-version stats, version tallies."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import orjson

from graphdock.storage.assistant_runs import (
    AssistantRunFilter,
    StatsRule,
    VersionRunStats,
    VersionTally,
    run_conditions,
)
from graphdock.storage.columns import RUN, qualified
from graphdock.storage.records import AssistantVersion, Page
from graphdock.storage.thread_rows import run_from_row
from graphdock.storage.threads import Run
from graphdock.storage.visibility import Visibility

_RUN_R = qualified("r.", RUN)
# Milliseconds between two of our fixed-width ISO timestamps (julianday reads the +00:00 offset).
_MS = "(julianday(r.updated_at) - julianday(r.created_at)) * 86400000.0"


class _Connected(Protocol):
    def _read(self) -> AbstractContextManager[sqlite3.Connection]: ...

    async def list_versions(
        self, assistant_id: str, metadata: dict[str, object], page: Page, *, visible: Visibility | None = None
    ) -> list[AssistantVersion]: ...

    async def version_run_stats(
        self,
        assistant_id: str,
        versions: Sequence[int],
        rule: StatsRule,
        *,
        visible: Visibility | None = None,
    ) -> dict[int, VersionRunStats]: ...


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


def _seen(visible: Visibility | None) -> tuple[str, str, list[Any]]:
    """The join to the runs' threads and the auth filter on their metadata, when there is one."""
    if visible is None:
        return "", "", []
    return " JOIN threads t ON t.thread_id = r.thread_id", " AND gd_visible(t.metadata, ?)", [visible.text]


class SqliteAssistantRuns:
    """Mixed into SqliteStorage, whose read connection it uses."""

    async def search_assistant_runs(
        self: _Connected, where: AssistantRunFilter, page: Page
    ) -> tuple[list[Run], bool]:
        join, seen, seen_params = _seen(where.visible)
        sql, params = run_conditions(where, "?")
        with self._read() as c:
            rows = c.execute(
                f"SELECT {_RUN_R} FROM runs r{join} {sql}{seen}"
                " ORDER BY r.created_at DESC, r.rowid DESC LIMIT ? OFFSET ?",
                (*params, *seen_params, page.limit + 1, page.offset),
            ).fetchall()
        found = [run_from_row(r, json=orjson.loads, time=str) for r in rows[: page.limit]]
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
        scope = f"FROM runs r{join} WHERE r.assistant_id = ? AND r.assistant_version IN ({_marks(versions)}){seen}"
        scope_params = [assistant_id, *versions, *seen_params]
        with self._read() as c:
            totals = c.execute(
                f"SELECT r.assistant_version, count(*), sum(r.status IN ({_marks(rule.errors)})),"
                f" max(r.created_at) {scope} GROUP BY r.assistant_version",
                (*rule.errors, *scope_params),
            ).fetchall()
            durations = {
                version: tuple(
                    ms
                    for (ms,) in c.execute(
                        f"SELECT {_MS} FROM runs r{join} WHERE r.assistant_id = ? AND r.assistant_version = ?{seen}"
                        f" AND r.status IN ({_marks(rule.finished)}) ORDER BY r.created_at DESC LIMIT ?",
                        (assistant_id, version, *seen_params, *rule.finished, rule.sample),
                    )
                )
                for version, *_ in totals
            }
        return {
            version: VersionRunStats(runs, errors or 0, last, durations[version])
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
        # In-process reads cost no round trip: the two reads as they are.
        versions = await self.list_versions(assistant_id, metadata, page, visible=visible)
        stats = await self.version_run_stats(
            assistant_id, [v.version for v in versions], rule, visible=threads_visible
        )
        return [(v, stats.get(v.version)) for v in versions]

    async def version_tallies(self: _Connected, assistant_ids: Sequence[str]) -> dict[str, VersionTally]:
        if not assistant_ids:
            return {}
        with self._read() as c:
            rows = c.execute(
                "SELECT a.assistant_id, a.version, a.last_version,"
                " (SELECT count(*) FROM assistant_versions v WHERE v.assistant_id = a.assistant_id)"
                f" FROM assistants a WHERE a.assistant_id IN ({_marks(assistant_ids)})",
                tuple(assistant_ids),
            ).fetchall()
        return {row[0]: VersionTally(row[0], row[1], row[3], row[2] + 1) for row in rows}

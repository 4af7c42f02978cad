"""Runs read by assistant version: an assistant's runs across threads, and each version's run stats.

graphdock records which version every run used (`assistant_version`, set when the run starts);
this module is the read side of that record, so a user can see that version 5 fails where version
4 did not, and roll back. The rules live here once; both backends apply them in SQL:

- a run belongs to the version that ran it; a run that has not started yet belongs to none;
- `errors` counts runs that ended in `error` or `timeout` (an interrupted run was stopped, not broken);
- a duration is from the run's creation to its final status (queue wait included, as a client
  waits it), for runs that ended; p50/p95 are nearest-rank percentiles over the version's newest
  1,000 ended runs (recent behaviour is what a rollback decision needs, and reading them stays one
  short index range at any number of runs);
- `last_run_at` is the creation time of the version's newest run.

Who sees what: the assistant is authorized like any read of it (hidden means 404), and runs are seen
through their threads, as everywhere: a run on a thread the user may not see (the `threads.search`
filter) is neither listed nor counted.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphdock.storage.assistant_runs import AssistantRunFilter, StatsRule, VersionRunStats
from graphdock.storage.base import Storage
from graphdock.storage.records import AssistantVersion, Json, Page
from graphdock.storage.threads import Run, RunStatus
from graphdock.storage.visibility import Visibility

RULE = StatsRule(
    errors=("error", "timeout"), finished=("success", "error", "timeout", "interrupted"), sample=1000
)

_NO_RUNS = VersionRunStats(0, 0, None, ())


def nearest_rank(values: Sequence[float], percent: int) -> float | None:
    """The value at rank ceil(percent * n / 100) of the sorted values (integers: no float rounding)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, (percent * len(ordered) + 99) // 100) - 1]


def stats_to_wire(stats: VersionRunStats) -> Json:
    p50, p95 = (nearest_rank(stats.durations_ms, p) for p in (50, 95))
    return {
        "runs": stats.runs,
        "errors": stats.errors,
        "p50_duration_ms": None if p50 is None else round(p50, 1),
        "p95_duration_ms": None if p95 is None else round(p95, 1),
        "last_run_at": stats.last_run_at,
    }


class AssistantRuns:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def search(
        self,
        assistant_id: str,
        *,
        version: int | None,
        status: RunStatus | None,
        page: Page,
        visible: Visibility | None,
        threads_visible: Visibility | None,
    ) -> tuple[list[Run], bool]:
        """One page of the assistant's runs, newest first; NotFound when the assistant is hidden."""
        await self._storage.get_assistant(assistant_id, visible=visible)
        if version is not None and not 1 <= version < 2**31:
            return [], False  # no run can have run it
        where = AssistantRunFilter(assistant_id, version=version, status=status, visible=threads_visible)
        return await self._storage.search_assistant_runs(where, page)

    async def versions(
        self,
        assistant_id: str,
        metadata: Json,
        page: Page,
        *,
        visible: Visibility | None,
        threads_visible: Visibility | None,
    ) -> list[tuple[AssistantVersion, Json]]:
        """A page of the assistant's versions, newest first, each with its run_stats (zeros for a
        version nothing ran); NotFound when the assistant is hidden (`visible`)."""
        found = await self._storage.list_versions_with_run_stats(
            assistant_id, metadata, page, RULE, visible=visible, threads_visible=threads_visible
        )
        return [(version, stats_to_wire(stats or _NO_RUNS)) for version, stats in found]

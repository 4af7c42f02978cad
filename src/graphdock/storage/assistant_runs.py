"""What storage answers about an assistant's runs across its threads: a page of them, per-version tallies.

The rules (which statuses are errors, which runs have a duration, how many recent durations make
the sample) are the domain's (domain/run_stats.py); storage receives them as a `StatsRule`, counts
in SQL and hands back each version's recent durations, from which the domain takes percentiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphdock.storage.threads import RunStatus

if TYPE_CHECKING:
    from graphdock.storage.visibility import Visibility


@dataclass(frozen=True, slots=True)
class AssistantRunFilter:
    assistant_id: str
    # The version that ran (a run gets it when it starts; a run still pending has none yet).
    version: int | None = None
    status: RunStatus | None = None
    # What the user may see of threads (runs are seen through their thread); None: everything.
    visible: Visibility | None = None


def run_conditions(where: AssistantRunFilter, mark: str) -> tuple[str, list[object]]:
    """The WHERE clause over `runs r` for `where` (less its visibility join), with `mark` as each
    backend writes a parameter (`?` or `%s`)."""
    sql, params = f"WHERE r.assistant_id = {mark}", list[object]([where.assistant_id])
    if where.version is not None:
        sql += f" AND r.assistant_version = {mark}"
        params.append(where.version)
    if where.status is not None:
        sql += f" AND r.status = {mark}"
        params.append(where.status)
    return sql, params


@dataclass(frozen=True, slots=True)
class StatsRule:
    """How to tally a version's runs; decided by the domain, applied by each backend in SQL."""

    errors: tuple[RunStatus, ...]
    # Runs that ended: only these have a duration (from creation to their final status).
    finished: tuple[RunStatus, ...]
    # How many of a version's newest ended runs the durations are taken from: reading them stays
    # one short index range however many runs a version has.
    sample: int


@dataclass(frozen=True, slots=True)
class VersionRunStats:
    runs: int
    errors: int
    last_run_at: str | None
    # Milliseconds, of the version's newest ended runs (at most StatsRule.sample), in no order.
    durations_ms: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class VersionTally:
    """How many versions an assistant keeps, and the number its next version will get."""

    assistant_id: str
    active_version: int
    version_count: int
    # Numbers are never reused: one past the highest ever given, deleted versions included.
    next_version: int

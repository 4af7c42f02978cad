"""The rows retention works with: a thread's own TTL, and the rule one sweep applies.

A thread's clock is its `updated_at`: every use of a thread (its creation, a run on it, a run
ending, a state update, a metadata patch) moves it, so the clock restarts without any extra write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

TtlStrategy = Literal["delete", "keep_latest"]

# The one row in `sweeps` that threads' expiry is claimed under.
THREAD_SWEEP = "threads"


@dataclass(frozen=True, slots=True)
class ThreadTtl:
    """What a client set on one thread; None falls back to the deployment's checkpointer.ttl."""

    minutes: float | None
    strategy: TtlStrategy | None


@dataclass(frozen=True, slots=True)
class Expiry:
    """Which threads one sweep takes for one strategy: those whose TTL (their own, or the
    deployment's `default_minutes`) has passed since they were last used by `now`, idle, and —
    for keep_latest — not pruned since that last use. At most `limit`, least recently used first."""

    strategy: TtlStrategy
    now: str
    default_minutes: float | None
    default_strategy: TtlStrategy
    limit: int

    def cutoff(self, shortest_thread_ttl: float | None) -> str | None:
        """No thread used after this can have expired (the shortest TTL that applies to any);
        it bounds the scan to the oldest threads. None: no thread has a TTL."""
        candidates = [m for m in (shortest_thread_ttl, self.default_minutes) if m is not None]
        if not candidates:
            return None
        return shift(self.now, -min(candidates))


def shift(moment: str, minutes: float) -> str:
    """An ISO time `minutes` later, in utc_now's fixed-width form (so string order is time order)."""
    return (datetime.fromisoformat(moment) + timedelta(minutes=minutes)).isoformat(timespec="microseconds")

"""`checkpointer.ttl`: the thread retention policy (swept by domain/retention.py)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import get_args

from graphdock.errors import ConfigError
from graphdock.storage.retention import TtlStrategy


@dataclass(frozen=True, slots=True)
class ThreadTtlSpec:
    """`checkpointer.ttl`: what happens to threads nobody has used for a while.

    Minutes may be fractional (0.05 is three seconds), which is how tests keep TTLs short.
    """

    # delete: the thread, its runs and checkpoints go; keep_latest: only its latest checkpoint stays.
    strategy: TtlStrategy = "delete"
    # Minutes since a thread was last used (created, run, state updated, patched) before it is
    # swept; None: only threads given their own `ttl` expire.
    default_ttl: float | None = None
    sweep_interval_minutes: float = 5.0
    # Threads handled per sweep, at most; the rest wait for the next sweep.
    sweep_limit: int = 10_000


_TTL_KEYS = {f.name for f in fields(ThreadTtlSpec)}


def checkpointer_unimplemented(checkpointer: object) -> list[str]:
    """`checkpointer` keys beside `ttl` (`serde`, …): LangGraph's own savers run with their defaults."""
    if not isinstance(checkpointer, dict):
        return []
    return [f"checkpointer.{key}" for key in sorted(checkpointer) if key != "ttl"]


def parse_thread_ttl(path: Path, checkpointer: object) -> ThreadTtlSpec:
    if checkpointer is None:
        return ThreadTtlSpec()
    if not isinstance(checkpointer, dict):
        raise ConfigError(f"{path}: 'checkpointer' must be an object")
    ttl = checkpointer.get("ttl")
    if ttl is None:
        return ThreadTtlSpec()
    where = f"{path}: checkpointer.ttl"
    if not isinstance(ttl, dict):
        raise ConfigError(
            f"{where} must be an object with strategy, default_ttl, sweep_interval_minutes, sweep_limit"
        )
    if unknown := sorted(set(ttl) - _TTL_KEYS):
        raise ConfigError(f"{where}: unknown keys {unknown}; expected some of {sorted(_TTL_KEYS)}")
    strategy = ttl.get("strategy", "delete")
    if strategy not in get_args(TtlStrategy):
        raise ConfigError(f"{where}.strategy must be 'delete' or 'keep_latest', got {strategy!r}")
    default_ttl = ttl.get("default_ttl")
    if default_ttl is not None:
        default_ttl = _minutes(f"{where}.default_ttl", default_ttl)
    interval = _minutes(f"{where}.sweep_interval_minutes", ttl.get("sweep_interval_minutes", 5.0))
    limit = ttl.get("sweep_limit", 10_000)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"{where}.sweep_limit must be a whole number of threads, 1 or more, got {limit!r}")
    return ThreadTtlSpec(strategy, default_ttl, interval, limit)


def _minutes(where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e9:
        raise ConfigError(f"{where} must be a number of minutes greater than 0, got {value!r}")
    return float(value)

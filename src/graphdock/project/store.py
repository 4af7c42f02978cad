"""`store`: the semantic index (`index`) and item expiry (`ttl`) of the Store graphs get."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from graphdock.errors import ConfigError


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """`store.index`: which embeddings, how many dimensions, which fields of a value to embed."""

    embed: str  # "./file.py:attr", "pkg.module:attr" or "provider:model" (LangChain's init_embeddings)
    dims: int
    fields: tuple[str, ...] | None = None  # None: the whole value ("$")


@dataclass(frozen=True, slots=True)
class TtlSpec:
    """`store.ttl`, in minutes as in langgraph.json."""

    default_ttl: float | None = None
    refresh_on_read: bool = True
    sweep_interval_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class StoreSpec:
    index: IndexSpec | None = None
    ttl: TtlSpec | None = None


def parse_store(path: Path, raw: object) -> StoreSpec:
    if raw is None:
        return StoreSpec()
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: 'store' must be an object with 'index' and/or 'ttl'")
    unknown = sorted(set(raw) - {"index", "ttl"})
    if unknown:
        raise ConfigError(f"{path}: store: unknown key(s) {', '.join(unknown)}; expected index, ttl")
    return StoreSpec(index=_index(path, raw.get("index")), ttl=_ttl(path, raw.get("ttl")))


def _index(path: Path, raw: object) -> IndexSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: store.index must be an object with 'embed' and 'dims'")
    embed, dims, fields = raw.get("embed"), raw.get("dims"), raw.get("fields")
    if not isinstance(embed, str) or ":" not in embed:
        raise ConfigError(
            f"{path}: store.index.embed must look like './file.py:attr' or 'provider:model' "
            f"(e.g. 'openai:text-embedding-3-small'), got {embed!r}"
        )
    if isinstance(dims, bool) or not isinstance(dims, int) or dims < 1:
        raise ConfigError(f"{path}: store.index.dims must be a positive integer, got {dims!r}")
    if fields is not None and (
        not isinstance(fields, list) or not fields or not all(isinstance(f, str) and f for f in fields)
    ):
        raise ConfigError(f"{path}: store.index.fields must be a non-empty list of field paths")
    return IndexSpec(embed, dims, tuple(fields) if fields is not None else None)


def _ttl(path: Path, raw: object) -> TtlSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: store.ttl must be an object")
    default_ttl, refresh, sweep = (
        raw.get("default_ttl"),
        raw.get("refresh_on_read", True),
        raw.get("sweep_interval_minutes"),
    )
    if default_ttl is not None and (
        isinstance(default_ttl, bool) or not isinstance(default_ttl, int | float) or default_ttl <= 0
    ):
        raise ConfigError(f"{path}: store.ttl.default_ttl must be a positive number of minutes")
    if not isinstance(refresh, bool):
        raise ConfigError(f"{path}: store.ttl.refresh_on_read must be true or false")
    if sweep is not None and (isinstance(sweep, bool) or not isinstance(sweep, int) or sweep < 1):
        raise ConfigError(f"{path}: store.ttl.sweep_interval_minutes must be a positive integer")
    return TtlSpec(float(default_ttl) if default_ttl is not None else None, refresh, sweep)

"""Who may see a row: the filter an auth handler returned, validated once, applied inside queries.

The grammar is langgraph_sdk's `Auth.types.FilterType`, matched against a row's `metadata` (an
assistant's active row, or a thread's; runs are seen through their thread):

    {"owner": "alice"}                      metadata.owner equals "alice"
    {"owner": {"$eq": "alice"}}             the same
    {"members": {"$contains": "alice"}}     metadata.members is an array holding "alice"
    {"members": {"$contains": ["a", "b"]}}  ... holding both
    {"$or": [f1, f2, ...]}, {"$and": [...]} at least two filters each, nested at most twice

Keys side by side must all match. Each backend turns a Visibility into part of its WHERE clause
(PostgreSQL: SQL on jsonb; SQLite: a registered function calling `allows`), so a row a user may
not see is never fetched: it is "not found", exactly like a row that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from graphdock.errors import Forbidden
from graphdock.storage.containment import contains
from graphdock.storage.records import Json

_MAX_NESTING = 2


class InvalidFilter(ValueError):
    """An auth handler returned something that is not a filter: the deployment's bug, not the client's."""


@dataclass(frozen=True, slots=True)
class Visibility:
    filter: Json
    # Canonical JSON of `filter`: what SQLite's function receives, and its parse-cache key.
    text: str

    @classmethod
    def parse(cls, raw: object) -> Visibility:
        if not isinstance(raw, dict) or not raw:
            raise InvalidFilter(f"an auth filter must be a non-empty object, got {raw!r}")
        _check(raw, 0)
        return cls(raw, orjson.dumps(raw, option=orjson.OPT_SORT_KEYS).decode())

    def allows(self, metadata: Json) -> bool:
        return _matches(metadata, self.filter)

    def stamp(self) -> Json:
        """The top-level equalities, which a created row must carry for its creator to see it."""
        return {
            key: (value["$eq"] if isinstance(value, dict) else value)
            for key, value in self.filter.items()
            if not key.startswith("$") and (not isinstance(value, dict) or "$eq" in value)
        }


def _check(group: Json, depth: int) -> None:
    if depth > _MAX_NESTING:
        raise InvalidFilter("auth filters nest $or/$and at most twice")
    for key, value in group.items():
        if key in ("$or", "$and"):
            if not isinstance(value, list) or len(value) < 2 or not all(isinstance(g, dict) for g in value):
                raise InvalidFilter(f"{key} takes a list of at least two filter objects")
            for sub in value:
                _check(sub, depth + 1)
        elif key.startswith("$"):
            raise InvalidFilter(f"unknown operator {key!r} (expected $or or $and at this level)")
        elif isinstance(value, dict) and (len(value) != 1 or next(iter(value)) not in ("$eq", "$contains")):
            raise InvalidFilter(f"{key}: expected a value, {{'$eq': v}} or {{'$contains': v}}")


def _matches(metadata: Json, group: Json) -> bool:
    for key, value in group.items():
        if key == "$or":
            if not any(_matches(metadata, sub) for sub in value):
                return False
        elif key == "$and":
            if not all(_matches(metadata, sub) for sub in value):
                return False
        elif key not in metadata:
            return False
        elif isinstance(value, dict) and "$contains" in value:
            wanted = value["$contains"]
            held = metadata[key]
            if not isinstance(held, list) or not contains(
                held, wanted if isinstance(wanted, list) else [wanted]
            ):
                return False
        else:
            wanted = value["$eq"] if isinstance(value, dict) else value
            # Equality as jsonb says it: both ways containment of non-arrays, true is not 1.
            if not _json_equal(metadata[key], wanted):
                return False
    return True


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    return contains(a, b, top=False)


def stamped(metadata: Json, visible: Visibility | None) -> Json:
    """A new row's metadata with what its creator's filter requires, so that they can see it."""
    return {**metadata, **visible.stamp()} if visible is not None else metadata


def require_within(metadata: Json, visible: Visibility | None) -> None:
    """A write must leave its row where the writer's own filter finds it; otherwise one user could
    hand a row to another (bob setting `owner: alice` on his thread). Checked inside the write's
    transaction, after the merge, so refusing it changes nothing."""
    if visible is not None and not visible.allows(metadata):
        raise Forbidden("This change would put the row outside what you may access")


@lru_cache(maxsize=256)
def _parsed(text: str) -> Visibility:
    return Visibility(orjson.loads(text), text)


def sqlite_allows(metadata: str, filter_text: str) -> bool:
    """`gd_visible(metadata, ?)`: the SQLite backend's filter, evaluated row by row in the query."""
    return _parsed(filter_text).allows(orjson.loads(metadata))


def sqlite_sql(visible: Visibility) -> tuple[str, list[Any]]:
    """The filter as a boolean expression on `metadata`, with its parameters (sqlite3 style)."""
    return "gd_visible(metadata, ?)", [visible.text]


def postgres_sql(visible: Visibility, column: str = "metadata") -> tuple[str, list[Any]]:
    """The filter as a jsonb boolean expression on `column`, with its parameters (psycopg style)."""
    from psycopg.types.json import Jsonb  # the PostgreSQL driver is only needed on that backend

    params: list[Any] = []

    def group(g: Json) -> str:
        parts: list[str] = []
        for key, value in g.items():
            if key in ("$or", "$and"):
                joiner = " OR " if key == "$or" else " AND "
                parts.append("(" + joiner.join(group(sub) for sub in value) + ")")
            elif isinstance(value, dict) and "$contains" in value:
                wanted = value["$contains"]
                parts.append(f"(jsonb_typeof({column} -> %s::text) = 'array' AND {column} -> %s::text @> %s)")
                params.extend([key, key, Jsonb(wanted if isinstance(wanted, list) else [wanted])])
            else:
                parts.append(f"{column} -> %s::text = %s")
                params.extend([key, Jsonb(value["$eq"] if isinstance(value, dict) else value)])
        return "(" + " AND ".join(parts) + ")"

    return group(visible.filter), params

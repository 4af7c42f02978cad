"""JSON containment with PostgreSQL `jsonb @>` semantics, for backends that lack it natively."""

from __future__ import annotations

from typing import Any

import orjson


def contains(target: Any, query: Any, *, top: bool = True) -> bool:
    """True when `target` contains `query` as `target::jsonb @> query::jsonb` would say."""
    if isinstance(query, dict):
        return isinstance(target, dict) and all(
            k in target and contains(target[k], v, top=False) for k, v in query.items()
        )
    if isinstance(query, list):
        # Every element of the query must be contained in some element of the target, in any order.
        return isinstance(target, list) and all(any(contains(t, q, top=False) for t in target) for q in query)
    if top and isinstance(target, list):
        # Only at the top level, jsonb lets an array contain a bare scalar: '["a","b"]' @> '"a"'.
        return any(_scalar_equal(t, query) for t in target)
    return _scalar_equal(target, query)


def _scalar_equal(a: Any, b: Any) -> bool:
    # bool is an int in Python but not a number in JSON: true must not equal 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


# The path segment standing for "any element of an array" in index entries.
ELEMENT = "[]"


def index_entries(document: dict[str, Any]) -> set[tuple[str, str]]:
    """(path, value) pairs that let a containment search start from an index.

    Every scalar leaf and every container of the document gets one, keyed by the path leading to
    it (object keys, and ELEMENT for an array's elements). If `target @> query` then the query's
    entries are a subset of the target's; for a query without arrays the converse holds too, so
    only queries with arrays need the exact test on the candidates the index yields.
    """
    entries: set[tuple[str, str]] = set()
    _walk(document, [], entries)
    return entries


def query_entries(query: dict[str, Any]) -> set[tuple[str, str]]:
    """The entries worth looking up for a query: its leaves, and its containers only where empty
    (a leaf below a container already implies it, and a container entry matches far more rows)."""
    entries = index_entries(query)
    parents = {path for path, _ in entries}
    return {
        (path, value)
        for path, value in entries
        if value not in ("{", "[") or not any(p != path and p.startswith(path[:-1]) for p in parents)
    }


def needs_exact_check(query: dict[str, Any]) -> bool:
    return _has_array_or_element_key(query)


def _walk(value: Any, path: list[str], out: set[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        if path:
            out.add((_key(path), "{"))
        for key, item in value.items():
            _walk(item, [*path, key], out)
    elif isinstance(value, list):
        out.add((_key(path), "["))
        for item in value:
            _walk(item, [*path, ELEMENT], out)
    else:
        out.add((_key(path), _scalar(value)))


def _has_array_or_element_key(value: Any) -> bool:
    if isinstance(value, list):
        return True
    if isinstance(value, dict):
        return any(key == ELEMENT or _has_array_or_element_key(item) for key, item in value.items())
    return False


def _key(path: list[str]) -> str:
    return orjson.dumps(path).decode()


def _scalar(value: Any) -> str:
    """Canonical text of a scalar: 1 and 1.0 alike, true and 1 not."""
    if isinstance(value, float) and value.is_integer():
        # Exact for every integral float, however large (1e16 and 10000000000000000 alike);
        # str(), not orjson, because orjson refuses integers beyond 64 bits.
        return str(int(value))
    return orjson.dumps(value).decode()

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


def index_value(value: Any) -> str:
    """The text an index stores for a top-level value: canonical JSON for a scalar (1 and 1.0
    alike), and "{" or "[" for an object or array, whose contents the exact test checks."""
    if isinstance(value, dict):
        return "{"
    if isinstance(value, list):
        return "["
    if isinstance(value, float) and value.is_integer():
        # Exact for every integral float, however large (1e16 and 10000000000000000 alike);
        # str(), not orjson, because orjson refuses integers beyond 64 bits.
        return str(int(value))
    return orjson.dumps(value).decode()

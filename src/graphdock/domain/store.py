"""The Store's rules: what a namespace, a key and a filter may be, and what an auth filter hides.

The store itself is LangGraph's (runtime/store.py); this module decides what reaches it, so that
bad input is a 422 naming the problem instead of a ValueError deep inside a backend, and so that
both backends refuse exactly the same things. Namespaces are tuples of labels joined with "." in
both backends' tables, hence no "." in a label.

An auth handler's filter (what `@auth.on.store` returns) is matched against item values, with
the grammar of every other filter (storage/visibility.py): get, search and delete see only the
items it matches; a put gets the filter's equalities stamped on its value (as a new thread gets
them in its metadata) and may not overwrite an item the filter does not match.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from typing import Any

from langgraph.store.base import NOT_PROVIDED, BaseStore, InvalidNamespaceError, Item, NotProvided

from graphdock.errors import Forbidden, InvalidRequest
from graphdock.storage.visibility import Visibility

Json = dict[str, Any]
# What both backends' filter code accepts as a (dotted) field name, and the operators it knows.
_FILTER_KEY = re.compile(r"[A-Za-z0-9_.-]+")
_OPERATORS = frozenset({"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"})
# Items an auth-filtered search reads from the store per round while filling a page.
_SCAN = 100


def namespace_of(raw: object, field: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    """A namespace as the store takes it; InvalidRequest naming the first bad label."""
    if not isinstance(raw, list | tuple):
        raise InvalidRequest(f"{field}: must be a list of labels, got {type(raw).__name__}")
    if not raw and not allow_empty:
        raise InvalidRequest(f"{field}: must have at least one label")
    for label in raw:
        if not isinstance(label, str) or not label:
            raise InvalidRequest(f"{field}: every label must be a non-empty string, got {label!r}")
        if "." in label:
            raise InvalidRequest(f"{field}: label {label!r} contains a period ('.'), which labels may not")
    if raw and raw[0] == "langgraph" and not allow_empty:
        raise InvalidRequest(f"{field}: the root label 'langgraph' is reserved")
    return tuple(raw)


def check_filter(raw: Json | None) -> Json | None:
    if not raw:
        return None
    for key, value in raw.items():
        if not _FILTER_KEY.fullmatch(key):
            raise InvalidRequest(f"filter: key {key!r} may contain only letters, digits, '_', '.' and '-'")
        if isinstance(value, dict):
            unknown = sorted(set(value) - _OPERATORS)
            if unknown or not value:
                raise InvalidRequest(
                    f"filter.{key}: an object here holds operators ({', '.join(sorted(_OPERATORS))}), "
                    f"got {unknown or 'none'}"
                )
    return raw


class StoreItems:
    def __init__(self, store: BaseStore, *, indexed: bool) -> None:
        self._store = store
        self.indexed = indexed

    async def put(
        self,
        namespace: object,
        key: str,
        value: Json,
        *,
        index: Any = None,
        ttl: float | NotProvided | None = NOT_PROVIDED,
        visible: Visibility | None = None,
    ) -> None:
        ns = namespace_of(namespace, "namespace")
        _check_key(key)
        if visible is not None:
            # As for a new thread's metadata: the filter's equalities are stamped on the value, so
            # its writer can read it back (`{"owner": "alice"}` → value.owner = "alice").
            value = {**value, **visible.stamp()}
            current = await self._store.aget(ns, key, refresh_ttl=False)
            if (current is not None and not visible.allows(current.value)) or not visible.allows(value):
                raise Forbidden(f"Item {key!r} in {'.'.join(ns)}: not yours to write")
        try:
            await self._store.aput(ns, key, value, index=index, ttl=ttl)
        except InvalidNamespaceError as exc:  # a rule of the store's this module does not know yet
            raise InvalidRequest(f"namespace: {exc}") from None

    async def get(
        self, namespace: object, key: str, *, refresh_ttl: bool | None, visible: Visibility | None = None
    ) -> Json | None:
        ns = namespace_of(namespace, "namespace")
        _check_key(key)
        item = await self._store.aget(ns, key, refresh_ttl=refresh_ttl)
        if item is None or (visible is not None and not visible.allows(item.value)):
            return None
        return _wire(item)

    async def delete(self, namespace: object, key: str, *, visible: Visibility | None = None) -> None:
        ns = namespace_of(namespace, "namespace")
        _check_key(key)
        if visible is not None:
            current = await self._store.aget(ns, key, refresh_ttl=False)
            if current is None or not visible.allows(current.value):
                return  # as for a missing item: nothing to delete, and nothing revealed
        await self._store.adelete(ns, key)

    async def search(
        self,
        prefix: object,
        *,
        filter: Json | None,
        limit: int,
        offset: int,
        query: str | None,
        refresh_ttl: bool | None,
        visible: Visibility | None = None,
    ) -> list[Json]:
        ns = namespace_of(prefix or (), "namespace_prefix", allow_empty=True)
        wanted = check_filter(filter)
        # Without an index the store would list instead of ranking; the query is then ignored,
        # as on the official server.
        query = query if self.indexed else None
        if visible is None:
            items = await self._store.asearch(
                ns, query=query, filter=wanted, limit=limit, offset=offset, refresh_ttl=refresh_ttl
            )
            return [_wire(item) for item in items]
        # An auth filter may use $or/$contains, which the stores' filters cannot express: read in
        # rounds and keep what it allows, so offsets count only the items this user may see.
        seen: list[Json] = []
        start = 0
        while len(seen) < offset + limit:
            batch = await self._store.asearch(
                ns, query=query, filter=wanted, limit=_SCAN, offset=start, refresh_ttl=refresh_ttl
            )
            seen.extend(_wire(item) for item in batch if visible.allows(item.value))
            if len(batch) < _SCAN:
                break
            start += _SCAN
        return seen[offset : offset + limit]

    async def list_namespaces(
        self,
        prefix: object,
        suffix: object,
        *,
        max_depth: int | None,
        limit: int,
        offset: int,
    ) -> list[list[str]]:
        found: Sequence[tuple[str, ...]] = await self._store.alist_namespaces(
            prefix=namespace_of(prefix, "prefix", allow_empty=True) if prefix else None,
            suffix=namespace_of(suffix, "suffix", allow_empty=True) if suffix else None,
            max_depth=max_depth,
            limit=limit,
            offset=offset,
        )
        return [list(ns) for ns in found]


def _wire(item: Item) -> Json:
    """The SDK's Item; SQLite's timestamps are naive UTC, given their offset like PostgreSQL's."""
    out = item.dict()
    for field in ("created_at", "updated_at"):
        at: datetime.datetime = getattr(item, field)
        out[field] = (at if at.tzinfo else at.replace(tzinfo=datetime.UTC)).isoformat()
    return out


def _check_key(key: str) -> None:
    if not key:
        raise InvalidRequest("key: must be a non-empty string")

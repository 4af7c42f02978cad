"""A Starlette router that goes straight to the route a request can reach.

Starlette's Router tries every route's regular expression in order until one matches; with the
whole API, the protocols and the UI that is about 40 patterns before `/threads/{id}/runs/wait` is
found, on every request. Here:

- a path no template can match, `/assistants/search`, is looked up in a dict of literal routes;
- any other path is tried only against the other routes that could match its first segment and its
  number of segments (`assistants` and 2 for `/assistants/{assistant_id}`), plus those that could
  match any path (a templated first segment, a `{name:path}` template, a mount, anything that is
  not a Route or Mount), in their original order, so the first match is the one Starlette finds.

Methods are not part of the key: graphdock's routes claim a path for every method (api/endpoints.py)
so that a wrong method answers 405, and dispatch on the method in a dict. Anything that does not
match fully (404, 405, trailing-slash redirects) is left to Starlette's own Router, so those answers
are Starlette's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute
from starlette.types import Receive, Scope, Send

# Deeper paths share one bucket: the key space stays bounded whatever the requests.
_MAX_SEGMENTS = 16


class IndexedRouter(Router):
    def __init__(self, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(list(routes), **kwargs)
        self._shapes = [_shape(route) for route in self.routes]
        self._segments = {shape[0] for shape in self._shapes if shape[0] is not None}
        self._literal = {
            route.path: route
            for i, route in enumerate(self.routes)
            if isinstance(route, Route)
            and not route.param_convertors
            and not any(_may_take(earlier, route.path) for earlier in self.routes[:i])
        }
        self._buckets: dict[tuple[str | None, int], list[BaseRoute]] = {}

    def _bucket(self, segment: str | None, count: int) -> list[BaseRoute]:
        key = (segment if segment in self._segments else None, min(count, _MAX_SEGMENTS))
        if key not in self._buckets:
            # A literal route answers only its own path, which the dict has already tried.
            literal = set(map(id, self._literal.values()))
            self._buckets[key] = [
                route
                for route, (first, n) in zip(self.routes, self._shapes, strict=True)
                if first in (None, key[0]) and n in (None, key[1]) and id(route) not in literal
            ]
        return self._buckets[key]

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await super().app(scope, receive, send)
            return
        # url_for and friends see every route, not the one that matched.
        scope.setdefault("router", self)
        path = get_route_path(scope)
        literal = self._literal.get(path)
        if literal is not None and await _handled(literal, scope, receive, send):
            return
        parts = path.split("/")
        for route in self._bucket(parts[1] if len(parts) > 1 else "", len(parts) - 1):
            if await _handled(route, scope, receive, send):
                return
        await super().app(scope, receive, send)


async def _handled(route: BaseRoute, scope: Scope, receive: Receive, send: Send) -> bool:
    match, child = route.matches(scope)
    if match is not Match.FULL:
        return False
    scope.update(child)
    scope["route"] = route  # as Starlette's Router does: the metrics label it by its template
    await route.handle(scope, receive, send)
    return True


def _may_take(route: BaseRoute, path: str) -> bool:
    """Whether `route` could answer an HTTP request for `path` (then a later route for it is not
    the one Starlette picks). A WebSocket route never does."""
    if isinstance(route, Route):
        return route.path_regex.match(path) is not None
    if isinstance(route, WebSocketRoute):
        return False
    if isinstance(route, Mount):
        return not route.path or path.startswith(route.path + "/")
    return True


def _shape(route: BaseRoute) -> tuple[str | None, int | None]:
    """The literal first segment and the number of segments of every path the route matches;
    None where it may be anything."""
    if not isinstance(route, Route | WebSocketRoute | Mount):
        return None, None
    parts = route.path.split("/")
    first = parts[1] if len(parts) > 1 and "{" not in parts[1] else None
    if isinstance(route, Mount):
        return (first if route.path else None), None
    return first, (None if ":path}" in route.path else len(parts) - 1)

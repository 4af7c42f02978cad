"""A Starlette router that tries only the routes a request's first path segment can reach.

Starlette's Router tries every route's regular expression in order until one matches; with the
whole API, the protocols and the UI that is about 40 patterns before `/threads/{id}/runs/wait` is
found, on every request. Here each literal first segment (`threads`, `runs`, `store`, ...) gets a
plain Router holding the routes that start with it, plus those that could match any path (a
templated first segment, a mount at the root, anything that is not a Route or Mount) — in their
original order, so the first match is the one Starlette would have found. Matching, 404s, 405s
and trailing-slash redirects are Starlette's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Mount, Route, Router, WebSocketRoute
from starlette.types import Receive, Scope, Send


class IndexedRouter(Router):
    def __init__(self, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(list(routes), **kwargs)
        keys = [_first_segment(route) for route in self.routes]
        literal = {key for key in keys if key is not None}
        self._by_segment = {
            segment: self._narrowed(
                [r for r, k in zip(self.routes, keys, strict=True) if k in (segment, None)]
            )
            for segment in literal
        }
        self._anywhere = self._narrowed([r for r, k in zip(self.routes, keys, strict=True) if k is None])

    def _narrowed(self, routes: list[BaseRoute]) -> Router:
        return Router(routes, redirect_slashes=self.redirect_slashes, default=self.default)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await super().app(scope, receive, send)
            return
        # url_for and friends see every route, not the narrowed list that matched.
        scope.setdefault("router", self)
        segment = get_route_path(scope).lstrip("/").split("/", 1)[0]
        await self._by_segment.get(segment, self._anywhere).app(scope, receive, send)


def _first_segment(route: BaseRoute) -> str | None:
    """The literal first segment every path the route matches starts with; None if it may be any."""
    if not isinstance(route, Route | WebSocketRoute | Mount):
        return None
    path = route.path.lstrip("/")
    if isinstance(route, Mount) and not path:
        return None  # a mount at the root takes every path
    segment = path.split("/", 1)[0]
    return None if "{" in segment else segment

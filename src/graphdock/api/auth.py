"""Authentication on every API request, and the authorization call handlers make.

Handlers call `authorize` once per request, before the domain, with the resource, the action and
the value the auth handlers see (langgraph_sdk's `Auth.types.on.<resource>.<action>.value`
shapes); what it returns goes to the domain and from there into the storage query.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import HTTPConnection, Request
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from graphdock.api.endpoints import JSONResponse
from graphdock.auth.policy import Action, Policy, Resource
from graphdock.auth.users import User
from graphdock.errors import AuthError
from graphdock.storage.visibility import Visibility

_USER = "graphdock.user"
# Health, discovery and the UI's static files are open, as on the official server; everything
# the UI shows comes from API calls, which carry the user's key or token.
# Prometheus scrapers send no credentials, and the platform serves /metrics openly too.
_OPEN_PATHS = frozenset({"/ok", "/info", "/openapi.json", "/docs", "/", "/metrics"})


class Authentication:
    """`open_routes`: the routes of `http.app` when `enable_custom_route_auth` is off (they decide
    for themselves); `prefix`: `http.mount_prefix`, stripped before the open paths are compared."""

    def __init__(self, open_routes: Sequence[BaseRoute] = (), prefix: str = "") -> None:
        self.open_routes = open_routes
        self.prefix = prefix

    def around(self, app: ASGIApp) -> ASGIApp:
        """As a layer of its own, where the project's middleware sits between it and api/front.py."""

        async def authenticated(scope: Scope, receive: Receive, send: Send) -> None:
            if await self.admit(scope, receive, send):
                await app(scope, receive, send)

        return authenticated

    async def admit(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """True when the request may go on (the user, if any, is in the scope); False when it
        has been answered with the refusal."""
        if scope["type"] not in ("http", "websocket"):
            return True
        policy: Policy = scope["app"].state.policy
        if not policy.enabled or self._is_open(scope):
            return True
        try:
            scope[_USER] = await policy.authenticate(_arguments(policy.wanted, scope, receive))
        except AuthError as exc:
            if scope["type"] == "websocket":
                await _refuse_socket(receive, send, exc)
                return False
            response = JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
            await response(scope, receive, send)
            return False
        return True

    def _is_open(self, scope: Scope) -> bool:
        path: str = scope["path"]
        if self.prefix:
            if path != self.prefix and not path.startswith(self.prefix + "/"):
                return path in ("/ok", "/metrics")  # served at the root too
            path = path[len(self.prefix) :] or "/"
        if self.open_routes:
            probe = {**scope, "path": path, "root_path": ""}
            if any(route.matches(probe)[0] is not Match.NONE for route in self.open_routes):
                return True
        return scope.get("method", "GET") in ("GET", "HEAD") and (
            path in _OPEN_PATHS or path.startswith("/ui/")
        )


def _arguments(wanted: frozenset[str], scope: Scope, receive: Receive) -> dict[str, Any]:
    headers = dict(scope["headers"])
    available: dict[str, Callable[[], Any]] = {
        "request": lambda: (
            Request(scope, receive) if scope["type"] == "http" else HTTPConnection(scope, receive)
        ),
        "path": lambda: scope["path"],
        "method": lambda: scope.get("method", "GET"),  # a WebSocket's handshake is a GET
        "path_params": lambda: scope.get("path_params", {}),
        "query_params": lambda: QueryParams(scope.get("query_string", b"")),
        "headers": lambda: headers,
        "authorization": lambda: (headers.get(b"authorization") or b"").decode("latin-1") or None,
        "scope": lambda: scope,
        "scopes": lambda: [],
    }
    return {name: available[name]() for name in wanted}


async def _refuse_socket(receive: Receive, send: Send, exc: AuthError) -> None:
    """Accept, then close with 4000 + the status: the SDKs read that close code as the HTTP error
    (a browser cannot read the status of a refused upgrade)."""
    if (await receive())["type"] == "websocket.connect":
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 4000 + exc.status_code, "reason": exc.detail[:120]})


def user_of(request: HTTPConnection) -> User | None:
    user: User | None = request.scope.get(_USER)
    return user


def author(request: Request) -> str | None:
    """The identity recorded on the versions this request makes (None while auth is off)."""
    user = user_of(request)
    return user.identity if user is not None else None


async def authorize(
    request: HTTPConnection, resource: Resource, action: Action, value: dict[str, Any]
) -> Visibility | None:
    policy: Policy = request.app.state.policy
    return await policy.authorize(user_of(request), resource, action, value)

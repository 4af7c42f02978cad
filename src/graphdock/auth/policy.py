"""The three ways a server can be protected, behind one interface the API layer calls.

- `Open`: no auth configured; everyone may do everything (the server warns when it listens
  beyond loopback like this).
- `ApiKeys`: the built-in option, no code: keys from settings, sent as `x-api-key` (what both
  SDKs send for `api_key=`) or `Authorization: Bearer <key>`. Every key holder may do everything;
  the key's name is the identity recorded in the version audit trail.
- `CustomAuth`: a `langgraph_sdk.Auth` object named in langgraph.json, with the official server's
  semantics: `@auth.authenticate` on every request, then the most specific `@auth.on...` handler
  for the resource and action, whose filter restricts what the user sees and stamps what they
  create.

Authorization answers with a `Visibility` (or None: everything is visible); the domain hands it
to storage, which applies it inside the query.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

import structlog
from langgraph_sdk import Auth

from graphdock.auth.users import User
from graphdock.errors import AuthError, ConfigError, Forbidden
from graphdock.storage.visibility import InvalidFilter, Visibility

log = structlog.get_logger("graphdock.auth")

Resource = Literal["assistants", "threads", "crons", "store"]
Action = Literal[
    "create", "read", "update", "delete", "search", "create_run", "put", "get", "list_namespaces"
]

# What `@auth.authenticate` may ask for by parameter name (the official server's set).
AUTHENTICATE_PARAMETERS = frozenset(
    {
        "request",
        "path",
        "method",
        "path_params",
        "query_params",
        "headers",
        "authorization",
        "scope",
        "scopes",
    }
)


class AuthHandlerError(RuntimeError):
    """A deployment's auth code misbehaved: logged whole, answered with a bare 500."""


class Policy(Protocol):
    # The request details `authenticate` needs, by AUTHENTICATE_PARAMETERS name.
    wanted: frozenset[str]

    @property
    def enabled(self) -> bool: ...

    async def authenticate(self, arguments: Mapping[str, Any]) -> User | None:
        """The user, None when auth is off; AuthError (401 unless a handler says otherwise)."""

    async def authorize(
        self, user: User | None, resource: Resource, action: Action, value: dict[str, Any]
    ) -> Visibility | None:
        """None: allowed without restriction; a Visibility: allowed on the rows it matches.
        Forbidden (or a handler's own status) when refused. Handlers may edit `value` in place."""


class Open:
    wanted = frozenset[str]()
    enabled = False

    async def authenticate(self, arguments: Mapping[str, Any]) -> User | None:
        return None

    async def authorize(
        self, user: User | None, resource: Resource, action: Action, value: dict[str, Any]
    ) -> Visibility | None:
        return None


class ApiKeys:
    wanted = frozenset({"headers"})
    enabled = True

    def __init__(self, spec: str) -> None:
        # Only digests are kept; a lookup by digest compares fixed-length values.
        self._by_digest: dict[bytes, str] = {}
        for n, entry in enumerate(part.strip() for part in spec.split(",")):
            if not entry:
                continue
            name, sep, key = entry.rpartition(":")
            if not sep:
                key, name = entry, f"api-key-{n + 1}"
            if len(key) < 8 or not name:
                raise ConfigError(
                    "api_keys: each entry is 'name:key' (or a bare key) with a key of at least 8 "
                    "characters, entries separated by commas (--api-keys / GRAPHDOCK_API_KEYS)"
                )
            self._by_digest[_digest(key)] = name
        if not self._by_digest:
            raise ConfigError("api_keys is set but lists no key (--api-keys / GRAPHDOCK_API_KEYS)")

    async def authenticate(self, arguments: Mapping[str, Any]) -> User | None:
        headers: Mapping[bytes, bytes] = arguments["headers"]
        key = headers.get(b"x-api-key", b"").decode("latin-1").strip()
        if not key:
            scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else ""
        if not key:
            raise AuthError("Missing API key: send it as x-api-key (or Authorization: Bearer)")
        digest = _digest(key)
        name = next((n for d, n in self._by_digest.items() if hmac.compare_digest(d, digest)), None)
        if name is None:
            raise AuthError("Invalid API key")
        return User({"identity": name, "permissions": []})

    async def authorize(
        self, user: User | None, resource: Resource, action: Action, value: dict[str, Any]
    ) -> Visibility | None:
        return None


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class CustomAuth:
    enabled = True

    def __init__(self, auth: Auth, where: str) -> None:
        authenticate = auth._authenticate_handler
        if authenticate is None:
            raise ConfigError(f"{where}: the Auth object has no @auth.authenticate handler")
        parameters = inspect.signature(authenticate).parameters
        unsupported = sorted(
            name
            for name, p in parameters.items()
            if name not in AUTHENTICATE_PARAMETERS and p.default is inspect.Parameter.empty
        )
        if unsupported:
            raise ConfigError(
                f"{where}: @auth.authenticate asks for {', '.join(unsupported)}; it may ask for "
                f"{', '.join(sorted(AUTHENTICATE_PARAMETERS))}"
            )
        self.wanted = frozenset(parameters) & AUTHENTICATE_PARAMETERS
        self._authenticate: Callable[..., Any] = authenticate
        self._auth = auth
        _warn_uncovered(auth)

    async def authenticate(self, arguments: Mapping[str, Any]) -> User | None:
        try:
            if inspect.iscoroutinefunction(self._authenticate):
                result = await self._authenticate(**arguments)
            else:
                result = await asyncio.to_thread(self._authenticate, **arguments)
        except Auth.exceptions.HTTPException as exc:
            raise AuthError(
                exc.detail or "Unauthorized", status_code=exc.status_code, headers=_headers(exc)
            ) from None
        if result is None:
            raise AuthError("Unauthorized")
        try:
            return User.from_result(result)
        except TypeError as exc:
            raise AuthHandlerError(str(exc)) from None

    async def authorize(
        self, user: User | None, resource: Resource, action: Action, value: dict[str, Any]
    ) -> Visibility | None:
        handler = self._handler(resource, action)
        if handler is None or user is None:
            return None
        ctx = Auth.types.AuthContext(
            permissions=user.permissions,
            user=user,
            resource=resource,
            action=action,
        )
        try:
            result = await handler(ctx=ctx, value=value)
        except Auth.exceptions.HTTPException as exc:
            raise AuthError(
                exc.detail or "Forbidden", status_code=exc.status_code, headers=_headers(exc)
            ) from None
        except AssertionError as exc:
            raise Forbidden(str(exc) or "Forbidden") from None
        if result is None or result is True:
            return None
        if result is False:
            raise Forbidden("Forbidden")
        try:
            return Visibility.parse(result)
        except InvalidFilter as exc:
            raise AuthHandlerError(
                f"the auth handler for {resource}.{action} returned a bad filter: {exc}"
            ) from None

    def _handler(self, resource: str, action: str) -> Any:
        handlers = self._auth._handlers
        for key in ((resource, action), (resource, "*"), ("*", action), ("*", "*")):
            if key in handlers:
                return handlers[key][-1]
        return self._auth._global_handlers[-1] if self._auth._global_handlers else None


def _headers(exc: Auth.exceptions.HTTPException) -> dict[str, str] | None:
    return dict(exc.headers) if exc.headers else None


_COVERED: dict[str, tuple[str, ...]] = {
    "assistants": ("create", "read", "update", "delete", "search"),
    "threads": ("create", "read", "update", "delete", "search", "create_run"),
}


def _warn_uncovered(auth: Auth) -> None:
    """As the official server does: handlers for some actions but not others usually means a
    forgotten one, and an action without a handler is allowed to every authenticated user."""
    if auth._global_handlers or not auth._handlers or ("*", "*") in auth._handlers:
        return
    missing = [
        f"{resource}.{action}"
        for resource, actions in _COVERED.items()
        for action in actions
        if not {(resource, action), (resource, "*"), ("*", action)} & auth._handlers.keys()
    ]
    if missing:
        log.warning(
            "auth.uncovered",
            allowed_without_checks=missing,
            hint="add a default-deny @auth.on handler, then allow per resource",
        )

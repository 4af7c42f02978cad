"""The one ASGI layer in front of the routes: CORS, request ids, metrics and logs, the 500 guard,
and (unless the project's own middleware must sit between them) authentication and the error
handlers.

Each of these was its own middleware once, and Starlette adds two more of its own: seven calls and
six `send` wrappers on every request, a third of a cached GET's CPU. Here one call reads the
request's headers once and one `send` wrapper stamps the answer. What each part does is unchanged:

- CORS is Starlette's CORSMiddleware, used for its rules (preflight answers, which headers a
  simple answer gets); a request without an Origin header, every SDK call, only gets `Vary: Origin`.
  It comes first, so a preflight (which never carries credentials) is answered before any key is
  asked for, and every answer, errors included, carries the CORS headers a page needs to read it.
- Every answer has an `x-request-id`: the caller's own when it is a plain visible-ASCII token (so
  logs correlate), a random one otherwise.
- Every answer is counted and timed for /metrics (a 500 too), under the route template the router
  matched; paths that matched nothing share one label, so made-up URLs cannot grow the series.
  With `http.logging_headers`, each request is logged with the allowed headers.
- The one place an unexpected error is caught: logged whole, answered with a bare 500.
- Authentication runs next (`api/auth.py`), then the error handlers (`GraphdockError`,
  Starlette's HTTPException, the project app's own) turn exceptions into answers, as Starlette's
  ExceptionMiddleware would. When the project's `http.app` brings middleware, those two are
  separate layers placed around it as `middleware_order` says (see app.py).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any, cast

import structlog
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette._utils import is_async_callable
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, ExceptionHandler, HTTPExceptionHandler, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from graphdock.api.auth import Authentication
from graphdock.api.endpoints import JSONResponse
from graphdock.metrics import Metrics
from graphdock.project import CorsSpec, HeaderPatterns

log = structlog.get_logger("graphdock.http")
UNMATCHED = "<unmatched>"
Handlers = tuple[dict[Any, ExceptionHandler], dict[int, ExceptionHandler]]


def cors_rules(spec: CorsSpec) -> CORSMiddleware:
    """`http.cors` as Starlette's CORS rules. A preflight asking `Access-Control-Request-Private-Network`
    (Chromium, for a public page reaching localhost) is told yes whenever the rest of it is allowed:
    who may call is decided by the origin rules."""
    return CORSMiddleware(
        _unreachable,
        allow_origins=spec.allow_origins,
        allow_origin_regex=spec.allow_origin_regex,
        allow_methods=spec.allow_methods,
        allow_headers=spec.allow_headers,
        allow_credentials=spec.allow_credentials,
        allow_private_network=True,
        expose_headers=spec.expose_headers,
        max_age=spec.max_age,
    )


def handler_table(handlers: Mapping[Any, ExceptionHandler]) -> Handlers:
    """Handlers keyed by exception class and by HTTP status, as Starlette's ExceptionMiddleware
    splits them. Handlers for 500 and `Exception` are left out there too: the guard answers those."""
    by_class = {k: h for k, h in handlers.items() if not isinstance(k, int) and k is not Exception}
    by_status = {k: h for k, h in handlers.items() if isinstance(k, int) and k != 500}
    return by_class, by_status


class Front:
    def __init__(
        self,
        app: ASGIApp,
        *,
        cors: CORSMiddleware,
        metrics: Metrics,
        logged_headers: HeaderPatterns | None,
        authentication: Authentication | None,
        handlers: Handlers | None,
    ) -> None:
        """`authentication` and `handlers`: None when they are separate layers further in."""
        self.app = app
        self.cors = cors
        self.metrics = metrics
        self.logged_headers = logged_headers
        self.authentication = authentication
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._inner(scope, receive, send)
        else:  # lifespan
            await self.app(scope, receive, send)

    async def _inner(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Authentication, then the routes; an HTTP request's exceptions reach the handlers in
        _http's one `except`, a WebSocket's go through Starlette's wrapper."""
        if self.authentication is not None and not await self.authentication.admit(scope, receive, send):
            return
        if self.handlers is None:
            await self.app(scope, receive, send)
            return
        # Read by Starlette's own routes too (a Mount's app, the project's routes).
        scope["starlette.exception_handlers"] = self.handlers
        if scope["type"] == "http":
            await self.app(scope, receive, send)
            return
        await wrap_app_handling_exceptions(self.app, WebSocket(scope, receive, send))(scope, receive, send)

    def _handler(self, exc: Exception) -> ExceptionHandler | None:
        """The handler Starlette's ExceptionMiddleware would pick: by status for an
        HTTPException, else by the nearest class in the exception's MRO."""
        if self.handlers is None:
            return None  # a layer further in has them (app.py's middleware_order)
        by_class, by_status = self.handlers
        if isinstance(exc, HTTPException) and exc.status_code in by_status:
            return by_status[exc.status_code]
        return next((by_class[cls] for cls in type(exc).__mro__ if cls in by_class), None)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        origin: bytes | None = None
        request_id: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"x-request-id" and 0 < len(value) <= 128 and all(32 < c < 127 for c in value):
                request_id = bytes(value)
        if request_id is None:
            # For correlating logs, not a secret: the Mersenne Twister, not a system call per request.
            request_id = b"%032x" % random.getrandbits(128)
        request_headers = Headers(scope=scope) if origin is not None else None
        status = 500
        answered = False

        async def stamped(message: Message) -> None:
            nonlocal status, answered
            if message["type"] != "http.response.start":
                await send(message)
                return
            status, answered = message["status"], True
            message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id)]
            if request_headers is None:
                _vary_on_origin(message)
                await send(message)
            else:
                await self.cors.send(message, send, request_headers)

        try:
            if (
                request_headers is not None
                and scope["method"] == "OPTIONS"
                and "access-control-request-method" in request_headers
            ):
                await self.cors.preflight_response(request_headers)(scope, receive, stamped)
            else:
                await self._inner(scope, receive, stamped)
        except Exception as exc:
            # An error handler's answer, as Starlette's exception wrapper would give it (without
            # its closure and Request on every request that raises nothing).
            handler = None if answered else self._handler(exc)
            if handler is not None:
                await self._answer(handler, exc, scope, receive, stamped)
                return
            # Otherwise log it whole, tell the client nothing internal. If the answer already
            # began, all that is left is to drop the connection.
            log.exception(
                "request.failed", method=scope["method"], path=scope["path"], request_id=request_id.decode()
            )
            if answered:
                raise
            await JSONResponse({"detail": "Internal Server Error"}, status_code=500)(scope, receive, stamped)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    async def _answer(
        self, handler: ExceptionHandler, exc: Exception, scope: Scope, receive: Receive, send: Send
    ) -> None:
        # Handlers are typed for either kind of connection; this one is an HTTP request's.
        http_handler = cast(HTTPExceptionHandler, handler)
        request = Request(scope, receive)
        if is_async_callable(http_handler):
            response = await http_handler(request, exc)
        else:  # a project's handler may be a plain function
            response = await run_in_threadpool(http_handler, request, exc)
        if response is not None:
            await response(scope, receive, send)
        exc.__traceback__ = None  # a reused exception instance would pile up tracebacks

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or UNMATCHED
        self.metrics.observe_request(route, scope["method"], status, seconds)
        if self.logged_headers is not None:
            log.info(
                "http.request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round(seconds * 1000, 2),
                headers=self.logged_headers.pick(scope["headers"]),
            )


def _vary_on_origin(message: Message) -> None:
    """What Starlette's CORS adds to an answer to a request without Origin: a cache must not hand
    it to a page that sends one. Any Vary already there is kept, in one header."""
    headers: list[tuple[bytes, bytes]] = message["headers"]
    vary = [value for name, value in headers if name.lower() == b"vary"]
    if vary:
        headers[:] = [(name, value) for name, value in headers if name.lower() != b"vary"]
    headers.append((b"vary", b", ".join([*vary, b"Origin"])))


async def _unreachable(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("the CORS rules are used by Front, never called as an app")

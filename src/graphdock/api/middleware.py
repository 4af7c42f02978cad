"""The outermost guard: an x-request-id on every response, and a bare 500 for anything unforeseen."""

from __future__ import annotations

import os

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graphdock.api.endpoints import JSONResponse

log = structlog.get_logger("graphdock.http")


class RequestGuard:
    """Pure ASGI (no BaseHTTPMiddleware): it sits on every request's path, so it stays cheap."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        header = (b"x-request-id", request_id)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The one place an unexpected error is caught: log it whole, tell the client nothing
            # internal. If the response already began, all we can do is drop the connection.
            log.exception(
                "request.failed", method=scope["method"], path=scope["path"], request_id=request_id.decode()
            )
            if started:
                raise
            await JSONResponse({"detail": "Internal Server Error"}, status_code=500)(
                scope, receive, send_with_id
            )


def _request_id(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        # A caller's own id is echoed back when it is a plain visible-ASCII token, so logs correlate.
        if name == b"x-request-id" and 0 < len(value) <= 128 and all(32 < c < 127 for c in value):
            return bytes(value)
    return os.urandom(16).hex().encode()

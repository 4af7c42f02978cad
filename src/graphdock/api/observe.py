"""Every request observed once: counted and timed for /metrics, and logged with the allowed headers.

Pure ASGI, outside the error guard, so a 500 is counted like any answer. The route label is the
template the router matched (`/threads/{thread_id}`), read from the scope after routing; paths that
matched nothing share one label, so made-up URLs cannot grow the number of series.
"""

from __future__ import annotations

import time

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graphdock.api.endpoints import Endpoint
from graphdock.metrics import CONTENT_TYPE, Metrics
from graphdock.project import HeaderPatterns

log = structlog.get_logger("graphdock.http")
UNMATCHED = "<unmatched>"


class Observe:
    def __init__(self, app: ASGIApp, metrics: Metrics, logged_headers: HeaderPatterns | None) -> None:
        self.app = app
        self.metrics = metrics
        self.logged_headers = logged_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            seconds = time.perf_counter() - started
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


async def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE)


ENDPOINTS = (
    Endpoint(
        "GET",
        "/metrics",
        metrics,
        "Prometheus metrics: requests, runs, run slots, database connections",
        response={"type": "string"},
        media_type="text/plain",
        errors=(),
        public=True,
    ),
)

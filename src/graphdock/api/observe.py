"""GET /metrics: what api/front.py counts and times on every request, and the run metrics."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from graphdock.api.endpoints import Endpoint
from graphdock.metrics import CONTENT_TYPE, Metrics


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

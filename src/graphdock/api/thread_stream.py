"""HTTP handler for a thread's stream: `GET /threads/{thread_id}/stream` (the SDK's threads.join_stream)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from graphdock.api.endpoints import Endpoint, QueryParam
from graphdock.api.heartbeats import SSE_HEARTBEAT, interval, with_heartbeats
from graphdock.api.threads import on_thread, thread_id
from graphdock.domain.runs import Runs
from graphdock.domain.thread_streams import ThreadEvent


async def join_thread_stream(request: Request) -> Response:
    runs: Runs = request.app.state.runs
    visible = await on_thread(request, "read")
    # The Python SDK sends `stream_mode=` (empty) when it was not given: that means all modes.
    modes = [m for m in request.query_params.getlist("stream_mode") if m]
    events = await runs.thread_stream(
        thread_id(request), request.headers.get("last-event-id"), visible=visible
    )
    seconds = interval(request)

    async def body() -> AsyncIterator[bytes]:
        async for item in with_heartbeats(_only(events, modes), seconds):
            if item is None:
                yield SSE_HEARTBEAT
                continue
            event = item.event
            yield b"event: %s\ndata: %s\nid: %s\n\n" % (event.event.encode(), event.data, item.id.encode())

    return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


async def _only(events: AsyncIterator[ThreadEvent], modes: list[str]) -> AsyncIterator[ThreadEvent]:
    """The SDK's thread modes: `run_modes` (its default) is every run's events; `lifecycle` only
    each run's start (`metadata`) and failure (`error`); `state_update` the thread's values after
    each step. A run stream mode (`values`, `updates`, …) narrows to those events."""
    if not modes or "run_modes" in modes:
        async for item in events:
            yield item
        return
    wanted = set(modes) - {"lifecycle", "state_update"} | ({"values"} if "state_update" in modes else set())
    async for item in events:
        name = item.event.event
        if name.split("|")[0].split("/")[0] in wanted or name in ("error", "metadata"):
            yield item


ENDPOINTS = (
    Endpoint(
        "GET",
        "/threads/{thread_id}/stream",
        join_thread_stream,
        "Stream every run's events on the thread (Last-Event-ID resumes)",
        response={
            "type": "object",
            "title": "ServerSentEvent",
            "properties": {"event": {"type": "string"}, "data": {"type": "string"}, "id": {"type": "string"}},
            "required": ["event", "data"],
        },
        media_type="text/event-stream",
        query=(
            QueryParam(
                "stream_mode",
                {"type": "array", "items": {"type": "string"}},
                "run_modes (default: every run's events), lifecycle, state_update, or run stream modes.",
            ),
        ),
        headers=(
            QueryParam(
                "Last-Event-ID",
                {"type": "string", "maxLength": 100},
                "Resume after this event (an id this stream sent: <run_id>:<n>).",
            ),
        ),
    ),
)

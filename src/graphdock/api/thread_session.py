"""HTTP and WebSocket handlers of the SDK's thread streaming session (`client.threads.stream`).

`POST /threads/{id}/commands` answers one command; `POST /threads/{id}/stream/events` is one
filtered SSE stream of the thread's events (the body is the filter; `since` resumes); the
WebSocket at the same path carries commands and `subscription.subscribe`/`unsubscribe` both ways,
and the events of every subscription. What the events are: domain/session_events.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import orjson
import structlog
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from graphdock.api.bodies import read_bytes
from graphdock.api.endpoints import Endpoint, JSONResponse
from graphdock.api.heartbeats import SSE_HEARTBEAT, interval, with_heartbeats
from graphdock.api.session_commands import error, is_command, malformed, run_command
from graphdock.api.threads import on_thread, thread_id
from graphdock.domain.runs import Runs
from graphdock.domain.session_events import EventFilter, SessionEvents, envelopes, parse_filter
from graphdock.domain.thread_streams import Item
from graphdock.errors import GraphdockError, InvalidRequest, NotFound
from graphdock.storage.records import Json
from graphdock.storage.visibility import Visibility

log = structlog.get_logger("graphdock.http")

# Events a WebSocket keeps for subscriptions made after them (the SDK subscribes channel by channel).
_KEPT = 10_000
# How often a WebSocket opened before its thread exists looks for it (its first run creates it).
_LOOK_SECONDS = 0.5


async def _json_body(request: Request) -> Any:
    try:
        return orjson.loads(await read_bytes(request))
    except orjson.JSONDecodeError:
        return None


async def run_commands(request: Request) -> Response:
    body = await _json_body(request)
    if body is None:
        return JSONResponse({"detail": "Invalid JSON body"}, status_code=400)
    if not is_command(body):
        return JSONResponse(malformed(body), status_code=400)
    return JSONResponse(await run_command(request, thread_id(request), body, 0))


async def stream_events(request: Request) -> Response:
    body = await _json_body(request)
    if body is None:
        return JSONResponse({"detail": "Invalid JSON body"}, status_code=400)
    try:
        wanted, since = parse_filter(body)
    except InvalidRequest as exc:
        return JSONResponse({"detail": exc.detail}, status_code=400)
    runs: Runs = request.app.state.runs
    visible = await on_thread(request, "read")
    items = await runs.session_stream(thread_id(request), visible=visible)
    seconds = interval(request)

    async def sse() -> AsyncIterator[bytes]:
        async for envelope in with_heartbeats(envelopes(items, wanted, since), seconds):
            if envelope is None:
                yield SSE_HEARTBEAT
                continue
            method, seq = envelope["method"].encode(), envelope["seq"]
            yield b"event: %s\ndata: %s\nid: %d\n\n" % (method, orjson.dumps(envelope), seq)

    return StreamingResponse(sse(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


async def session_socket(socket: WebSocket) -> None:
    await socket.accept()
    try:
        tid = thread_id(socket)
        visible = await on_thread(socket, "read")
    except GraphdockError as exc:
        # The SDKs read a close code of 4000 + status as that HTTP error (a browser cannot read
        # the status of a refused upgrade).
        await socket.close(code=4000 + exc.status_code, reason=exc.detail[:120])
        return
    session = _Socket(socket, tid, visible)
    source = asyncio.create_task(session.follow())
    try:
        await session.serve()
    finally:
        source.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await source


class _Socket:
    """One WebSocket: its subscriptions, the events it has made, and what each was sent."""

    def __init__(self, socket: WebSocket, tid: str, visible: Visibility | None) -> None:
        self._socket = socket
        self._tid = tid
        self._visible = visible
        self._events = SessionEvents()
        self._subscriptions: dict[str, EventFilter] = {}
        # Events no subscription took (yet): a later subscription gets those it takes.
        self._unsent: deque[Json] = deque(maxlen=_KEPT)
        self._ids = itertools.count(1)
        self._sending = asyncio.Lock()
        self._ran = asyncio.Event()  # a run was started here: the thread may exist now

    async def serve(self) -> None:
        while True:
            message = await self._socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text") or message.get("bytes") or b""
            try:
                payload = orjson.loads(raw)
            except orjson.JSONDecodeError:
                await self._send(error(None, "invalid_argument", "Protocol commands must be valid JSON."))
                continue
            await self._send(await self._answer(payload) if is_command(payload) else malformed(payload))

    async def _answer(self, command: Json) -> Json:
        method, params = command["method"], command.get("params")
        meta = {"applied_through_seq": self._events.seq}
        if method == "subscription.subscribe":
            try:
                wanted, _ = parse_filter(params)
            except InvalidRequest as exc:
                return error(command["id"], "invalid_argument", exc.detail)
            subscription_id = f"sub-{next(self._ids)}"
            self._subscriptions[subscription_id] = wanted
            replayed = await self._replay(wanted)
            result: Json = {"subscription_id": subscription_id, "replayed_events": replayed}
            return {"type": "success", "id": command["id"], "result": result, "meta": meta}
        if method == "subscription.unsubscribe":
            wanted_id = params.get("subscription_id") if isinstance(params, dict) else None
            if self._subscriptions.pop(str(wanted_id), None) is None:
                return error(command["id"], "no_such_subscription", f"No subscription {wanted_id}.")
            return {"type": "success", "id": command["id"], "result": {}, "meta": meta}
        answer = await run_command(self._socket, self._tid, command, self._events.seq)
        if answer["type"] == "success":
            self._ran.set()
        return answer

    async def follow(self) -> None:
        """Translate the thread's events for this socket, once its thread exists."""
        try:
            items = await self._open()
            try:
                async for item in items:
                    for envelope in self._events.translate(item):
                        if any(f.matches(envelope) for f in self._subscriptions.values()):
                            await self._send(envelope)
                        else:
                            self._unsent.append(envelope)
            finally:
                await items.aclose()
        except Exception:  # the stream's guard: the client is told, and the socket closed
            log.exception("session.stream_failed", thread_id=self._tid)
            await self._send(error(None, "unknown_error", "The thread's event stream failed."))
            with contextlib.suppress(RuntimeError):
                await self._socket.close(code=1011)

    async def _open(self) -> AsyncGenerator[Item]:
        runs: Runs = self._socket.app.state.runs
        while True:
            try:
                return await runs.session_stream(self._tid, visible=self._visible)
            except NotFound:  # a session mints its thread's id: its first run.start creates it
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._ran.wait(), _LOOK_SECONDS)

    async def _replay(self, wanted: EventFilter) -> int:
        """Send the events made before a subscription that it takes and no earlier one took: all
        before any later event (the lock is held throughout), so that they arrive in order."""
        async with self._sending:
            taken = [e for e in self._unsent if wanted.matches(e)]
            if taken:
                self._unsent = deque((e for e in self._unsent if not wanted.matches(e)), maxlen=_KEPT)
            for envelope in taken:
                await self._write(envelope)
        return len(taken)

    async def _send(self, message: Json) -> None:
        async with self._sending:
            await self._write(message)

    async def _write(self, message: Json) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):  # the client left
            await self._socket.send_text(orjson.dumps(message).decode())


_ENVELOPE = {"type": "object", "title": "ProtocolResponse", "additionalProperties": True}

ENDPOINTS = (
    Endpoint(
        "POST",
        "/threads/{thread_id}/commands",
        run_commands,
        "Run a thread streaming session command (run.start, input.respond); answers an envelope",
        response=_ENVELOPE,
        errors=(400, 404, 413),
    ),
    Endpoint(
        "POST",
        "/threads/{thread_id}/stream/events",
        stream_events,
        "Stream the thread's events as protocol envelopes (body: channels, namespaces, depth, since)",
        response={"type": "object", "title": "ProtocolEvent", "additionalProperties": True},
        media_type="text/event-stream",
        errors=(400, 404, 413),
    ),
)
ROUTES = [WebSocketRoute("/threads/{thread_id}/stream/events", session_socket)]

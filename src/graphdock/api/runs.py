"""HTTP handlers for runs: create (background, wait, stream), join, cancel, list, get, delete."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, cast

import anyio
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response, StreamingResponse

from graphdock.api.auth import authorize
from graphdock.api.bodies import int_query, path_uuid, query_flag, read_body
from graphdock.api.endpoints import Endpoint, JSONResponse, QueryParam
from graphdock.api.heartbeats import SSE_HEARTBEAT, interval, waiting_json, with_heartbeats
from graphdock.api.threads import on_thread, thread_id
from graphdock.auth.policy import Action
from graphdock.domain.runs import CancelAction, RunRequest, Runs, Started
from graphdock.domain.webhooks import WebhookSender
from graphdock.errors import InvalidRequest
from graphdock.project import HttpSpec
from graphdock.schemas.threads import RunBatch, RunCreate, RunOut, RunsCancel
from graphdock.storage.records import Page
from graphdock.storage.threads import RUN_STATUSES, Run


def service(request: HTTPConnection) -> Runs:
    runs: Runs = request.app.state.runs
    return runs


def webhooks(request: HTTPConnection) -> WebhookSender:
    sender: WebhookSender = request.app.state.webhooks
    return sender


def run_request(body: RunCreate) -> RunRequest:
    modes = body.stream_mode or ["values"]
    config = body.config.model_dump(exclude_none=True) if body.config is not None else {}
    checkpoint = body.checkpoint.model_dump(exclude_none=True) if body.checkpoint is not None else None
    if body.checkpoint_id:
        checkpoint = {**(checkpoint or {}), "checkpoint_id": body.checkpoint_id}
    return RunRequest(
        assistant_id=body.assistant_id,
        input=body.input,
        command=body.command.model_dump(exclude_none=True) if body.command is not None else None,
        config=config,
        context=body.context,
        metadata=body.metadata or {},
        stream_mode=tuple(dict.fromkeys([modes] if isinstance(modes, str) else modes)),
        stream_subgraphs=bool(body.stream_subgraphs),
        stream_resumable=bool(body.stream_resumable),
        interrupt_before=body.interrupt_before,
        interrupt_after=body.interrupt_after,
        multitask_strategy=body.multitask_strategy or "enqueue",
        if_not_exists=body.if_not_exists or "reject",
        on_completion=body.on_completion or "delete",
        after_seconds=body.after_seconds,
        checkpoint=checkpoint,
        durability=body.durability,
        webhook=body.webhook,
    )


def _locations(request: Request, run: Run, tail: str) -> dict[str, str]:
    # Content-Location tells the SDK the run id (on_run_created); Location is where it reconnects.
    base = _run_path(request, run)
    return {"Content-Location": base, "Location": f"{base}/{tail}"}


def _run_path(request: Request, run: Run) -> str:
    # root_path: http.mount_prefix, which a client must keep in the URLs it follows.
    return f"{request.scope.get('root_path', '')}/threads/{run.thread_id}/runs/{run.run_id}"


async def _create(request: Request) -> tuple[Runs, Started, RunCreate]:
    """The shared start of every create route; a path without {thread_id} is a stateless run."""
    tid = thread_id(request) if "thread_id" in request.path_params else None
    body = await read_body(request, RunCreate)
    return service(request), await start_run(request, tid, body), body


async def start_run(request: HTTPConnection, tid: str | None, body: RunCreate) -> Started:
    """Authorize, then queue: `threads.create_run` for the thread (the official server's event
    for runs), and `assistants.read` for the assistant, since a user may run only what they may read."""
    wanted = run_request(body)
    if wanted.webhook:
        await webhooks(request).check(wanted.webhook)  # 422 naming the rule it breaks
    value: dict[str, Any] = {
        "assistant_id": wanted.assistant_id,
        "thread_id": uuid.UUID(tid) if tid else None,
        "run_id": None,
        "status": "pending",
        "metadata": wanted.metadata,
        "prevent_insert_if_inflight": True,
        "multitask_strategy": wanted.multitask_strategy,
        "if_not_exists": wanted.if_not_exists,
        "after_seconds": wanted.after_seconds,
        "kwargs": {"input": wanted.input, "command": wanted.command, "config": wanted.config},
    }
    visible = await authorize(request, "threads", "create_run", value)
    assistant_visible = await authorize(request, "assistants", "read", {"assistant_id": wanted.assistant_id})
    http: HttpSpec = request.app.state.http
    headers = http.configurable_headers.pick(request.scope["headers"])
    wanted = replace(wanted, metadata=value.get("metadata") or {}, headers=headers)
    return await service(request).create(tid, wanted, visible=visible, assistant_visible=assistant_visible)


async def create_run(request: Request) -> Response:
    _, started, _ = await _create(request)
    return JSONResponse(started.run.to_wire(), headers={"Content-Location": _run_path(request, started.run)})


async def wait_run(request: Request) -> Response:
    runs, started, _ = await _create(request)
    return await waiting_json(
        runs.result(started.run, started.stream), interval(request), _locations(request, started.run, "join")
    )


async def stream_run(request: Request) -> Response:
    runs, started, body = await _create(request)
    return _sse(
        runs,
        started.run,
        started.stream.follow(0),
        body.on_disconnect == "cancel",
        headers=_locations(request, started.run, "stream"),
        heartbeat_seconds=interval(request),
    )


async def _run(request: Request, action: Action) -> Run:
    """The run in the path, seen through its thread: `threads.<action>` with the run's id."""
    run_id = path_uuid(request, "run_id")
    visible = await on_thread(request, action, run_id=uuid.UUID(run_id))
    return await service(request).get(thread_id(request), run_id, visible=visible)


async def join_run(request: Request) -> Response:
    run = await _run(request, "read")
    return await waiting_json(
        service(request).result(run), interval(request), _locations(request, run, "join")
    )


async def join_stream(request: Request) -> Response:
    runs = service(request)
    run = await _run(request, "read")
    last = request.headers.get("last-event-id")
    if last == "-1":
        last = "0"  # the SDKs' "from the very start": a resumable run's events, replayed
    if last is not None and not (last.isascii() and last.isdigit() and len(last) < 19):
        raise InvalidRequest(f"Last-Event-ID: expected an event id this server sent (or -1), got {last!r}")
    # The Python SDK sends `stream_mode=` (empty) when it was not given: that means all modes.
    modes = [m for m in request.query_params.getlist("stream_mode") if m]
    events = runs.join_stream(run, int(last) if last is not None else None)
    return _sse(
        runs,
        run,
        _only(events, modes),
        query_flag(request, "cancel_on_disconnect"),
        headers=_locations(request, run, "stream"),
        heartbeat_seconds=interval(request),
    )


def _cancel_action(request: Request) -> CancelAction:
    action = request.query_params.get("action", "interrupt")
    if action in ("interrupt", "rollback"):
        return cast(CancelAction, action)
    raise InvalidRequest(f"action: expected interrupt or rollback, got {action!r}")


async def cancel_run(request: Request) -> Response:
    runs = service(request)
    action = _cancel_action(request)
    run = await _run(request, "update")
    if not query_flag(request, "wait"):
        await runs.cancel([run], action)
        return Response(status_code=202)
    return JSONResponse(await runs.cancel_and_wait(run, action), headers=_locations(request, run, "join"))


async def cancel_runs(request: Request) -> Response:
    body = await read_body(request, RunsCancel)
    action = _cancel_action(request)
    if body.status is not None and (body.thread_id or body.run_ids):
        raise InvalidRequest("Give either status, or thread_id and/or run_ids, not both")
    if body.status is None and not (body.thread_id or body.run_ids):
        raise InvalidRequest("Name the runs to cancel: thread_id, run_ids, or status")
    visible = await authorize(request, "threads", "update", {"thread_id": None, "action": action})
    await service(request).cancel_where(
        thread_id=body.thread_id, run_ids=body.run_ids, status=body.status, action=action, visible=visible
    )
    return Response(status_code=204)


async def create_batch(request: Request) -> Response:
    batch = await read_body(request, RunBatch)
    created = []
    for item in batch.root:
        created.append((await start_run(request, None, item)).run.to_wire())
    return JSONResponse(created)


async def list_runs(request: Request) -> Response:
    limit = int_query(request, "limit", 10, 1, 1000)
    offset = int_query(request, "offset", 0, 0, 2**63 - 1)
    status = request.query_params.get("status")
    if status is not None and status not in RUN_STATUSES:
        raise InvalidRequest(f"status: not a run status: {status!r}; expected one of {list(RUN_STATUSES)}")
    page = Page(limit=limit, offset=offset)
    visible = await on_thread(request, "read")
    found = await service(request).list(thread_id(request), status, page, visible=visible)
    rows = [r.to_wire() for r in found]
    if select := request.query_params.getlist("select"):
        rows = [{k: row[k] for k in select if k in row} for row in rows]
    return JSONResponse(rows)


async def get_run(request: Request) -> Response:
    return JSONResponse((await _run(request, "read")).to_wire())


async def delete_run(request: Request) -> Response:
    run_id = path_uuid(request, "run_id")
    visible = await on_thread(request, "delete", run_id=uuid.UUID(run_id))
    await service(request).delete(thread_id(request), run_id, visible=visible)
    return Response(status_code=204)


async def _only(events: AsyncIterator[Any], modes: list[str]) -> AsyncIterator[Any]:
    async for event in events:
        if (
            not modes
            or event.event.split("|")[0].split("/")[0] in modes
            or event.event in ("error", "metadata")
        ):
            yield event


def _sse(
    runs: Runs,
    run: Run,
    events: AsyncIterator[Any],
    cancel_on_disconnect: bool,
    headers: dict[str, str],
    *,
    heartbeat_seconds: float,
) -> Response:
    async def body() -> AsyncIterator[bytes]:
        finished = False
        try:
            async for event in with_heartbeats(events, heartbeat_seconds):
                if event is None:
                    yield SSE_HEARTBEAT
                    continue
                yield b"event: %s\ndata: %s\nid: %d\n\n" % (event.event.encode(), event.data, event.id)
            finished = True
        finally:
            # Starlette cancels this generator when the client goes away mid-stream; the cancel
            # scope is shielded, or its first real await (a Postgres query) would be cancelled too.
            if cancel_on_disconnect and not finished:
                with anyio.CancelScope(shield=True):
                    await runs.cancel([run], "interrupt")

    return StreamingResponse(
        body(), media_type="text/event-stream", headers={**headers, "Cache-Control": "no-store"}
    )


_THREAD_RUNS = "/threads/{thread_id}/runs"
_RUN = _THREAD_RUNS + "/{run_id}"
_EVENT_STREAM = "text/event-stream"
# The schema of one server-sent event, as OpenAPI 3.1 tools read text/event-stream bodies: its
# `event` names the stream mode (or metadata, error, end), `data` is that event's JSON, `id` is the
# position Last-Event-ID resumes from.
_SSE = {
    "type": "object",
    "title": "ServerSentEvent",
    "properties": {"event": {"type": "string"}, "data": {"type": "string"}, "id": {"type": "string"}},
    "required": ["event", "data"],
}
# With `select`, only the named fields are returned, so none of them is required.
_RUN_ITEM = {k: v for k, v in RunOut.model_json_schema().items() if k != "required"}
_ACTION = QueryParam(
    "action", {"type": "string", "enum": ["interrupt", "rollback"]}, "interrupt (default) or rollback."
)
_RESULT = {"type": "object", "title": "RunResult"}
_CREATE_ERRORS = (400, 404, 409, 422)


def _create_endpoints(base: str, kind: str) -> tuple[Endpoint, ...]:
    """Create, stream and wait: the same three routes on a thread and without one (stateless)."""
    name = "_stateless" if kind else ""
    relocating = ("Location", "Content-Location")
    return (
        Endpoint(
            "POST",
            base,
            create_run,
            f"Create a {kind}background run",
            RunCreate,
            RunOut,
            errors=_CREATE_ERRORS,
            operation_id=f"create_run{name}",
        ),
        Endpoint(
            "POST",
            f"{base}/stream",
            stream_run,
            f"Create a {kind}run and stream its output",
            RunCreate,
            _SSE,
            media_type=_EVENT_STREAM,
            errors=_CREATE_ERRORS,
            response_headers=relocating,
            operation_id=f"stream_run{name}",
        ),
        Endpoint(
            "POST",
            f"{base}/wait",
            wait_run,
            f"Create a {kind}run and wait for its result",
            RunCreate,
            _RESULT,
            errors=_CREATE_ERRORS,
            response_headers=relocating,
            operation_id=f"wait_run{name}",
        ),
    )


ENDPOINTS = (
    *_create_endpoints(_THREAD_RUNS, ""),
    Endpoint(
        "GET",
        _THREAD_RUNS,
        list_runs,
        "List a thread's runs, newest first",
        response={"type": "array", "items": _RUN_ITEM},
        query=(
            QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size."),
            QueryParam("offset", {"type": "integer", "minimum": 0}, "Rows to skip."),
            QueryParam(
                "status", {"type": "string", "enum": list(RUN_STATUSES)}, "Only runs with this status."
            ),
            QueryParam("select", {"type": "array", "items": {"type": "string"}}, "Return only these fields."),
        ),
    ),
    Endpoint("GET", _RUN, get_run, "Get a run", response=RunOut),
    Endpoint("DELETE", _RUN, delete_run, "Delete a finished run", status=204, errors=(404, 409, 422)),
    Endpoint("GET", f"{_RUN}/join", join_run, "Wait for a run and return its result", response=_RESULT),
    Endpoint(
        "GET",
        f"{_RUN}/stream",
        join_stream,
        "Stream a run's output (Last-Event-ID resumes)",
        response=_SSE,
        media_type=_EVENT_STREAM,
        response_headers=("Location", "Content-Location"),
        query=(
            QueryParam("cancel_on_disconnect", {"type": "boolean"}, "Cancel the run if this client leaves."),
            QueryParam(
                "stream_mode",
                {"type": "array", "items": {"type": "string"}},
                "Only these modes (default: all).",
            ),
        ),
        headers=(
            QueryParam(
                "Last-Event-ID",
                {"type": "string", "pattern": "^(-1|[0-9]{1,18})$"},
                "Resume after this event; -1 replays a resumable run from its start.",
            ),
        ),
    ),
    Endpoint(
        "POST",
        f"{_RUN}/cancel",
        cancel_run,
        "Cancel a run (interrupt or rollback)",
        status=202,
        also=((200, _RESULT),),
        query=(
            QueryParam("wait", {"type": "boolean"}, "Wait for the run to stop and return its result (200)."),
            _ACTION,
        ),
    ),
    *_create_endpoints("/runs", "stateless "),
    Endpoint(
        "POST",
        "/runs/batch",
        create_batch,
        "Create stateless background runs",
        RunBatch,
        {"type": "array", "items": RunOut.model_json_schema()},
        errors=(*_CREATE_ERRORS, 413),
    ),
    Endpoint(
        "POST",
        "/runs/cancel",
        cancel_runs,
        "Cancel runs by thread, ids or status",
        RunsCancel,
        status=204,
        errors=(422,),
        query=(_ACTION,),
    ),
)

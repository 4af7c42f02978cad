"""HTTP handlers for /threads: rows, search, copy, prune, and the thread's state and history."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from graphdock.api.auth import authorize
from graphdock.api.bodies import path_uuid, query_flag, read_body
from graphdock.api.endpoints import Endpoint, JSONResponse, QueryParam, pagination_headers
from graphdock.auth.policy import Action
from graphdock.domain.retention import Retention
from graphdock.domain.runs import Runs
from graphdock.domain.threads import Threads
from graphdock.errors import InvalidRequest
from graphdock.schemas.threads import (
    THREAD_FIELDS,
    CheckpointIn,
    HistoryQuery,
    StateAt,
    StateUpdate,
    ThreadCount,
    ThreadCreate,
    ThreadOut,
    ThreadPatch,
    ThreadPrune,
    ThreadSearch,
    ThreadTtlIn,
)
from graphdock.storage.records import Page
from graphdock.storage.retention import ThreadTtl
from graphdock.storage.threads import ThreadFilter
from graphdock.storage.visibility import Visibility


def service(request: Request) -> Threads:
    threads: Threads = request.app.state.threads
    return threads


def thread_id(request: HTTPConnection) -> str:
    return path_uuid(request, "thread_id")


async def on_thread(request: HTTPConnection, action: Action, **value: Any) -> Visibility | None:
    """Authorize `threads.<action>` on the thread in the path (runs are seen through their thread)."""
    return await authorize(request, "threads", action, {"thread_id": uuid.UUID(thread_id(request)), **value})


async def create_thread(request: Request) -> Response:
    body = await read_body(request, ThreadCreate)
    value: dict[str, Any] = {
        "thread_id": uuid.UUID(body.thread_id) if body.thread_id else None,
        "metadata": body.metadata or {},
        "if_exists": body.if_exists or "raise",
    }
    visible = await authorize(request, "threads", "create", value)
    thread = await service(request).create(
        body.thread_id,
        value.get("metadata") or {},
        body.if_exists or "raise",
        visible=visible,
        ttl=_ttl(body.ttl),
    )
    return JSONResponse(thread.to_wire())


async def get_thread(request: Request) -> Response:
    visible = await on_thread(request, "read")
    thread = await service(request).get(thread_id(request), visible=visible)
    wire = thread.to_wire()
    include = {name.strip() for raw in request.query_params.getlist("include") for name in raw.split(",")}
    if "ttl" in include:
        retention: Retention = request.app.state.retention
        if described := await retention.describe_thread(thread):
            wire["ttl"] = described
    return JSONResponse(wire)


async def patch_thread(request: Request) -> Response:
    tid = thread_id(request)
    body = await read_body(request, ThreadPatch)
    value: dict[str, Any] = {"metadata": body.metadata or {}}
    visible = await on_thread(request, "update", **value)
    updated = await service(request).update(tid, value["metadata"], visible=visible, ttl=_ttl(body.ttl))
    return JSONResponse(updated.to_wire())


def _ttl(ttl: ThreadTtlIn | None) -> ThreadTtl | None:
    return None if ttl is None else ThreadTtl(None if ttl.ttl is None else float(ttl.ttl), ttl.strategy)


async def delete_thread(request: Request) -> Response:
    runs: Runs = request.app.state.runs
    visible = await on_thread(request, "delete")
    await runs.delete_thread(thread_id(request), visible=visible)
    return Response(status_code=204)


async def _searchable(request: Request, body: ThreadSearch | ThreadCount, page: Page) -> Visibility | None:
    value = {
        "metadata": body.metadata or {},
        "values": body.values or {},
        "status": body.status,
        "limit": page.limit,
        "offset": page.offset,
    }
    return await authorize(request, "threads", "search", value)


async def search_threads(request: Request) -> Response:
    body = await read_body(request, ThreadSearch)
    if body.select and (unknown := sorted(set(body.select) - THREAD_FIELDS)):
        raise InvalidRequest(f"select: unknown fields {unknown}; expected some of {sorted(THREAD_FIELDS)}")
    page = Page(limit=body.limit, offset=body.offset)
    where = ThreadFilter(
        metadata=body.metadata or {},
        values=body.values or {},
        status=body.status,
        ids=tuple(body.ids) if body.ids is not None else None,
        visible=await _searchable(request, body, page),
    )
    descending = (body.sort_order or "desc").lower() == "desc"
    found, more = await service(request).search(where, page, body.sort_by or "created_at", descending)
    rows = [t.to_wire() for t in found]
    if body.select:
        rows = [{k: row[k] for k in body.select} for row in rows]
    return JSONResponse(rows, headers=pagination_headers(page.offset, len(rows), more))


async def count_threads(request: Request) -> Response:
    body = await read_body(request, ThreadCount)
    visible = await _searchable(request, body, Page(limit=0))
    where = ThreadFilter(
        metadata=body.metadata or {}, values=body.values or {}, status=body.status, visible=visible
    )
    return JSONResponse(await service(request).count(where))


async def copy_thread(request: Request) -> Response:
    # Reading the source, and creating the copy (which the create filter stamps).
    visible = await on_thread(request, "read")
    created = await authorize(request, "threads", "create", {"thread_id": None, "metadata": {}})
    copy = await service(request).copy(thread_id(request), visible=visible, created=created)
    return JSONResponse(copy.to_wire())


async def prune_threads(request: Request) -> Response:
    body = await read_body(request, ThreadPrune)
    visible = await authorize(request, "threads", "delete", {"thread_id": None})
    pruned = await service(request).prune(body.thread_ids, body.strategy, visible=visible)
    return JSONResponse({"pruned_count": pruned})


async def get_state(request: Request) -> Response:
    visible = await on_thread(request, "read")
    state = await service(request).state(
        thread_id(request), subgraphs=query_flag(request, "subgraphs"), visible=visible
    )
    return JSONResponse(state)


async def get_state_at(request: Request) -> Response:
    checkpoint = {"checkpoint_id": request.path_params["checkpoint_id"]}
    visible = await on_thread(request, "read")
    state = await service(request).state(
        thread_id(request), checkpoint, subgraphs=query_flag(request, "subgraphs"), visible=visible
    )
    return JSONResponse(state)


async def post_state_at(request: Request) -> Response:
    tid = thread_id(request)
    body = await read_body(request, StateAt)
    visible = await on_thread(request, "read")
    state = await service(request).state(
        tid, _checkpoint(body.checkpoint), subgraphs=bool(body.subgraphs), visible=visible
    )
    return JSONResponse(state)


async def update_state(request: Request) -> Response:
    tid = thread_id(request)
    body = await read_body(request, StateUpdate)
    checkpoint = _checkpoint(body.checkpoint) or (
        {"checkpoint_id": body.checkpoint_id} if body.checkpoint_id else None
    )
    visible = await on_thread(request, "update")
    return JSONResponse(
        await service(request).update_state(
            tid, body.values, as_node=body.as_node, checkpoint=checkpoint, visible=visible
        )
    )


async def history(request: Request) -> Response:
    tid = thread_id(request)
    body = await read_body(request, HistoryQuery)
    states = await service(request).history(
        tid,
        limit=body.limit,
        before=_checkpoint(body.before),
        metadata=body.metadata,
        checkpoint=_checkpoint(body.checkpoint),
        visible=await on_thread(request, "read"),
    )
    return JSONResponse(states)


async def history_get(request: Request) -> Response:
    raw = request.query_params.get("limit", "10")
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 1000):
        raise InvalidRequest(f"limit: expected an integer from 1 to 1000, got {raw!r}")
    before = request.query_params.get("before")
    states = await service(request).history(
        thread_id(request),
        limit=int(raw),
        before={"checkpoint_id": before} if before else None,
        metadata=None,
        checkpoint=None,
        visible=await on_thread(request, "read"),
    )
    return JSONResponse(states)


def _checkpoint(checkpoint: CheckpointIn | None) -> dict[str, Any] | None:
    if checkpoint is None:
        return None
    return checkpoint.model_dump(exclude_none=True, exclude={"thread_id"}) or None


_ID = "/threads/{thread_id}"
_STATE = {"type": "object", "title": "ThreadState"}
_STATES = {"type": "array", "items": _STATE}
_SUBGRAPHS = QueryParam("subgraphs", {"type": "boolean", "default": False}, "Include subgraphs' states.")

ENDPOINTS = (
    Endpoint(
        "POST", "/threads", create_thread, "Create a thread", ThreadCreate, ThreadOut, errors=(409, 422)
    ),
    Endpoint(
        "POST",
        "/threads/search",
        search_threads,
        "Search threads",
        ThreadSearch,
        {"type": "array", "items": {"type": "object", "title": "ThreadSearchItem"}},
        errors=(422,),
        response_headers=("X-Pagination-Next", "X-Pagination-Total"),
    ),
    Endpoint(
        "POST",
        "/threads/count",
        count_threads,
        "Count threads",
        ThreadCount,
        {"type": "integer"},
        errors=(422,),
    ),
    Endpoint(
        "POST",
        "/threads/prune",
        prune_threads,
        "Prune threads: delete them, or keep only their latest checkpoint",
        ThreadPrune,
        {"type": "object", "properties": {"pruned_count": {"type": "integer"}}},
        errors=(422,),
    ),
    Endpoint(
        "GET",
        _ID,
        get_thread,
        "Get a thread",
        response=ThreadOut,
        query=(
            QueryParam(
                "include",
                {"type": "string"},
                "Comma-separated extra fields: `ttl` adds the thread's TTL (if it expires).",
            ),
        ),
    ),
    Endpoint("PATCH", _ID, patch_thread, "Update a thread's metadata", ThreadPatch, ThreadOut),
    Endpoint("DELETE", _ID, delete_thread, "Delete a thread, its runs and its checkpoints", status=204),
    Endpoint("POST", f"{_ID}/copy", copy_thread, "Copy a thread with its checkpoints", response=ThreadOut),
    Endpoint(
        "GET", f"{_ID}/state", get_state, "The thread's current state", response=_STATE, query=(_SUBGRAPHS,)
    ),
    Endpoint(
        "POST",
        f"{_ID}/state",
        update_state,
        "Update the thread's state (as a node)",
        StateUpdate,
        {"type": "object", "properties": {"checkpoint": {"type": "object"}}},
        errors=(400, 404, 422),
    ),
    Endpoint("POST", f"{_ID}/state/checkpoint", post_state_at, "The state at a checkpoint", StateAt, _STATE),
    Endpoint(
        "GET",
        f"{_ID}/state/{{checkpoint_id}}",
        get_state_at,
        "The state at a checkpoint",
        response=_STATE,
        query=(_SUBGRAPHS,),
    ),
    Endpoint(
        "POST", f"{_ID}/history", history, "The thread's past states, newest first", HistoryQuery, _STATES
    ),
    Endpoint(
        "GET",
        f"{_ID}/history",
        history_get,
        "The thread's past states, newest first",
        response=_STATES,
        query=(
            QueryParam(
                "limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size (default 10)."
            ),
            QueryParam("before", {"type": "string"}, "Only states before this checkpoint id."),
        ),
    ),
)

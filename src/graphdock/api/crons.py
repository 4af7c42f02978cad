"""HTTP handlers for crons: create (stateless or on a thread), get, update, delete, search, count."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from graphdock.api.auth import authorize
from graphdock.api.bodies import int_query, path_uuid, read_body
from graphdock.api.endpoints import Endpoint, JSONResponse, QueryParam, pagination_headers
from graphdock.api.threads import on_thread, thread_id
from graphdock.auth.policy import Action
from graphdock.domain.crons import Crons, CronSpec
from graphdock.errors import InvalidRequest
from graphdock.schemas.crons import CRON_FIELDS, CronCount, CronCreate, CronOut, CronPatch, CronSearch
from graphdock.schemas.threads import RunOut
from graphdock.storage.crons import CronFilter
from graphdock.storage.records import Page
from graphdock.storage.visibility import Visibility, stamped

_CRON_ONLY = {"assistant_id", "schedule", "timezone", "end_time", "enabled", "on_run_completed", "metadata"}


def service(request: Request) -> Crons:
    crons: Crons = request.app.state.crons
    return crons


async def _guard(request: Request, action: Action, value: dict[str, Any]) -> Visibility | None:
    return await authorize(request, "crons", action, value)


async def create_cron(request: Request) -> Response:
    """POST /runs/crons (stateless) and POST /threads/{thread_id}/runs/crons."""
    tid = thread_id(request) if "thread_id" in request.path_params else None
    body = await read_body(request, CronCreate)
    value: dict[str, Any] = {
        "assistant_id": body.assistant_id,
        "thread_id": tid,
        "schedule": body.schedule,
        "metadata": dict(body.metadata or {}),
        "end_time": body.end_time,
        "payload": body.model_dump(exclude_none=True, mode="json"),
    }
    visible = await _guard(request, "create", value)
    assistant_visible = await authorize(request, "assistants", "read", {"assistant_id": body.assistant_id})
    thread_visible = await on_thread(request, "update") if tid is not None else None
    spec = CronSpec(
        assistant_id=body.assistant_id,
        schedule=body.schedule,
        run={k: v for k, v in body.model_dump(exclude_none=True, mode="json").items() if k not in _CRON_ONLY},
        timezone=body.timezone,
        end_time=body.end_time,
        enabled=body.enabled if body.enabled is not None else True,
        on_run_completed=body.on_run_completed,
        metadata=stamped(value.get("metadata") or {}, visible),
    )
    return JSONResponse(
        (
            await service(request).create(
                tid, spec, thread_visible=thread_visible, assistant_visible=assistant_visible
            )
        ).to_wire()
    )


def _cron_id(request: Request) -> str:
    return path_uuid(request, "cron_id")


async def get_cron(request: Request) -> Response:
    cron_id = _cron_id(request)
    visible = await _guard(request, "read", {"cron_id": cron_id})
    return JSONResponse((await service(request).get(cron_id, visible=visible)).to_wire())


async def update_cron(request: Request) -> Response:
    cron_id = _cron_id(request)
    body = await read_body(request, CronPatch)
    # Only what the client sent: an explicit `end_time: null` clears the end, an absent one keeps it.
    changes = body.model_dump(exclude_unset=True, mode="json")
    changes = {k: v for k, v in changes.items() if v is not None or k == "end_time"}
    if "end_time" in changes:
        changes["end_time"] = body.end_time
    visible = await _guard(request, "update", {"cron_id": cron_id, **changes})
    return JSONResponse((await service(request).update(cron_id, changes, visible=visible)).to_wire())


async def delete_cron(request: Request) -> Response:
    cron_id = _cron_id(request)
    visible = await _guard(request, "delete", {"cron_id": cron_id})
    await service(request).delete(cron_id, visible=visible)
    return Response(status_code=204)


async def cron_runs(request: Request) -> Response:
    """graphdock's own: the runs a cron made, newest first, each with its assistant_version."""
    cron_id = _cron_id(request)
    page = Page(
        limit=int_query(request, "limit", 10, 1, 1000), offset=int_query(request, "offset", 0, 0, 2**63 - 1)
    )
    visible = await _guard(request, "read", {"cron_id": cron_id})
    found = await service(request).history(cron_id, page, visible=visible)
    return JSONResponse([r.to_wire() for r in found])


def _filter(body: CronCount, visible: Visibility | None, enabled: bool | None = None) -> CronFilter:
    return CronFilter(
        assistant_id=body.assistant_id,
        thread_id=body.thread_id,
        enabled=enabled,
        metadata=body.metadata or None,
        visible=visible,
    )


async def search_crons(request: Request) -> Response:
    body = await read_body(request, CronSearch)
    if body.select and (unknown := sorted(set(body.select) - CRON_FIELDS)):
        raise InvalidRequest(f"select: unknown fields {unknown}; expected some of {sorted(CRON_FIELDS)}")
    visible = await _guard(request, "search", body.model_dump(exclude_none=True, mode="json"))
    page = Page(limit=body.limit, offset=body.offset)
    descending = (body.sort_order or "desc") == "desc"
    found, more = await service(request).search(
        _filter(body, visible, body.enabled), page, body.sort_by or "created_at", descending
    )
    rows = [c.to_wire() for c in found]
    if body.select:
        rows = [{k: row[k] for k in body.select} for row in rows]
    return JSONResponse(rows, headers=pagination_headers(page.offset, len(rows), more))


async def count_crons(request: Request) -> Response:
    body = await read_body(request, CronCount)
    visible = await _guard(request, "search", body.model_dump(exclude_none=True, mode="json"))
    return JSONResponse(await service(request).count(_filter(body, visible)))


_CRON = "/runs/crons/{cron_id}"
# With `select`, only the named fields are returned, so none of them is required.
_CRON_ITEM = {k: v for k, v in CronOut.model_json_schema().items() if k != "required"}
_CREATE_ERRORS = (400, 404, 409, 422)

ENDPOINTS = (
    Endpoint(
        "POST",
        "/runs/crons",
        create_cron,
        "Create a stateless cron",
        CronCreate,
        CronOut,
        errors=_CREATE_ERRORS,
    ),
    Endpoint(
        "POST",
        "/threads/{thread_id}/runs/crons",
        create_cron,
        "Create a cron whose runs go to this thread",
        CronCreate,
        CronOut,
        errors=_CREATE_ERRORS,
        operation_id="create_thread_cron",
    ),
    Endpoint(
        "POST",
        "/runs/crons/search",
        search_crons,
        "Search crons",
        CronSearch,
        {"type": "array", "items": _CRON_ITEM},
        response_headers=("X-Pagination-Next", "X-Pagination-Total"),
    ),
    Endpoint("POST", "/runs/crons/count", count_crons, "Count crons", CronCount, {"type": "integer"}),
    Endpoint("GET", _CRON, get_cron, "Get a cron", response=CronOut),
    Endpoint("PATCH", _CRON, update_cron, "Update a cron", CronPatch, CronOut, errors=(400, 404, 422)),
    Endpoint("DELETE", _CRON, delete_cron, "Delete a cron", status=204),
    Endpoint(
        "GET",
        f"{_CRON}/runs",
        cron_runs,
        "graphdock: the runs a cron made, newest first, with the assistant version each ran",
        response={"type": "array", "items": RunOut.model_json_schema()},
        query=(
            QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size."),
            QueryParam("offset", {"type": "integer", "minimum": 0}, "Rows to skip."),
        ),
    ),
)

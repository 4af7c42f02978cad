"""HTTP handlers for runs read by assistant version, and the version numbering the UI shows.

graphdock's own routes (the official server has none of them); existing routes keep their meaning.
"""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from graphdock.api.auth import authorize
from graphdock.api.bodies import path_uuid
from graphdock.api.endpoints import Endpoint, JSONResponse, QueryParam, pagination_headers
from graphdock.domain.run_stats import AssistantRuns
from graphdock.errors import AuthError, InvalidRequest
from graphdock.schemas.threads import RunOut
from graphdock.storage.records import Page
from graphdock.storage.threads import RUN_STATUSES, RunStatus
from graphdock.storage.visibility import Visibility


def runs_service(request: Request) -> AssistantRuns:
    runs: AssistantRuns = request.app.state.assistant_runs
    return runs


async def threads_searchable(request: Request, assistant_id: str, page: Page) -> Visibility | None:
    """Runs are seen through their threads; with no one thread named, `threads.search` decides
    which threads' runs this request may see (as for POST /threads/search)."""
    value = {
        "metadata": {"assistant_id": assistant_id},
        "values": {},
        "status": None,
        "limit": page.limit,
        "offset": page.offset,
    }
    return await authorize(request, "threads", "search", value)


async def stats_visibility(request: Request, assistant_id: str, page: Page) -> tuple[bool, Visibility | None]:
    """Whether run stats may be shown at all (threads.search not refused), and over which threads."""
    try:
        return True, await threads_searchable(request, assistant_id, page)
    except AuthError as refused:  # Forbidden, or a handler's own HTTPException(403)
        if refused.status_code != 403:
            raise
        return False, None


def _query_int(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) < 20 and low <= int(raw) <= high):
        raise InvalidRequest(
            f"{name}: expected an integer from {low} to {high}, got {raw!r}", loc=("query", name)
        )
    return int(raw)


def _status(request: Request) -> RunStatus | None:
    raw = request.query_params.get("status")
    if raw is None:
        return None
    for status in RUN_STATUSES:
        if raw == status:
            return status
    raise InvalidRequest(
        f"status: not a run status: {raw!r}; expected one of {list(RUN_STATUSES)}", loc=("query", "status")
    )


async def list_assistant_runs(request: Request) -> Response:
    assistant_id = path_uuid(request)
    page = Page(
        limit=_query_int(request, "limit", 10, 1, 1000) or 10,
        offset=_query_int(request, "offset", 0, 0, 2**63 - 1) or 0,
    )
    version = _query_int(request, "version", None, 1, 2**63 - 1)
    status = _status(request)
    # Authorized like any read of the assistant: one the caller may not see is 404.
    visible = await authorize(request, "assistants", "read", {"assistant_id": uuid.UUID(assistant_id)})
    found, more = await runs_service(request).search(
        assistant_id,
        version=version,
        status=status,
        page=page,
        visible=visible,
        threads_visible=await threads_searchable(request, assistant_id, page),
    )
    rows = [r.to_wire() for r in found]
    return JSONResponse(rows, headers=pagination_headers(page.offset, len(rows), more))


_STATUS_SCHEMA = {"type": "string", "enum": list(RUN_STATUSES)}

ENDPOINTS = (
    Endpoint(
        "GET",
        "/assistants/{assistant_id}/runs",
        list_assistant_runs,
        "graphdock: the assistant's runs across its threads, newest first (runs on threads the caller "
        "may not see are left out)",
        None,
        list[RunOut],
        query=(
            QueryParam("version", {"type": "integer", "minimum": 1}, "Only runs that used this version."),
            QueryParam("status", _STATUS_SCHEMA, "Only runs with this status."),
            QueryParam(
                "limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10}, "Page size."
            ),
            QueryParam("offset", {"type": "integer", "minimum": 0, "default": 0}, "Runs to skip."),
        ),
        response_headers=("X-Pagination-Next", "X-Pagination-Total"),
    ),
)

"""HTTP handlers for /assistants: parse the request, call the domain once, shape the response."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from graphdock.api.assistant_runs import runs_service as stats_service
from graphdock.api.assistant_runs import stats_visibility
from graphdock.api.auth import author, authorize
from graphdock.api.bodies import etag, if_match, path_uuid, query_flag, read_body
from graphdock.api.endpoints import Endpoint, JSONResponse, QueryParam, pagination_headers
from graphdock.domain.assistants import AssistantChanges, Assistants
from graphdock.domain.defaults import default_assistant_id
from graphdock.errors import InvalidRequest
from graphdock.schemas.assistants import (
    ASSISTANT_FIELDS,
    AssistantConfig,
    AssistantCount,
    AssistantCreate,
    AssistantOut,
    AssistantPatch,
    AssistantSearch,
    AssistantVersionStatsOut,
    GraphSchemasOut,
    SetLatest,
    VersionsSearch,
)
from graphdock.storage.assistant_runs import VersionTally
from graphdock.storage.records import Assistant, AssistantFilter, Page
from graphdock.storage.visibility import Visibility


def service(request: Request) -> Assistants:
    assistants: Assistants = request.app.state.assistants
    return assistants


def assistant_response(assistant: Assistant) -> Response:
    """An assistant's active row, with the ETag that If-Match compares against."""
    return JSONResponse(assistant.to_wire(), headers=etag(assistant.version))


def _config(body_config: AssistantConfig | None) -> dict[str, Any]:
    # exclude_unset keeps the client's keys verbatim, extra ones included, and adds none.
    return body_config.model_dump(exclude_unset=True) if body_config is not None else {}


async def create_assistant(request: Request) -> Response:
    body = await read_body(request, AssistantCreate)
    config = _config(body.config)
    # The auth handler sees (and may edit) the assistant as langgraph_sdk's AssistantsCreate.
    value: dict[str, Any] = {
        "assistant_id": uuid.UUID(body.assistant_id) if body.assistant_id else None,
        "graph_id": body.graph_id,
        "config": config,
        "context": body.context,
        "metadata": body.metadata or {},
        "if_exists": body.if_exists or "raise",
        "name": body.name or "Untitled",
    }
    visible = await authorize(request, "assistants", "create", value)
    assistant = await service(request).create(
        graph_id=body.graph_id,
        assistant_id=body.assistant_id,
        config=config,
        context=body.context,
        metadata=value.get("metadata") or {},
        name=body.name or "Untitled",
        description=body.description,
        if_exists=body.if_exists or "raise",
        author=author(request),
        visible=visible,
    )
    return assistant_response(assistant)


async def readable(request: Request) -> Visibility | None:
    """What `assistants.read` lets this request see, for the assistant in the path."""
    return await authorize(request, "assistants", "read", {"assistant_id": _uuid(request)})


async def updatable(request: Request, **value: Any) -> Visibility | None:
    return await authorize(request, "assistants", "update", {"assistant_id": _uuid(request), **value})


def _uuid(request: Request) -> uuid.UUID:
    return uuid.UUID(path_uuid(request))


async def get_assistant(request: Request) -> Response:
    visible = await readable(request)
    return assistant_response(await service(request).get(path_uuid(request), visible=visible))


async def patch_assistant(request: Request) -> Response:
    assistant_id = path_uuid(request)
    body = await read_body(request, AssistantPatch)
    config = _config(body.config) if body.config is not None else None
    value: dict[str, Any] = {
        "graph_id": body.graph_id,
        "config": config,
        "context": body.context,
        "metadata": body.metadata,
        "name": body.name,
    }
    visible = await updatable(request, **value)
    changes = AssistantChanges(
        graph_id=body.graph_id,
        config=config,
        context=body.context,
        metadata=value.get("metadata"),
        name=body.name,
        description=body.description,
    )
    assistant = await service(request).update(
        assistant_id, changes, if_version=if_match(request), author=author(request), visible=visible
    )
    return assistant_response(assistant)


async def delete_assistant(request: Request) -> Response:
    assistant_id = path_uuid(request)
    visible = await authorize(request, "assistants", "delete", {"assistant_id": _uuid(request)})
    await service(request).delete(
        assistant_id,
        delete_threads=query_flag(request, "delete_threads"),
        if_version=if_match(request),
        visible=visible,
    )
    # 204 with no body: the JS client parses any other 2xx body as JSON.
    return Response(status_code=204)


async def list_versions(request: Request) -> Response:
    assistant_id = path_uuid(request)
    body = await read_body(request, VersionsSearch)
    page = Page(limit=body.limit, offset=body.offset)
    visible = await readable(request)
    # graphdock: each version's run stats, over the threads this request may see, read with the
    # versions (one round trip on PostgreSQL); None where threads.search refuses the request.
    allowed, threads_visible = await stats_visibility(request, assistant_id, page)
    if not allowed:
        versions = await service(request).versions(assistant_id, body.metadata or {}, page, visible=visible)
        return JSONResponse([{**v.to_wire(), "run_stats": None} for v in versions])
    found = await stats_service(request).versions(
        assistant_id, body.metadata or {}, page, visible=visible, threads_visible=threads_visible
    )
    return JSONResponse([{**v.to_wire(), "run_stats": stats} for v, stats in found])


async def set_latest(request: Request) -> Response:
    assistant_id = path_uuid(request)
    body = await read_body(request, SetLatest)
    visible = await updatable(request, version=body.version)
    assistant = await service(request).set_latest(
        assistant_id, body.version, if_version=if_match(request), visible=visible
    )
    return assistant_response(assistant)


async def searchable(request: Request, body: AssistantCount | AssistantSearch, page: Page) -> AssistantFilter:
    """The search's own filter plus what `assistants.search` lets this request see."""
    metadata = body.metadata or {}
    value = {"graph_id": body.graph_id, "metadata": metadata, "limit": page.limit, "offset": page.offset}
    visible = await authorize(request, "assistants", "search", value)
    return AssistantFilter(graph_id=body.graph_id, name=body.name or None, metadata=metadata, visible=visible)


async def search_assistants(request: Request) -> Response:
    body = await read_body(request, AssistantSearch)
    select = body.select or None
    if select and (unknown := sorted(set(select) - SEARCH_FIELDS)):
        raise InvalidRequest(f"select: unknown fields {unknown}; expected some of {sorted(SEARCH_FIELDS)}")
    page = Page(limit=body.limit, offset=body.offset)
    descending = (body.sort_order or "desc").lower() == "desc"
    where = await searchable(request, body, page)
    # graphdock: how many versions each keeps and the next one's number (the UI's table shows them).
    found, more = await service(request).search_with_tallies(
        where, page, body.sort_by or "created_at", descending
    )
    rows = [{**a.to_wire(), **_tally_fields(tally)} for a, tally in found]
    if select:
        rows = [{k: row[k] for k in select} for row in rows]
    return JSONResponse(rows, headers=pagination_headers(page.offset, len(rows), more))


def _tally_fields(tally: VersionTally | None) -> dict[str, int | None]:
    if tally is None:  # deleted between the search and the tally
        return {"version_count": None, "next_version": None}
    return {"version_count": tally.version_count, "next_version": tally.next_version}


async def count_assistants(request: Request) -> Response:
    body = await read_body(request, AssistantCount)
    return JSONResponse(await service(request).count(await searchable(request, body, Page(limit=0))))


async def get_graph(request: Request) -> Response:
    raw_xray = request.query_params.get("xray", "false")
    xray: bool | int
    if raw_xray in ("true", "True"):
        xray = True
    elif raw_xray in ("false", "False"):
        xray = False
    elif raw_xray.isascii() and raw_xray.isdigit() and int(raw_xray) >= 1:
        xray = int(raw_xray)
    else:
        raise InvalidRequest(f"xray: expected true, false or an integer >= 1, got {raw_xray!r}")
    assistants = service(request)
    raw_id: str = request.path_params["assistant_id"]
    # This route alone accepts a graph id in place of the assistant's UUID.
    target = default_assistant_id(raw_id) if assistants.is_graph(raw_id) else path_uuid(request)
    visible = await authorize(request, "assistants", "read", {"assistant_id": uuid.UUID(target)})
    return JSONResponse(await assistants.drawable(target, xray, visible=visible))


async def get_schemas(request: Request) -> Response:
    visible = await readable(request)
    return JSONResponse(await service(request).schemas(path_uuid(request), visible=visible))


async def get_subgraphs(request: Request) -> Response:
    subgraphs = await service(request).subgraphs(
        path_uuid(request),
        request.path_params.get("namespace"),
        query_flag(request, "recurse"),
        visible=await readable(request),
    )
    return JSONResponse(subgraphs)


_ID = "/assistants/{assistant_id}"
# With `select`, search returns only the named fields, so none of them is required there.
_ASSISTANT_SCHEMA = AssistantOut.model_json_schema()
_SEARCH_ITEM = {
    **{k: v for k, v in _ASSISTANT_SCHEMA.items() if k != "required"},
    "properties": {
        **_ASSISTANT_SCHEMA["properties"],
        "version_count": {
            "anyOf": [{"type": "integer"}, {"type": "null"}],
            "description": "graphdock: versions kept (null if the assistant was deleted meanwhile).",
        },
        "next_version": {
            "anyOf": [{"type": "integer"}, {"type": "null"}],
            "description": "graphdock: the number the next update gets (numbers are never reused).",
        },
    },
    "title": "AssistantSearchItem",
}
SEARCH_FIELDS = ASSISTANT_FIELDS | {"version_count", "next_version"}
_RECURSE = QueryParam("recurse", {"type": "boolean", "default": False}, "Include nested subgraphs.")

ENDPOINTS = (
    Endpoint(
        "POST",
        "/assistants",
        create_assistant,
        "Create an assistant (version 1)",
        AssistantCreate,
        AssistantOut,
        errors=(400, 404, 409, 413, 422),
        response_headers=("ETag",),
    ),
    Endpoint(
        "POST",
        "/assistants/search",
        search_assistants,
        "Search assistants (active versions)",
        AssistantSearch,
        {"type": "array", "items": _SEARCH_ITEM},
        response_headers=("X-Pagination-Next", "X-Pagination-Total"),
    ),
    Endpoint(
        "POST", "/assistants/count", count_assistants, "Count assistants", AssistantCount, {"type": "integer"}
    ),
    Endpoint(
        "GET",
        _ID,
        get_assistant,
        "Get an assistant's active version",
        None,
        AssistantOut,
        response_headers=("ETag",),
    ),
    Endpoint(
        "PATCH",
        _ID,
        patch_assistant,
        "Update an assistant: appends a version and makes it active",
        AssistantPatch,
        AssistantOut,
        errors=(400, 404, 413, 422),
        response_headers=("ETag",),
        if_match=True,
    ),
    Endpoint(
        "DELETE",
        _ID,
        delete_assistant,
        "Delete an assistant and all its versions",
        status=204,
        query=(
            QueryParam(
                "delete_threads",
                {"type": "boolean", "default": False},
                "Also delete threads whose metadata.assistant_id is this assistant.",
            ),
        ),
        if_match=True,
    ),
    Endpoint(
        "POST",
        _ID + "/versions",
        list_versions,
        "List versions, newest first (empty page: [])",
        VersionsSearch,
        list[AssistantVersionStatsOut],
    ),
    Endpoint(
        "POST",
        _ID + "/latest",
        set_latest,
        "Make a version active again (restores its whole snapshot)",
        SetLatest,
        AssistantOut,
        response_headers=("ETag",),
        if_match=True,
    ),
    Endpoint(
        "GET",
        _ID + "/graph",
        get_graph,
        "The drawable graph (assistant id or graph id)",
        None,
        {"type": "object"},
        query=(
            QueryParam(
                "xray",
                {"anyOf": [{"type": "boolean"}, {"type": "integer", "minimum": 1}]},
                "Include subgraphs, to this depth.",
            ),
        ),
    ),
    Endpoint("GET", _ID + "/schemas", get_schemas, "The graph's JSON schemas", None, GraphSchemasOut),
    Endpoint(
        "GET",
        _ID + "/subgraphs",
        get_subgraphs,
        "Subgraphs' schemas by namespace",
        None,
        {"type": "object"},
        query=(_RECURSE,),
    ),
    Endpoint(
        "GET",
        _ID + "/subgraphs/{namespace}",
        get_subgraphs,
        "One namespace's subgraphs' schemas",
        None,
        {"type": "object"},
        query=(_RECURSE,),
    ),
)

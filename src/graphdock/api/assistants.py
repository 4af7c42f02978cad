"""HTTP handlers for /assistants: parse the request, call the domain once, shape the response."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from graphdock.api.bodies import etag, if_match, path_uuid, query_flag, read_body
from graphdock.api.endpoints import Endpoint, JSONResponse, QueryParam, pagination_headers
from graphdock.domain.assistants import AssistantChanges, Assistants
from graphdock.errors import InvalidRequest
from graphdock.schemas.assistants import (
    ASSISTANT_FIELDS,
    AssistantConfig,
    AssistantCount,
    AssistantCreate,
    AssistantOut,
    AssistantPatch,
    AssistantSearch,
    AssistantVersionOut,
    GraphSchemasOut,
    SetLatest,
    VersionsSearch,
)
from graphdock.storage.records import Assistant, AssistantFilter, Page


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
    assistant = await service(request).create(
        graph_id=body.graph_id,
        assistant_id=body.assistant_id,
        config=_config(body.config),
        context=body.context,
        metadata=body.metadata or {},
        name=body.name or "Untitled",
        description=body.description,
        if_exists=body.if_exists or "raise",
    )
    return assistant_response(assistant)


async def get_assistant(request: Request) -> Response:
    return assistant_response(await service(request).get(path_uuid(request)))


async def patch_assistant(request: Request) -> Response:
    assistant_id = path_uuid(request)
    body = await read_body(request, AssistantPatch)
    changes = AssistantChanges(
        graph_id=body.graph_id,
        config=_config(body.config) if body.config is not None else None,
        context=body.context,
        metadata=body.metadata,
        name=body.name,
        description=body.description,
    )
    assistant = await service(request).update(assistant_id, changes, if_version=if_match(request))
    return assistant_response(assistant)


async def delete_assistant(request: Request) -> Response:
    assistant_id = path_uuid(request)
    await service(request).delete(
        assistant_id, delete_threads=query_flag(request, "delete_threads"), if_version=if_match(request)
    )
    # 204 with no body: the JS client parses any other 2xx body as JSON.
    return Response(status_code=204)


async def list_versions(request: Request) -> Response:
    assistant_id = path_uuid(request)
    body = await read_body(request, VersionsSearch)
    versions = await service(request).versions(
        assistant_id, body.metadata or {}, Page(limit=body.limit, offset=body.offset)
    )
    return JSONResponse([v.to_wire() for v in versions])


async def set_latest(request: Request) -> Response:
    assistant_id = path_uuid(request)
    body = await read_body(request, SetLatest)
    assistant = await service(request).set_latest(assistant_id, body.version, if_version=if_match(request))
    return assistant_response(assistant)


async def search_assistants(request: Request) -> Response:
    body = await read_body(request, AssistantSearch)
    select = body.select or None
    if select and (unknown := sorted(set(select) - ASSISTANT_FIELDS)):
        raise InvalidRequest(f"select: unknown fields {unknown}; expected some of {sorted(ASSISTANT_FIELDS)}")
    page = Page(limit=body.limit, offset=body.offset)
    descending = (body.sort_order or "desc").lower() == "desc"
    found, more = await service(request).search(_filter(body), page, body.sort_by or "created_at", descending)
    rows = [a.to_wire() for a in found]
    if select:
        rows = [{k: row[k] for k in select} for row in rows]
    return JSONResponse(rows, headers=pagination_headers(page.offset, len(rows), more))


async def count_assistants(request: Request) -> Response:
    body = await read_body(request, AssistantCount)
    return JSONResponse(await service(request).count(_filter(body)))


async def get_graph(request: Request) -> Response:
    raw_xray = request.query_params.get("xray", "false")
    xray: bool | int
    if raw_xray in ("true", "True"):
        xray = True
    elif raw_xray in ("false", "False", ""):
        xray = False
    elif raw_xray.isascii() and raw_xray.isdigit() and int(raw_xray) >= 1:
        xray = int(raw_xray)
    else:
        raise InvalidRequest(f"xray: expected true, false or an integer >= 1, got {raw_xray!r}")
    assistants = service(request)
    raw_id: str = request.path_params["assistant_id"]
    # This route alone accepts a graph id in place of the assistant's UUID.
    return JSONResponse(
        await assistants.drawable(raw_id if assistants.is_graph(raw_id) else path_uuid(request), xray)
    )


async def get_schemas(request: Request) -> Response:
    return JSONResponse(await service(request).schemas(path_uuid(request)))


async def get_subgraphs(request: Request) -> Response:
    subgraphs = await service(request).subgraphs(
        path_uuid(request), request.path_params.get("namespace"), query_flag(request, "recurse")
    )
    return JSONResponse(subgraphs)


def _filter(body: AssistantCount | AssistantSearch) -> AssistantFilter:
    return AssistantFilter(graph_id=body.graph_id, name=body.name or None, metadata=body.metadata or {})


_ID = "/assistants/{assistant_id}"
# With `select`, search returns only the named fields, so none of them is required there.
_SEARCH_ITEM = {
    **{k: v for k, v in AssistantOut.model_json_schema().items() if k != "required"},
    "title": "AssistantSearchItem",
}
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
        list[AssistantVersionOut],
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

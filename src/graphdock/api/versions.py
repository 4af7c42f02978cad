"""HTTP handlers for one version at a time: read, delete, restore, and diff two versions.

These routes are graphdock's own (the official server has none of them); they leave every
existing route's meaning unchanged, so the official SDKs keep working beside them.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from graphdock.api.assistants import assistant_response, readable, service, updatable
from graphdock.api.auth import author
from graphdock.api.bodies import if_match, int_param, path_uuid
from graphdock.api.endpoints import Endpoint, JSONResponse, QueryParam
from graphdock.schemas.assistants import AssistantOut, AssistantVersionOut, DiffOut, VersionSummaryOut

_VERSION = "/assistants/{assistant_id}/versions/{version}"


def _version(request: Request) -> int:
    return int_param(request.path_params["version"], "version")


async def get_version(request: Request) -> Response:
    version = await service(request).get_version(
        path_uuid(request), _version(request), visible=await readable(request)
    )
    return JSONResponse(version.to_wire())


# Deleting or restoring one version changes the assistant's history: `assistants.update`.


async def delete_version(request: Request) -> Response:
    version = _version(request)
    visible = await updatable(request, version=version)
    await service(request).delete_version(
        path_uuid(request), version, if_version=if_match(request), visible=visible
    )
    return Response(status_code=204)


async def restore_version(request: Request) -> Response:
    version = _version(request)
    visible = await updatable(request, version=version)
    assistant = await service(request).restore(
        path_uuid(request), version, if_version=if_match(request), author=author(request), visible=visible
    )
    return assistant_response(assistant)


async def version_summary(request: Request) -> Response:
    tally = await service(request).tally(path_uuid(request), visible=await readable(request))
    return JSONResponse(
        {
            "assistant_id": tally.assistant_id,
            "version": tally.active_version,
            "version_count": tally.version_count,
            "next_version": tally.next_version,
        }
    )


async def diff_versions(request: Request) -> Response:
    query = request.query_params
    to_version = int_param(query["to"], "to") if query.get("to") else None
    diff = await service(request).diff(
        path_uuid(request), int_param(query.get("from"), "from"), to_version, visible=await readable(request)
    )
    return JSONResponse(diff)


ENDPOINTS = (
    Endpoint(
        "GET",
        "/assistants/{assistant_id}/versions/summary",
        version_summary,
        "graphdock: the active version, how many versions are kept, and the next version's number",
        None,
        VersionSummaryOut,
    ),
    Endpoint("GET", _VERSION, get_version, "One version, with its audit trail", None, AssistantVersionOut),
    Endpoint(
        "DELETE",
        _VERSION,
        delete_version,
        "Delete one version that is not the active one (409 for the active one); numbers are never reused",
        status=204,
        errors=(404, 409, 422),
        if_match=True,
    ),
    Endpoint(
        "POST",
        _VERSION + "/restore",
        restore_version,
        "Append a copy of this version as the newest one and make it active (change: restore)",
        None,
        AssistantOut,
        response_headers=("ETag",),
        if_match=True,
    ),
    Endpoint(
        "GET",
        "/assistants/{assistant_id}/diff",
        diff_versions,
        "What changed from one version to another (default: to the active one)",
        None,
        DiffOut,
        query=(
            QueryParam(
                "from", {"type": "integer", "minimum": 1}, "The version to compare from.", required=True
            ),
            QueryParam(
                "to", {"type": "integer", "minimum": 1}, "The newer version (default: the active one)."
            ),
        ),
    ),
)

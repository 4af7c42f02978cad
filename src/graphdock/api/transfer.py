"""HTTP handlers for moving assistants with their whole history: export pages and import."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from graphdock.api.assistants import service
from graphdock.api.auth import authorize
from graphdock.api.bodies import read_body
from graphdock.api.endpoints import Endpoint, JSONResponse
from graphdock.auth.policy import Action
from graphdock.errors import Forbidden
from graphdock.schemas.transfer import (
    EXPORT_FORMAT,
    ExportPage,
    ExportRequest,
    ImportReportOut,
    ImportRequest,
)
from graphdock.storage.records import Page, utc_now


async def export_assistants(request: Request) -> Response:
    body = await read_body(request, ExportRequest)
    page = Page(limit=body.limit, offset=body.offset)
    await _unrestricted(
        request, "search", {"graph_id": None, "metadata": {}, "limit": page.limit, "offset": page.offset}
    )
    assistants, more = await service(request).export(body.assistant_ids, page)
    # A page is itself a valid import document.
    return JSONResponse(
        {
            "format": EXPORT_FORMAT,
            "exported_at": utc_now(),
            "assistants": assistants,
            "next": page.offset + len(assistants) if more else None,
        }
    )


async def import_assistants(request: Request) -> Response:
    body = await read_body(request, ImportRequest)
    await _unrestricted(request, "create", {"metadata": {}})
    report = await service(request).import_histories(body.assistants, dry_run=body.dry_run)
    return JSONResponse(
        {
            "created": report.created,
            "replaced": report.replaced,
            "unchanged": report.unchanged,
            "dry_run": body.dry_run,
        }
    )


async def _unrestricted(request: Request, action: Action, value: dict[str, Any]) -> None:
    """Whole histories move only for users whose auth handler sets them no filter: an export or
    import cannot be narrowed to what one user may see without dropping or forging history."""
    if await authorize(request, "assistants", action, value) is not None:
        raise Forbidden(f"Exporting and importing assistants needs unrestricted assistants.{action} access")


ENDPOINTS = (
    Endpoint(
        "POST",
        "/assistants/export",
        export_assistants,
        "Export assistants with every version (oldest first, one page)",
        ExportRequest,
        ExportPage,
        errors=(403, 422),
    ),
    Endpoint(
        "POST",
        "/assistants/import",
        import_assistants,
        "Import exported assistants: keeps version numbers and active versions; idempotent; all or nothing",
        ImportRequest,
        ImportReportOut,
        errors=(403, 409, 422),
    ),
)

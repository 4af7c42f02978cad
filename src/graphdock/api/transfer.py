"""HTTP handlers for moving assistants with their whole history: export pages and import."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from graphdock.api.assistants import service
from graphdock.api.bodies import read_body
from graphdock.api.endpoints import Endpoint, JSONResponse
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
    report = await service(request).import_histories(body.assistants, dry_run=body.dry_run)
    return JSONResponse(
        {
            "created": report.created,
            "replaced": report.replaced,
            "unchanged": report.unchanged,
            "dry_run": body.dry_run,
        }
    )


ENDPOINTS = (
    Endpoint(
        "POST",
        "/assistants/export",
        export_assistants,
        "Export assistants with every version (oldest first, one page)",
        ExportRequest,
        ExportPage,
        errors=(422,),
    ),
    Endpoint(
        "POST",
        "/assistants/import",
        import_assistants,
        "Import exported assistants: keeps version numbers and active versions; idempotent; all or nothing",
        ImportRequest,
        ImportReportOut,
        errors=(409, 422),
    ),
)

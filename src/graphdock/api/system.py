"""Server-level routes: health, info, and the API's own description."""

from __future__ import annotations

from importlib.metadata import version

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from graphdock.api.endpoints import Endpoint, JSONResponse

VERSION = version("graphdock")


async def ok(request: Request) -> Response:
    # Unhealthy while runs cannot start here (the run worker is stopped, or cannot claim from
    # the database), so a load balancer or orchestrator notices instead of clients waiting.
    problem: str | None = request.app.state.runs.problem
    if problem is not None:
        return JSONResponse({"ok": False, "detail": problem}, status_code=503)
    return JSONResponse({"ok": True})


async def info(request: Request) -> Response:
    return JSONResponse(
        {"version": VERSION, "graphdock": True, "flags": {"assistants": True, "crons": False}}
    )


async def openapi(request: Request) -> Response:
    document: dict[str, object] = request.app.state.openapi
    return JSONResponse(document)


async def docs(request: Request) -> Response:
    return HTMLResponse(_DOCS_PAGE)


ENDPOINTS = (
    Endpoint(
        "GET",
        "/ok",
        ok,
        "Health check: 503 with a detail while runs cannot start here",
        response={"type": "object"},
        errors=(503,),
        public=True,
    ),
    Endpoint(
        "GET",
        "/info",
        info,
        "Server version and features",
        response={"type": "object"},
        errors=(),
        public=True,
    ),
)
# Not part of the documented API itself.
META_ENDPOINTS = (
    Endpoint("GET", "/openapi.json", openapi, "This document", errors=()),
    Endpoint("GET", "/docs", docs, "Human-readable API reference", errors=()),
)

# Self-contained (no CDN: graphdock works offline), rendered from /openapi.json in the browser.
_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>graphdock API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
details{border:1px solid #ddd;border-radius:6px;margin:.5rem 0;padding:.4rem .8rem}
summary{cursor:pointer}.m{display:inline-block;width:4.5rem;font-weight:600}
pre{background:#f6f6f6;padding:.6rem;overflow:auto;font-size:13px}
</style></head><body>
<h1>graphdock API</h1><p>Machine-readable: <a href="/openapi.json">/openapi.json</a></p>
<div id="ops">Loading…</div>
<script>
fetch('/openapi.json').then(r => r.json()).then(doc => {
  const root = document.getElementById('ops'); root.textContent = '';
  const schemas = doc.components.schemas;
  const show = s => JSON.stringify(s && s.$ref ? schemas[s.$ref.split('/').pop()] : s, null, 2);
  for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) {
    const d = document.createElement('details');
    const body = op.requestBody ? op.requestBody.content['application/json'].schema : null;
    const codes = Object.keys(op.responses).join(', ');
    d.innerHTML = `<summary><span class="m">${method.toUpperCase()}</span><code></code> — </summary>`;
    d.querySelector('code').textContent = path;
    d.querySelector('summary').append(op.summary);
    const pre = document.createElement('pre');
    pre.textContent = (body ? 'Body:\\n' + show(body) + '\\n\\n' : '') + 'Responses: ' + codes;
    d.append(pre); root.append(d);
  }
});
</script></body></html>
"""

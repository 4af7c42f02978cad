"""The web UI: its page at `/` and its built assets under `/ui/`, shipped inside the package.

The UI is a client of the public JSON API like any other (same origin, so no CORS); these routes
only hand out the files `make ui` built into `graphdock/ui/static`. No API path starts with `/ui`
or is `/`, so nothing here can shadow a route of the API.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from graphdock.api.endpoints import Endpoint
from graphdock.errors import NotFound

STATIC = Path(__file__).parents[1] / "ui" / "static"
# Vite names every asset after its content hash, so a browser may keep them forever; the page
# itself must be revalidated, or a browser would keep asking for the previous build's assets.
_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "no-cache"
# The page keeps an API key in localStorage, so it loads code only from this server (no inline
# script, no other origin), talks only to this server, and no other site may frame it.
# 'unsafe-eval': the form validator (ajv, under @rjsf/validator-ajv8) compiles JSON Schemas with
# Function(); it lets the page's own code build functions, not run injected markup.
_SECURITY = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self';"
    " img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
}
# Python's table depends on the host's /etc/mime.types; these must not.
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".woff2": "font/woff2",
}


def _file(relative: str) -> Path:
    """A built file by its path below the static folder; NotFound for anything else."""
    if "\x00" in relative:  # no file name holds one (and pathlib raises on it)
        raise NotFound(f"No UI file {relative!r}")
    root = STATIC.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound(f"No UI file {relative!r}")
    return path


async def index(request: Request) -> Response:
    if not (STATIC / "index.html").is_file():
        raise NotFound("The web UI is not built into this installation; run `make ui` in a source checkout")
    prefix: str = request.scope.get("root_path", "")
    if not prefix:
        return _serve(_file("index.html"), _REVALIDATE)
    # Under `http.mount_prefix` the built page's absolute asset paths (`/ui/assets/…`) move with
    # it; the page finds the API itself, from its own location.
    page = _file("index.html").read_text(encoding="utf-8").replace('="/ui/', f'="{prefix}/ui/')
    return Response(page, media_type=_TYPES[".html"], headers={"Cache-Control": _REVALIDATE, **_SECURITY})


async def asset(request: Request) -> Response:
    relative: str = request.path_params["path"]
    path = _file(relative)
    return _serve(path, _IMMUTABLE if relative.startswith("assets/") else _REVALIDATE)


def _serve(path: Path, cache: str) -> Response:
    media_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": cache, **_SECURITY})


ENDPOINTS = (
    Endpoint("GET", "/", index, "The web UI (a single page; its screens use hash links)", errors=(404,)),
    Endpoint("GET", "/ui/{path:path}", asset, "The web UI's built assets", errors=(404,)),
)

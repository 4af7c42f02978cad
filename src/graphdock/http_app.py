"""`http.app`: a project's own Starlette or FastAPI app, served beside the API.

Its routes join the API's router (the API's are tried first), its middleware joins graphdock's
stack (outside or inside authentication, per `middleware_order`), its lifespan runs inside
graphdock's (so its start-up sees a ready server), and a FastAPI app's own OpenAPI paths join
/openapi.json. A custom path that the API would also answer is refused at start-up, naming both:
the platform lets custom routes shadow the API, which silently breaks the SDKs, so here neither
may win by accident.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Scope

from graphdock.errors import ConfigError
from graphdock.project import ProjectConfig
from graphdock.runtime.graphs import import_file, prepare_imports


def load_custom_app(project: ProjectConfig) -> Starlette | None:
    ref = project.http.app
    if ref is None:
        return None
    where = f"{project.path}: http.app {ref.location!r}"
    prepare_imports(project)
    try:
        module = (
            import_file(ref.file, project.root)
            if ref.file is not None
            else importlib.import_module(ref.module or "")
        )
    except Exception as exc:  # anything the user's module raises at import
        raise ConfigError(f"{where}: cannot import it: {type(exc).__name__}: {exc}") from exc
    if not hasattr(module, ref.attr):
        raise ConfigError(f"{where}: the module has no attribute {ref.attr!r}")
    app = getattr(module, ref.attr)
    if not isinstance(app, Starlette):  # FastAPI apps are Starlette apps
        raise ConfigError(f"{where}: expected a Starlette or FastAPI app, found {type(app).__name__}")
    return app


def custom_routes(app: Starlette) -> list[BaseRoute]:
    """The app's routes, less FastAPI's own documentation pages (graphdock serves /docs and the
    merged /openapi.json itself)."""
    own_docs = {getattr(app, name, None) for name in ("openapi_url", "docs_url", "redoc_url")}
    own_docs |= {f"{url}/oauth2-redirect" for url in own_docs if isinstance(url, str)}
    served = [r for r in app.routes if getattr(r, "path", None) not in own_docs]
    if type(app).__module__.startswith("fastapi"):
        # FastAPI's routes expect the exit stack its own app sets up for each request (it
        # closes uploaded files and dependencies with `yield`); each route gets it here instead.
        from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware

        for route in served:
            if isinstance(route, Route | Mount):
                route.app = AsyncExitStackMiddleware(route.app)
    return served


def custom_middleware(app: Starlette) -> list[Middleware]:
    return list(app.user_middleware)


def check_collisions(where: str, custom: Sequence[BaseRoute], api: Sequence[BaseRoute]) -> None:
    for route in custom:
        path = getattr(route, "path", "")
        for probe in _probes(route):
            for served in api:
                if served.matches(_scope(probe))[0] is not Match.NONE:
                    raise ConfigError(
                        f"{where}: the custom route {path or '/'} collides with graphdock's "
                        f"{getattr(served, 'path', '?')}; move it, or turn that API group off "
                        "with an http.disable_<group> flag"
                    )


def openapi_paths(app: Starlette) -> tuple[dict[str, Any], dict[str, Any]]:
    """A FastAPI app's OpenAPI paths and component schemas; nothing for a plain Starlette app
    (which has no machine-readable description of its bodies)."""
    openapi = getattr(app, "openapi", None)
    if not callable(openapi):
        return {}, {}
    document: dict[str, Any] = openapi()
    return document.get("paths", {}), document.get("components", {}).get("schemas", {})


def _probes(route: BaseRoute) -> list[str]:
    """Concrete paths standing for a route: its template with each parameter filled in, and for a
    Mount, its prefix and one path below it."""
    if isinstance(route, Mount):
        base = _filled(route.path)
        return [base or "/", f"{base}/x"]
    if isinstance(route, Route):
        return [_filled(route.path)]
    return []


def _filled(template: str) -> str:
    return "/".join("x" if part.startswith("{") else part for part in template.split("/"))


def _scope(path: str) -> Scope:
    return {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}

"""create_app(settings): the one place the server is composed — routes, middleware, errors, lifespan."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, ExceptionHandler

from graphdock import http_app
from graphdock.api import (
    a2a_agents,
    a2a_routes,
    assistant_runs,
    assistants,
    crons,
    mcp_tools,
    observe,
    runs,
    store,
    system,
    thread_session,
    thread_stream,
    threads,
    transfer,
    ui,
    versions,
)
from graphdock.api.auth import Authentication
from graphdock.api.endpoints import Endpoint, JSONResponse, routes
from graphdock.api.front import Front, cors_rules, handler_table
from graphdock.api.openapi import build_openapi
from graphdock.api.router import IndexedRouter
from graphdock.auth.loading import load_policy
from graphdock.auth.policy import Policy
from graphdock.domain.assistants import Assistants
from graphdock.domain.crons import CheckRun, Crons
from graphdock.domain.retention import Retention
from graphdock.domain.run_execution import RunHooks
from graphdock.domain.run_stats import AssistantRuns
from graphdock.domain.runs import Runs, Scaling
from graphdock.domain.scheduler import Scheduler, StartRun
from graphdock.domain.store import StoreItems
from graphdock.domain.threads import Threads
from graphdock.domain.webhook_policy import WebhookPolicy
from graphdock.domain.webhooks import WebhookSender
from graphdock.errors import AuthError, GraphdockError, InvalidRequest
from graphdock.metrics import Metrics, SlotUsage
from graphdock.project import ROUTE_GROUPS, ProjectConfig, fill_header_templates, load_project_config
from graphdock.runtime.checkpoints import open_saver
from graphdock.runtime.graphs import GraphRegistry
from graphdock.runtime.replicas import Replicas
from graphdock.runtime.store import open_store
from graphdock.schemas.threads import RunCreate
from graphdock.settings import Settings, webhook_environment
from graphdock.storage import storage_for
from graphdock.storage.records import Json
from graphdock.storage.visibility import Visibility

log = structlog.get_logger("graphdock")

# The route groups an `http.disable_<group>` flag turns off (see project/http.py ROUTE_GROUPS): a new
# group of routes is one entry here.
DOCUMENTED: dict[str, tuple[Endpoint, ...]] = {
    "meta": (*system.ENDPOINTS, *observe.ENDPOINTS),
    "assistants": (
        *transfer.ENDPOINTS,
        *assistants.ENDPOINTS,
        *versions.ENDPOINTS,
        *assistant_runs.ENDPOINTS,
    ),
    "threads": (*threads.ENDPOINTS, *thread_stream.ENDPOINTS, *thread_session.ENDPOINTS),
    "runs": (*runs.ENDPOINTS, *crons.ENDPOINTS),
    "store": store.ENDPOINTS,
}
# Served but not part of the API's OpenAPI document.
UNDOCUMENTED: dict[str, tuple[Endpoint, ...]] = {"meta": system.META_ENDPOINTS, "ui": ui.ENDPOINTS}
# MCP and A2A are JSON-RPC protocols with their own specifications, served through their SDKs:
# left out of /openapi.json (which cannot describe them), as their own routes.
# The thread streaming session's WebSocket is left out too (OpenAPI describes no WebSockets).
PROTOCOLS: dict[str, list[BaseRoute]] = {
    "mcp": [Route(mcp_tools.PATH, mcp_tools.McpApp())],
    "threads": list(thread_session.ROUTES),
    "a2a": list(a2a_routes.ROUTES),
}
assert set(DOCUMENTED) | set(UNDOCUMENTED) | set(PROTOCOLS) <= set(ROUTE_GROUPS)
API = tuple(e for endpoints in DOCUMENTED.values() for e in endpoints)


def create_app(
    settings: Settings, graphs: GraphRegistry | None = None, policy: Policy | None = None
) -> Starlette:
    """`graphs` and `policy` may be loaded beforehand (the CLI does, to report errors cleanly)."""
    project = load_project_config(settings.config)
    if project.unimplemented:
        log.warning(
            "config.not_implemented",
            keys=list(project.unimplemented),
            detail="graphdock accepts these langgraph.json keys but does not act on them (yet)",
        )
    if project.build_only:
        log.warning(
            "config.build_only",
            keys=list(project.build_only),
            detail="these langgraph.json keys shape the image `langgraph build` makes; graphdock serves"
            " in the environment it runs in and does not act on them",
        )
    custom = http_app.load_custom_app(project)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Mapping[str, Any]]:
        registry = graphs or await GraphRegistry.load(project)
        # After the graphs: the auth file may import the project's modules, now on sys.path.
        app.state.policy = policy or load_policy(project, settings.api_keys)
        app.state.webhooks = _webhooks(project)
        storage = storage_for(settings.resolved_database_url)
        await storage.open()
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        try:
            async with (
                open_saver(settings.resolved_database_url) as saver,
                open_store(settings.resolved_database_url, project.store, project.root) as memory,
            ):
                registry.use_store(memory)
                app.state.store = StoreItems(memory, indexed=project.store.index is not None)
                app.state.threads = Threads(storage, registry, saver)
                app.state.runs = Runs(
                    storage,
                    registry,
                    app.state.threads,
                    saver,
                    _scaling(settings, redis),
                    RunHooks(ended=metrics.observe_run, finished=app.state.webhooks.run_finished),
                )
                app.state.assistants = Assistants(
                    storage, registry, delete_threads=app.state.runs.delete_assistant_threads
                )
                app.state.crons = Crons(
                    storage, registry.graph_ids, app.state.webhooks, _cron_check(app.state.runs)
                )
                scheduler = Scheduler(
                    storage, _cron_runs(app.state.runs), tick_seconds=settings.cron_tick_seconds
                )
                app.state.assistant_runs = AssistantRuns(storage)
                await app.state.assistants.ensure_defaults()
                await app.state.runs.start()
                worker = app.state.runs.worker
                metrics.watch(lambda: SlotUsage(worker.busy, settings.run_concurrency), storage.pool_usage)
                app.state.retention = Retention(
                    storage, saver, project.thread_ttl, on_swept=metrics.observe_sweep
                )
                app.state.retention.start()
                scheduler.start()
                log.info(
                    "server.ready", graphs=list(registry.graph_ids), database=settings.resolved_database_url
                )
                try:
                    async with AsyncExitStack() as protocols:
                        if "mcp" not in project.http.disabled:
                            app.state.mcp = mcp_tools.session_manager(system.VERSION, settings.max_body_bytes)
                            await protocols.enter_async_context(app.state.mcp.run())
                        if "a2a" not in project.http.disabled:
                            app.state.a2a = a2a_agents.dispatcher()
                        if custom is None:
                            yield {}
                        else:  # the project's app starts once graphdock is ready, and stops first
                            async with custom.router.lifespan_context(custom) as state:
                                yield state or {}
                finally:
                    await scheduler.stop()
                    app.state.mcp = app.state.a2a = None
                    await app.state.retention.stop()
                    await app.state.runs.stop(settings.shutdown_grace_seconds)
                    await app.state.webhooks.close()
        finally:
            if redis is not None:
                await redis.aclose()
            await storage.close()

    served = _served(project)
    protocols = [r for group, rs in PROTOCOLS.items() if group not in project.http.disabled for r in rs]
    extra = http_app.custom_routes(custom) if custom is not None else []
    http_app.check_collisions(f"{project.path}: http.app", extra, [*routes(served), *protocols])
    app = Starlette()
    app.router = IndexedRouter(_mounted(project, [*routes(served), *protocols, *extra]), lifespan=lifespan)
    handlers: dict[Any, ExceptionHandler] = {
        **(custom.exception_handlers if custom is not None else {}),
        GraphdockError: _graphdock_error,
        HTTPException: _http_error,
    }
    app.middleware_stack = _stack(project, metrics, custom, extra, app.router, handlers)
    app.state.settings = settings
    app.state.http = project.http
    app.state.metrics = metrics
    # The protocols' servers, set while serving unless http.disable_mcp / http.disable_a2a.
    app.state.mcp = app.state.a2a = None
    documented = tuple(e for e in served if e in API)
    app.state.openapi = build_openapi(documented, title="graphdock", version=system.VERSION)
    if custom is not None:
        paths, schemas = http_app.openapi_paths(custom)
        app.state.openapi["paths"] = {**paths, **app.state.openapi["paths"]}
        app.state.openapi["components"]["schemas"] = {**schemas, **app.state.openapi["components"]["schemas"]}
    return app


def _served(project: ProjectConfig) -> tuple[Endpoint, ...]:
    disabled = project.http.disabled
    return tuple(
        e
        for groups in (DOCUMENTED, UNDOCUMENTED)
        for group, endpoints in groups.items()
        if group not in disabled
        for e in endpoints
    )


def _mounted(project: ProjectConfig, served: list[BaseRoute]) -> list[BaseRoute]:
    """Everything under `http.mount_prefix`; health and metrics also stay at the root, where
    load balancers and scrapers look for them."""
    prefix = project.http.mount_prefix
    if not prefix:
        return served
    served_at_root = () if "meta" in project.http.disabled else ("/ok", "/metrics")
    root = [e for e in DOCUMENTED["meta"] if e.path in served_at_root]
    return [*routes(root), Mount(prefix, app=IndexedRouter(served))]


def _stack(
    project: ProjectConfig,
    metrics: Metrics,
    custom: Starlette | None,
    extra: list[BaseRoute],
    router: ASGIApp,
    handlers: dict[Any, ExceptionHandler],
) -> ASGIApp:
    """Every request's path to its route, in place of Starlette's own stack (see api/front.py):
    one layer, or, when the project's `http.app` brings middleware, Front, then authentication and
    that middleware in `middleware_order`, then the error handlers."""
    http = project.http
    authentication = Authentication(
        open_routes=() if http.enable_custom_route_auth else extra, prefix=http.mount_prefix
    )
    front = functools.partial(
        Front, cors=cors_rules(http.cors), metrics=metrics, logged_headers=http.logging_headers
    )
    by_class, by_status = table = handler_table(handlers)
    theirs = http_app.custom_middleware(custom) if custom is not None else []
    if not theirs:
        return front(router, authentication=authentication, handlers=table)
    app: ASGIApp = ExceptionMiddleware(router, handlers={**by_class, **by_status})
    inner: list[Middleware | Authentication] = (
        [authentication, *theirs] if http.middleware_order == "auth_first" else [*theirs, authentication]
    )
    for layer in reversed(inner):
        if isinstance(layer, Authentication):
            app = layer.around(app)
        else:
            cls, args, kwargs = layer
            app = cls(app, *args, **kwargs)
    return front(app, authentication=None, handlers=None)


def _scaling(settings: Settings, redis: Redis | None) -> Scaling:
    # Replicas of one deployment share a namespace; deployments sharing a Redis do not.
    database = hashlib.sha256(settings.resolved_database_url.encode()).hexdigest()[:12]
    return Scaling(
        concurrency=settings.run_concurrency,
        lease_seconds=settings.run_lease_seconds,
        max_attempts=settings.run_max_attempts,
        replicas=Replicas(redis, f"graphdock:{database}:") if redis is not None else None,
    )


def _webhooks(project: ProjectConfig) -> WebhookSender:
    spec = project.webhooks
    return WebhookSender(
        WebhookPolicy(spec.url),
        fill_header_templates(spec.headers, webhook_environment(project.env)),
        disabled="webhooks" in project.http.disabled,
        allowed_fields=spec.allowed_fields,
    )


def _cron_runs(runs_: Runs) -> StartRun:
    """A cron's firing is an ordinary run: its payload read as a RunCreate body, then created as
    the API creates runs (version resolution, validation, queue, assistant_version recorded)."""

    async def start(thread_id: str | None, payload: Json) -> str:
        request = runs.run_request(RunCreate.model_validate(payload))
        return (await runs_.create(thread_id, request)).run.run_id

    return start


def _cron_check(runs_: Runs) -> CheckRun:
    """A cron's payload is checked as its runs will be created: read as a RunCreate body."""

    async def check(payload: Json, assistant_visible: Visibility | None) -> None:
        request = runs.run_request(RunCreate.model_validate(payload))
        await runs_.check(request, assistant_visible=assistant_visible)

    return check


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` (the reloading dev server builds the app in a child)."""
    return create_app(Settings.build())


async def _graphdock_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GraphdockError)
    headers = exc.headers if isinstance(exc, AuthError) else None
    body: dict[str, object] = {"detail": exc.detail}
    if isinstance(exc, InvalidRequest) and exc.loc is not None:
        body["loc"] = list(exc.loc)
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    # Starlette's own 404 (no such route) and 405 (wrong method), in the same JSON shape.
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

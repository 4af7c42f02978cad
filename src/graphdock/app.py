"""create_app(settings): the one place the server is composed — routes, middleware, errors, lifespan."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import structlog
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graphdock.api import (
    a2a_agents,
    a2a_routes,
    assistant_runs,
    assistants,
    crons,
    mcp_tools,
    runs,
    store,
    system,
    threads,
    transfer,
    ui,
    versions,
)
from graphdock.api.auth import Authentication
from graphdock.api.endpoints import JSONResponse, routes
from graphdock.api.middleware import RequestGuard
from graphdock.api.openapi import build_openapi
from graphdock.auth.loading import load_policy
from graphdock.auth.policy import Policy
from graphdock.domain.assistants import Assistants
from graphdock.domain.crons import CheckRun, Crons
from graphdock.domain.retention import Retention
from graphdock.domain.run_stats import AssistantRuns
from graphdock.domain.runs import Runs, Scaling
from graphdock.domain.scheduler import Scheduler, StartRun
from graphdock.domain.store import StoreItems
from graphdock.domain.threads import Threads
from graphdock.domain.webhook_policy import WebhookPolicy
from graphdock.domain.webhooks import WebhookSender
from graphdock.errors import AuthError, GraphdockError, InvalidRequest
from graphdock.graph_config import ProjectConfig, fill_header_templates, load_project_config
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

API = (
    *system.ENDPOINTS,
    *transfer.ENDPOINTS,
    *assistants.ENDPOINTS,
    *versions.ENDPOINTS,
    *assistant_runs.ENDPOINTS,
    *threads.ENDPOINTS,
    *runs.ENDPOINTS,
    *store.ENDPOINTS,
    *crons.ENDPOINTS,
)


def create_app(
    settings: Settings, graphs: GraphRegistry | None = None, policy: Policy | None = None
) -> Starlette:
    """`graphs` and `policy` may be loaded beforehand (the CLI does, to report errors cleanly)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        project = load_project_config(settings.config)
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
                app.state.runs = Runs(storage, registry, app.state.threads, saver, _scaling(settings, redis))
                app.state.runs.on_finished = app.state.webhooks.run_finished
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
                app.state.retention = Retention(storage, saver, project.thread_ttl)
                app.state.retention.start()
                scheduler.start()
                log.info(
                    "server.ready", graphs=list(registry.graph_ids), database=settings.resolved_database_url
                )
                try:
                    async with AsyncExitStack() as protocols:
                        if not project.http.disable_mcp:
                            app.state.mcp = mcp_tools.session_manager(system.VERSION, settings.max_body_bytes)
                            await protocols.enter_async_context(app.state.mcp.run())
                        if not project.http.disable_a2a:
                            app.state.a2a = a2a_agents.dispatcher()
                        yield
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

    app = Starlette(
        # MCP and A2A are JSON-RPC protocols with their own specifications, served through their
        # SDKs: left out of /openapi.json (which cannot describe them), as their own routes.
        routes=[
            *routes((*API, *system.META_ENDPOINTS, *ui.ENDPOINTS)),
            Route(mcp_tools.PATH, mcp_tools.McpApp()),
            *a2a_routes.ROUTES,
        ],
        middleware=[Middleware(RequestGuard), Middleware(Authentication)],
        exception_handlers={GraphdockError: _graphdock_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    # The protocols' servers, set while serving unless http.disable_mcp / http.disable_a2a.
    app.state.mcp = app.state.a2a = None
    app.state.openapi = build_openapi(API, title="graphdock", version=system.VERSION)
    return app


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
        disabled=project.http.disable_webhooks,
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

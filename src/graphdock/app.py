"""create_app(settings): the one place the server is composed — routes, middleware, errors, lifespan."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from graphdock.api import assistants, runs, system, thread_stream, threads, transfer, ui, versions
from graphdock.api.auth import Authentication
from graphdock.api.endpoints import JSONResponse, routes
from graphdock.api.middleware import RequestGuard
from graphdock.api.openapi import build_openapi
from graphdock.auth.loading import load_policy
from graphdock.auth.policy import Policy
from graphdock.domain.assistants import Assistants
from graphdock.domain.runs import Runs, Scaling
from graphdock.domain.threads import Threads
from graphdock.errors import AuthError, GraphdockError
from graphdock.graph_config import load_project_config
from graphdock.runtime.checkpoints import open_saver
from graphdock.runtime.graphs import GraphRegistry
from graphdock.runtime.replicas import Replicas
from graphdock.settings import Settings
from graphdock.storage import storage_for

log = structlog.get_logger("graphdock")

API = (
    *system.ENDPOINTS,
    *transfer.ENDPOINTS,
    *assistants.ENDPOINTS,
    *versions.ENDPOINTS,
    *threads.ENDPOINTS,
    *runs.ENDPOINTS,
    *thread_stream.ENDPOINTS,
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
        storage = storage_for(settings.resolved_database_url)
        await storage.open()
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        try:
            async with open_saver(settings.resolved_database_url) as saver:
                app.state.threads = Threads(storage, registry, saver)
                app.state.runs = Runs(storage, registry, app.state.threads, saver, _scaling(settings, redis))
                app.state.assistants = Assistants(
                    storage, registry, delete_threads=app.state.runs.delete_assistant_threads
                )
                await app.state.assistants.ensure_defaults()
                await app.state.runs.start()
                log.info(
                    "server.ready", graphs=list(registry.graph_ids), database=settings.resolved_database_url
                )
                try:
                    yield
                finally:
                    await app.state.runs.stop(settings.shutdown_grace_seconds)
        finally:
            if redis is not None:
                await redis.aclose()
            await storage.close()

    app = Starlette(
        routes=routes((*API, *system.META_ENDPOINTS, *ui.ENDPOINTS)),
        middleware=[Middleware(RequestGuard), Middleware(Authentication)],
        exception_handlers={GraphdockError: _graphdock_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.settings = settings
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


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` (the reloading dev server builds the app in a child)."""
    return create_app(Settings.build())


async def _graphdock_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GraphdockError)
    headers = exc.headers if isinstance(exc, AuthError) else None
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    # Starlette's own 404 (no such route) and 405 (wrong method), in the same JSON shape.
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

"""A project's own Starlette app for `http.app`: routes, a middleware, a lifespan, a failing route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EVENTS: list[str] = []


class Stamp:
    """Marks every response it sees, and records whether graphdock had authenticated the request
    before it ran (`graphdock.user` in the scope), so the tests can see middleware_order."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen = "after-auth" if scope.get("graphdock.user") is not None else "before-auth"

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"x-custom-middleware", seen.encode())]
            await send(message)

        await self.app(scope, receive, stamped)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, str]]:
    EVENTS.append("started")
    yield {"greeting": "hello from the custom lifespan"}
    EVENTS.append("stopped")


async def hello(request: Request) -> Response:
    return JSONResponse({"hello": request.path_params.get("name", "world"), "state": request.state.greeting})


async def boom(request: Request) -> Response:
    raise RuntimeError("a bug in the project's own route")


async def collide(request: Request) -> Response:
    return JSONResponse({"mine": True})


app = Starlette(
    routes=[
        Route("/custom/hello", hello),
        Route("/custom/hello/{name}", hello, methods=["GET", "POST"]),
        Route("/custom/boom", boom),
    ],
    middleware=[Middleware(Stamp)],
    lifespan=lifespan,
)

# Shadows GET /threads/{thread_id}: refused at start-up.
colliding = Starlette(routes=[Route("/custom/ok", collide), Route("/threads/mine", collide)])
# Claims "/", graphdock's web UI page: allowed once http.disable_ui is set.
rooted = Starlette(routes=[Route("/", collide)])

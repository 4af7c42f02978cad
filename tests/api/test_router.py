"""IndexedRouter answers every path exactly as Starlette's Router over the same routes would."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from graphdock.api.router import IndexedRouter


def _answer(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(f"{name} {sorted(request.path_params.items())}")

    return endpoint


async def _socket(websocket: WebSocket) -> None:
    await websocket.close()


def _routes() -> list[BaseRoute]:
    inner = Router([Route("/", _answer("ui-index")), Route("/{file}", _answer("ui-file"))])
    anything = Router(
        [Route("/custom/{x}", _answer("root-mount")), Route("/threads/special", _answer("shadow"))]
    )
    return [
        Route("/", _answer("root")),
        Route("/threads", _answer("threads"), methods=["POST"]),
        Route("/threads/search", _answer("search"), methods=["POST"]),
        Route("/threads/{thread_id}", _answer("thread"), methods=["GET", "DELETE"]),
        Route("/{anything}/state", _answer("templated-first")),
        Route("/x/state", _answer("shadowed-literal")),  # "/{anything}/state" takes it first
        WebSocketRoute("/threads/socket", _socket),
        Route("/files/{rest:path}", _answer("files")),
        Route("/runs/wait", _answer("wait"), methods=["POST"]),
        Mount("/ui", app=inner),
        Mount("", app=anything),  # matches every path: must keep its place in the order
        Route("/late/{x}", _answer("after-root-mount")),
    ]


PATHS = [
    "/",
    "/threads",
    "/threads/",
    "/threads/search",
    "/threads/abc",
    "/threads/abc/state",
    "/threads/special",
    "/runs/wait",
    "/runs/wait/",
    "/assistants/x/state",
    "/ui",
    "/ui/",
    "/ui/app.js",
    "/custom/1",
    "/late/1",
    "/nowhere",
    "//threads",
    "/x/state",
    "/threads/socket",
    "/files/a/b/c",
    "/files/",
    "/" + "/".join("abcdefghijklmnopqrstu"),
    "/%74hreads",
]


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_every_path_gets_the_answer_starlettes_router_gives(method: str) -> None:
    plain = TestClient(Starlette(routes=_routes()), follow_redirects=False)
    indexed_app = Starlette()
    indexed_app.router = IndexedRouter(_routes())
    indexed = TestClient(indexed_app, follow_redirects=False)
    for path in PATHS:
        want, got = plain.request(method, path), indexed.request(method, path)
        assert (got.status_code, got.text, got.headers.get("location"), got.headers.get("allow")) == (
            want.status_code,
            want.text,
            want.headers.get("location"),
            want.headers.get("allow"),
        ), f"{method} {path}"


def test_a_path_is_tried_only_against_the_routes_its_shape_can_match() -> None:
    router = IndexedRouter(_routes())
    # "threads" with two segments: its routes of that shape plus the ones that may match anything,
    # in their original order; "/threads" (one segment) and "/x/state" are not tried.
    tried = [getattr(r, "path", None) for r in router._bucket("threads", 2)]
    # "/threads/search" is not either: as a literal path it is looked up in a dict instead.
    assert tried == [
        "/threads/{thread_id}",
        "/{anything}/state",
        "/threads/socket",
        "",
    ]
    # Literal paths go straight to their route, unless an earlier route could take them.
    assert set(router._literal) == {"/", "/threads", "/threads/search", "/runs/wait"}
    # A made-up first segment shares one bucket (the key space stays bounded).
    assert router._bucket("made-up-1", 2) is router._bucket("made-up-2", 2)

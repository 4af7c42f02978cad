"""The route table: each endpoint declared once, with what OpenAPI needs to describe it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from graphdock.errors import InvalidRequest

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class QueryParam:
    name: str
    schema: dict[str, Any]
    description: str
    required: bool = False

    @property
    def repeatable(self) -> bool:
        return self.schema.get("type") == "array"


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    # A pydantic model, `list[Model]`, a plain JSON schema dict, or None for an empty body.
    response: Any = None
    status: int = 200
    # The success body's media type: application/json, or text/event-stream for streams.
    media_type: str = "application/json"
    # Other successes than `status`, each (status, response as above): cancel?wait=true's 200.
    also: tuple[tuple[int, Any], ...] = ()
    errors: tuple[int, ...] = (404, 422)
    query: tuple[QueryParam, ...] = ()
    # Request headers the handler reads (besides If-Match), described as query parameters are.
    headers: tuple[QueryParam, ...] = ()
    response_headers: tuple[str, ...] = ()
    # Honours If-Match (the ETag of GET /assistants/{id}): 412 when the active version moved on.
    if_match: bool = False
    # OpenAPI's operationId when one handler serves several paths (default: the handler's name).
    operation_id: str | None = None
    # Served without credentials when auth is on (health and discovery; see api/auth.py).
    public: bool = False

    @property
    def error_codes(self) -> tuple[int, ...]:
        # Anything that reads a body can answer 413 (too large) and 422 (not the JSON it needs).
        extra = (413, 422) if self.body is not None else ()
        # With auth on, anything else answers 401 without credentials and 403 when a handler refuses.
        guarded = () if self.public else (401, 403)
        return tuple(sorted({*self.errors, *extra, *guarded, *((412,) if self.if_match else ())}))


def routes(endpoints: Sequence[Endpoint]) -> list[Route]:
    """One route per path, dispatching on the method, so a 405 lists every allowed method.

    Fixed segments are tried before templated ones, and a path claims its requests whatever their
    method: otherwise GET /assistants/search (a POST-only path) would fall through to
    GET /assistants/{assistant_id} and answer 422 for a bad UUID instead of 405.
    """
    by_path: dict[str, dict[str, Endpoint]] = defaultdict(dict)
    for e in endpoints:
        by_path[e.path][e.method] = e
    ordered = sorted(by_path, key=lambda path: [part.startswith("{") for part in path.split("/")])
    return [_PathRoute(path, _dispatcher(by_path[path]), methods=list(by_path[path])) for path in ordered]


class _PathRoute(Route):
    """A route whose path match is final: a wrong method gets Route's own 405 with Allow.

    Its handler's exceptions are left to the error handlers api/front.py runs around the router
    (Starlette's Route wraps every endpoint in a second copy of them)."""

    def __init__(self, path: str, dispatch: Handler, methods: list[str]) -> None:
        super().__init__(path, dispatch, methods=methods)

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = await dispatch(Request(scope, receive, send))
            await response(scope, receive, send)

        self.app = app

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        return (Match.FULL if match is Match.PARTIAL else match), child


def _dispatcher(by_method: dict[str, Endpoint]) -> Handler:
    async def dispatch(request: Request) -> Response:
        # HEAD is answered by the GET handler (Starlette drops the body).
        endpoint = by_method[request.method if request.method != "HEAD" else "GET"]
        for param in endpoint.query:
            if not param.repeatable and len(request.query_params.getlist(param.name)) > 1:
                raise InvalidRequest(f"{param.name}: given more than once; expected one value")
        return await endpoint.handler(request)

    return dispatch


class JSONResponse(Response):
    """orjson-rendered; datetimes and UUIDs never reach here, storage hands out strings."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def pagination_headers(offset: int, returned: int, more: bool) -> dict[str, str]:
    """X-Pagination-Next is what the SDK's response_format="object" reads; Total is exact only on
    the last page (as on the official server), otherwise a lower bound."""
    end = offset + returned
    if more:
        return {"X-Pagination-Next": str(end), "X-Pagination-Total": str(end + 1)}
    return {"X-Pagination-Total": str(end)}

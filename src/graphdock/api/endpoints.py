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
from starlette.routing import Route

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class QueryParam:
    name: str
    schema: dict[str, Any]
    description: str
    required: bool = False


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
    errors: tuple[int, ...] = (404, 422)
    query: tuple[QueryParam, ...] = ()
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
    """One Route per path, dispatching on the method, so a 405 lists every allowed method."""
    by_path: dict[str, dict[str, Handler]] = defaultdict(dict)
    for e in endpoints:
        by_path[e.path][e.method] = e.handler

    def dispatcher(handlers: dict[str, Handler]) -> Handler:
        async def dispatch(request: Request) -> Response:
            # HEAD is answered by the GET handler (Starlette drops the body).
            return await handlers[request.method if request.method != "HEAD" else "GET"](request)

        return dispatch

    return [Route(path, dispatcher(handlers), methods=list(handlers)) for path, handlers in by_path.items()]


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

"""The route table: each endpoint declared once, with what OpenAPI needs to describe it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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

    def route(self) -> Route:
        return Route(self.path, self.handler, methods=[self.method])


class JSONResponse(Response):
    """orjson-rendered; datetimes and UUIDs never reach here, storage hands out strings."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)

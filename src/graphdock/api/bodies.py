"""Reading requests: JSON bodies (any content type) into wire models, query flags, path ids."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from graphdock.errors import InvalidRequest, PayloadTooLarge

Model = TypeVar("Model", bound=BaseModel)

# Deeper documents are refused rather than stored: the official server stores 254-deep
# metadata and then fails every search page that contains it. 64 levels is far beyond any
# real configuration and well inside every JSON library's and database's limits.
MAX_DEPTH = 64


async def read_body(request: Request, model: type[Model]) -> Model:
    """Parse the body as JSON whatever the Content-Type says (curl's default is form-encoded)."""
    limit: int = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body exceeds the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Request body exceeds the {limit}-byte limit")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise InvalidRequest("Request body is empty; send a JSON object (at least {})")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"Request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidRequest(f"Request body must be a JSON object, got {type(data).__name__}")
    _check_storable(data, "body", 0)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """The first problem, as 'field.path: message' (the SDKs show `detail` verbatim)."""
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in error["loc"]) or "body"
    more = exc.error_count() - 1
    return f"{where}: {error['msg']}" + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")


def _check_storable(value: Any, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InvalidRequest(f"{path}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        # PostgreSQL cannot store NUL in text or jsonb; refusing it on every backend keeps
        # behaviour identical and guarantees what is stored can be read back.
        if "\x00" in value:
            raise InvalidRequest(f"{path}: strings may not contain the NUL character (\\u0000)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key, path, depth)
            _check_storable(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_storable(item, f"{path}[{i}]", depth + 1)


def path_uuid(request: Request, name: str = "assistant_id") -> str:
    raw: str = request.path_params[name]
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise InvalidRequest(f"{name}: {raw!r} is not a valid UUID") from None


_TRUE = {"true", "True", "1"}
_FALSE = {"false", "False", "0"}


def query_flag(request: Request, name: str, default: bool = False) -> bool:
    """Booleans as the SDKs send them: true/false, True/False (Python's str(bool)), 1/0."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise InvalidRequest(f"{name}: expected true or false, got {raw!r}")

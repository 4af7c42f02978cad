"""Reading requests: JSON bodies (any content type) into wire models, query flags, path ids."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, RootModel, ValidationError
from starlette.requests import HTTPConnection, Request

from graphdock.errors import InvalidRequest, PayloadTooLarge

Model = TypeVar("Model", bound=BaseModel)

# Deeper documents are refused rather than stored: the official server stores 254-deep
# metadata and then fails every search page that contains it. 64 levels is far beyond any
# real configuration and well inside every JSON library's and database's limits.
MAX_DEPTH = 64


async def read_bytes(request: Request) -> bytes:
    """The body, refused with 413 beyond --max-body-bytes before more of it is read."""
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
    return b"".join(chunks)


async def read_body(request: Request, model: type[Model]) -> Model:
    """Parse the body as JSON whatever the Content-Type says (curl's default is form-encoded)."""
    raw = await read_bytes(request)
    if not raw.strip():
        raise InvalidRequest("Request body is empty; send a JSON object (at least {})")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"Request body is not valid JSON: {exc}") from None
    # A RootModel over a list (POST /runs/batch) takes an array; every other body is an object.
    wanted = list if isinstance(model, type) and issubclass(model, RootModel) else dict
    if not isinstance(data, wanted):
        expected = "an array" if wanted is list else "a JSON object"
        raise InvalidRequest(f"Request body must be {expected}, got {type(data).__name__}")
    _check_storable(data, "", 0, raw)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, data) from None


def parse_value(data: Any, model: type[Model]) -> Model:
    """A JSON value that arrived inside another protocol's message (MCP, A2A) into a wire model,
    with the same refusals as a request body: what is stored must read back exactly."""
    try:
        raw = orjson.dumps(data)
    except orjson.JSONEncodeError as exc:  # integers beyond 64 bits, above all
        raise InvalidRequest(f"Cannot store this value: {exc}") from None
    _check_storable(data, "", 0, raw)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, data) from None


def invalid(exc: ValidationError, data: Any) -> InvalidRequest:
    """The first problem, as 'field.path: message' (the SDKs show `detail` verbatim), with the
    same path as data in `loc`."""
    error = exc.errors(include_url=False)[0]
    loc = field_path(error["loc"], data)
    where = ".".join(str(p) for p in loc) or "body"
    more = exc.error_count() - 1
    detail = f"{where}: {error['msg']}" + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
    return InvalidRequest(detail, loc=loc)


def field_path(loc: Sequence[int | str], data: Any) -> tuple[int | str, ...]:
    """Pydantic's error location without the names it adds for a union's members
    (`config.AssistantConfig.configurable`, `name.str`): walking the input, a step that is not a
    key of the object it is on (unless it is the last, a missing field) or an index of the list it
    is on, or that goes below a plain value, is such a tag and is dropped."""
    path: list[int | str] = []
    current = data
    for n, step in enumerate(loc):
        if isinstance(current, dict) and isinstance(step, str) and (step in current or n == len(loc) - 1):
            current = current.get(step)
        elif isinstance(current, list) and isinstance(step, int) and 0 <= step < len(current):
            current = current[step]
        else:
            continue
        path.append(step)
    return tuple(path)


def _check_storable(value: Any, path: str, depth: int, raw: bytes) -> None:
    """Refuse what could not be stored and read back exactly, on any backend."""
    if depth > MAX_DEPTH:
        raise InvalidRequest(f"{path or 'body'}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, float) and value.is_integer() and abs(value) >= 2**63:
        _check_integer_literals(raw, path)
    elif isinstance(value, str):
        # PostgreSQL cannot store NUL in text or jsonb; refusing it on every backend keeps
        # behaviour identical and guarantees what is stored can be read back.
        if "\x00" in value:
            raise InvalidRequest(f"{path}: strings may not contain the NUL character (\\u0000)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key, path, depth, raw)
            _check_storable(item, f"{path}.{key}" if path else key, depth + 1, raw)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_storable(item, f"{path}[{i}]", depth + 1, raw)


def _check_integer_literals(raw: bytes, path: str) -> None:
    # orjson reads an integer literal beyond 64 bits as a float, which would be stored rounded
    # (18446744073709551616 → 1.8446744073709552e+19). Only on this rare path is the body read
    # again, by the standard parser, to tell such a literal from an honest large float.
    def parse_int(literal: str) -> int:
        number = int(literal)
        if not -(2**63) <= number < 2**64:
            raise InvalidRequest(f"{path}: integers must fit in 64 bits; send {literal} as a string")
        return number

    json.loads(raw, parse_int=parse_int)


# The form the SDKs send and storage keeps: taken as it is, without a parse and a format back.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def path_uuid(request: HTTPConnection, name: str = "assistant_id") -> str:
    """The path's UUID in canonical form (upper case, braces, no dashes are accepted as uuid.UUID does)."""
    raw: str = request.path_params[name]
    if _CANONICAL_UUID.fullmatch(raw):
        return raw
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise InvalidRequest(f"{name}: {raw!r} is not a valid UUID") from None


_TRUE = {"true", "True", "1"}
_FALSE = {"false", "False", "0"}


def query_flag(request: Request, name: str, default: bool = False) -> bool:
    """Booleans as the SDKs send them: true/false, True/False (Python's str(bool)), 1/0. An empty
    value (`?flag=`, or `?flag` alone) is refused: it reads as "on" to some and "unset" to others."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise InvalidRequest(f"{name}: expected true or false, got {raw!r}")


def if_match(request: Request) -> frozenset[int] | None:
    """The active versions an If-Match header allows; None when absent or "*".

    ETags are the version in quotes ("3"). If-Match compares strongly (RFC 9110), so weak tags
    (W/"3") and tags that are not ours never match: the write then answers 412, never proceeds.
    """
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    versions = set()
    for tag in raw.split(","):
        inner = tag.strip().removeprefix('"').removesuffix('"')
        if tag.strip() == f'"{inner}"' and inner.isascii() and inner.isdigit() and int(inner) < 2**63:
            versions.add(int(inner))
    return frozenset(versions)


def etag(version: int) -> dict[str, str]:
    """The ETag header naming an assistant's active version."""
    return {"ETag": f'"{version}"'}


def int_param(raw: str | None, name: str) -> int:
    """A version number from the path or the query string."""
    if raw is None or not (raw.isascii() and raw.lstrip("-").isdigit()) or len(raw) > 20:
        raise InvalidRequest(f"{name}: expected an integer, got {raw!r}")
    return int(raw)


def int_query(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high]; absent: the default."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) < 20 and low <= int(raw) <= high):
        raise InvalidRequest(f"{name}: expected an integer from {low} to {high}, got {raw!r}")
    return int(raw)

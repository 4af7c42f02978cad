"""The OpenAPI document, generated from the route table and the same models that parse bodies."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from graphdock.api.endpoints import Endpoint, QueryParam
from graphdock.schemas.assistants import ErrorOut

_REF = "#/components/schemas/{model}"
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": 'The ETag of GET /assistants/{assistant_id} ("<version>"); 412 if another version is active now.',
}
_REASONS = {
    400: "Contradictory input",
    401: "Not authenticated (auth is on and the request has no valid key or token)",
    403: "Forbidden by an auth handler",
    404: "Not found",
    409: "Conflict",
    412: "Precondition failed",
    413: "Body too large",
    422: "Invalid input",
    503: "Database busy",
}


def build_openapi(endpoints: typing.Sequence[Endpoint], *, title: str, version: str) -> dict[str, Any]:
    models = sorted({m for e in endpoints for m in _models(e)} | {ErrorOut}, key=lambda m: m.__name__)
    _, components = models_json_schema([(m, "validation") for m in models], ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": components.get("$defs", {})},
    }


def _operation(e: Endpoint) -> dict[str, Any]:
    params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _path_schema(name, e.path),
        }
        for name in _path_params(e.path)
    ] + [{"name": q.name, "in": "query", **_described(q)} for q in e.query]
    if e.if_match:
        params.append(_IF_MATCH)
    params += [{"name": h.name, "in": "header", **_described(h)} for h in e.headers]
    error = {"content": {"application/json": {"schema": {"$ref": _REF.format(model="ErrorOut")}}}}
    responses: dict[str, Any] = {
        str(code): {"description": _REASONS[code], **error} for code in e.error_codes
    }
    for status, response in ((e.status, e.response), *e.also):
        ok: dict[str, Any] = {"description": "No content" if response is None else "OK"}
        if response is not None:
            ok["content"] = {e.media_type: {"schema": _schema(response)}}
        if e.response_headers:
            ok["headers"] = {h: {"schema": {"type": "string"}} for h in e.response_headers}
        responses[str(status)] = ok
    op: dict[str, Any] = {
        "summary": e.summary,
        "operationId": e.operation_id or e.handler.__name__ + _suffix(e),
        "parameters": params,
        "responses": responses,
    }
    if e.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _schema(e.body)}}}
    return op


def _described(param: QueryParam) -> dict[str, Any]:
    described = {"required": param.required, "schema": param.schema, "description": param.description}
    # A repeatable parameter is sent as ?name=a&name=b, as the SDKs do.
    return {**described, "style": "form", "explode": True} if param.repeatable else described


def _suffix(e: Endpoint) -> str:
    return "_ns" if "{namespace}" in e.path else ""


_UUIDS = {"assistant_id", "thread_id", "run_id"}


def _path_schema(name: str, path: str) -> dict[str, Any]:
    if name == "version":
        return {"type": "integer", "minimum": 1}
    if name in _UUIDS and not path.endswith("/graph"):  # /graph also takes a graph id
        return {"type": "string", "format": "uuid"}
    return {"type": "string"}


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _models(e: Endpoint) -> list[type[BaseModel]]:
    found = [e.body] if e.body is not None else []
    response = e.response
    if typing.get_origin(response) is list:
        response = typing.get_args(response)[0]
    if isinstance(response, type) and issubclass(response, BaseModel):
        found.append(response)
    return found


def _schema(spec: Any) -> dict[str, Any]:
    if typing.get_origin(spec) is list:
        return {"type": "array", "items": _schema(typing.get_args(spec)[0])}
    if isinstance(spec, type) and issubclass(spec, BaseModel):
        return {"$ref": _REF.format(model=spec.__name__)}
    schema: dict[str, Any] = spec
    return schema

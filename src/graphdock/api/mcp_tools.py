"""Assistants as MCP tools: /mcp, served by the official `mcp` SDK's Streamable HTTP transport.

Stateless and JSON-only (no session, no SSE), as the official server's /mcp: any replica answers
any request. The route sits behind graphdock's Authentication middleware like every other, and
the handlers authorize as the REST routes do: `tools/list` shows the assistants `assistants.search`
lets the caller see; `tools/call` runs the assistant's active version as a stateless run through
the same path as `POST /runs/wait` (so `threads.create_run` and `assistants.read` apply).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Awaitable
from typing import Any, TypeVar

import mcp_types as types
import orjson
import structlog
from mcp.server.lowlevel.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from graphdock.api.assistants import service as assistants
from graphdock.api.auth import authorize
from graphdock.api.bodies import parse_value
from graphdock.api.endpoints import JSONResponse
from graphdock.api.runs import service as runs
from graphdock.api.runs import start_run
from graphdock.errors import GraphdockError
from graphdock.schemas.threads import RunCreate
from graphdock.storage.records import Assistant, AssistantFilter, Page

log = structlog.get_logger("graphdock.mcp")
T = TypeVar("T")

PATH = "/mcp"
# tools/list pages (the cursor is an offset into the caller's tools, oldest assistant first).
PAGE_SIZE = 100
_SEARCH_PAGE = 1000
# MCP tool names: 1-128 of these characters (the 2025-11-25 specification).
_MAX_NAME = 128
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_.-]")
# LangChain's message classes as they appear in a graph's input schema ($defs): a chat graph's
# `messages` list. An MCP client's model fills a tool's arguments, so that list is offered as one
# string (LangGraph's add_messages turns a string into a human message).
_MESSAGE_TYPES = frozenset(
    f"{kind}{chunk}"
    for kind in ("AI", "Human", "Chat", "System", "Function", "Tool")
    for chunk in ("Message", "MessageChunk")
)
_ANNOTATIONS = types.ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)


def session_manager(version: str, max_body_bytes: int) -> StreamableHTTPSessionManager:
    server: Server[Any] = Server(
        "graphdock", version=version, on_list_tools=_list_tools, on_call_tool=_call_tool
    )
    return StreamableHTTPSessionManager(
        app=server, stateless=True, json_response=True, max_request_body_size=max_body_bytes
    )


class McpApp:
    """The /mcp route's ASGI app; 404 as for any unknown path when `http.disable_mcp` is set."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        manager: StreamableHTTPSessionManager | None = scope["app"].state.mcp
        if manager is None:
            await JSONResponse({"detail": "Not Found"}, status_code=404)(scope, receive, send)
            return
        if scope["method"] != "POST":
            # Stateless: no session to delete, and nothing the server could ever send on a GET
            # stream, which would otherwise stay open (and hold a connection) for good.
            response = JSONResponse(
                {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": "POST"}
            )
            await response(scope, receive, send)
            return
        await manager.handle_request(scope, receive, send)


async def _list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    request = _request(ctx)
    cursor = params.cursor if params is not None else None
    offset = int(cursor) if cursor and cursor.isascii() and cursor.isdigit() else 0
    named = await _guarded(_tools_of(request))
    tools = []
    for name, assistant in named[offset : offset + PAGE_SIZE]:
        tool = await _tool(request, name, assistant)
        if tool is not None:
            tools.append(tool)
    more = offset + PAGE_SIZE < len(named)
    return types.ListToolsResult(tools=tools, next_cursor=str(offset + PAGE_SIZE) if more else None)


async def _call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    request = _request(ctx)
    chosen = dict(await _guarded(_tools_of(request))).get(params.name)
    if chosen is None:
        raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {params.name}")
    arguments: Any = params.arguments or {}
    try:
        if _wraps_input(await _schemas(request, chosen)):
            arguments = arguments.get("input")
        body = parse_value({"assistant_id": chosen.assistant_id, "input": arguments}, RunCreate)
        started = await start_run(request, None, body)
        result = await runs(request).result(started.run, started.stream)
    except GraphdockError as exc:  # refused before it ran: bad input, forbidden, assistant gone
        return _failed(exc.detail)
    except Exception:
        log.exception("mcp.call_failed", tool=params.name)
        raise MCPError(types.INTERNAL_ERROR, "Internal Server Error") from None
    if isinstance(error := result.get("__error__"), dict):
        return _failed(f"{error.get('error')}: {error.get('message')}")
    # Round-tripped through orjson: what the run returned may hold non-JSON types orjson knows.
    output = orjson.loads(orjson.dumps(result))
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=orjson.dumps(output).decode())],
        structured_content=output,
    )


def _failed(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


def _request(ctx: Any) -> Request:
    request = ctx.request
    assert isinstance(request, Request), "graphdock serves MCP over HTTP only"
    return request


async def _guarded(work: Awaitable[T]) -> T:
    """A refusal (auth, a busy database) becomes a JSON-RPC error with its detail; anything else
    an opaque internal error, as a 500 would be."""
    try:
        return await work
    except GraphdockError as exc:
        raise MCPError(types.INVALID_REQUEST, exc.detail) from None
    except MCPError:
        raise
    except Exception:
        log.exception("mcp.failed")
        raise MCPError(types.INTERNAL_ERROR, "Internal Server Error") from None


async def _tools_of(request: Request) -> list[tuple[str, Assistant]]:
    """Every assistant the caller may see, oldest first, each with its unique tool name."""
    value: dict[str, Any] = {"graph_id": None, "metadata": {}, "limit": _SEARCH_PAGE, "offset": 0}
    where = AssistantFilter(visible=await authorize(request, "assistants", "search", value))
    found: list[Assistant] = []
    while True:
        page, more = await assistants(request).search(
            where, Page(limit=_SEARCH_PAGE, offset=len(found)), "created_at", False
        )
        found.extend(page)
        if not more or not page:
            return tool_names(found)


def tool_names(found: list[Assistant]) -> list[tuple[str, Assistant]]:
    """Names from assistant names, made valid and unique: the oldest assistant keeps the plain name
    (so a tool's name does not change when a namesake is created), later ones get their id's
    first eight hex digits appended, and if that is taken too, the whole id."""
    taken: set[str] = set()
    named = []
    for assistant in found:
        base = _NOT_IN_NAME.sub("", re.sub(r"\s+", "_", assistant.snapshot.name.strip())) or "assistant"
        hexid = assistant.assistant_id.replace("-", "")
        for name in (base, f"{base[:119]}_{hexid[:8]}", f"{base[:95]}_{hexid}"):
            name = name[:_MAX_NAME]
            if name not in taken:
                taken.add(name)
                named.append((name, assistant))
                break
    return named


async def _tool(request: Request, name: str, assistant: Assistant) -> types.Tool | None:
    snapshot = assistant.snapshot
    try:
        schema = input_schema(await _schemas(request, assistant))
    except GraphdockError as exc:  # its graph is no longer served here, say
        log.warning("mcp.tool_skipped", assistant_id=assistant.assistant_id, reason=exc.detail)
        return None
    return types.Tool(
        name=name,
        title=snapshot.name,
        description=snapshot.description
        or f"Runs the assistant '{snapshot.name}' (graph {snapshot.graph_id}) and returns its output",
        input_schema=schema,
        annotations=_ANNOTATIONS,
    )


async def _schemas(request: Request, assistant: Assistant) -> dict[str, Any] | None:
    schemas = await assistants(request).schemas(assistant.assistant_id)
    schema: dict[str, Any] | None = schemas.get("input_schema")
    return schema


def _wraps_input(schema: dict[str, Any] | None) -> bool:
    """A tool's arguments are an object; a graph whose input is something else (a functional
    graph's string, say) takes it as the tool's one argument, `input`."""
    return bool(schema) and schema is not None and schema.get("type", "object") != "object"


def input_schema(schema: dict[str, Any] | None) -> dict[str, Any]:
    """A graph's input schema as a tool's: an object, message lists as a string, and only the
    $defs still referenced."""
    if _wraps_input(schema):
        assert schema is not None
        defs = schema.get("$defs")
        inner = {k: v for k, v in schema.items() if k != "$defs"}
        schema = {"type": "object", "properties": {"input": inner}, "required": ["input"]}
        if defs:
            schema["$defs"] = defs
        return schema
    schema = copy.deepcopy(schema) if schema else {"type": "object", "properties": {}}
    schema.setdefault("type", "object")
    properties = schema.get("properties") or {}
    for key, prop in properties.items():
        if _is_message_list(prop):
            properties[key] = {
                "type": "string",
                "title": prop.get("title", key),
                "description": "The user message to send to the agent.",
            }
    if "$defs" in schema:
        schema["$defs"] = _referenced(schema)
        if not schema["$defs"]:
            del schema["$defs"]
    return schema


def _is_message_list(prop: Any) -> bool:
    if not isinstance(prop, dict) or prop.get("type") != "array" or not isinstance(prop.get("items"), dict):
        return False
    options = prop["items"].get("oneOf") or prop["items"].get("anyOf") or []
    refs = {str(o.get("$ref", "")).removeprefix("#/$defs/") for o in options if isinstance(o, dict)}
    return bool(refs & _MESSAGE_TYPES)


def _referenced(schema: dict[str, Any]) -> dict[str, Any]:
    """The $defs reachable from the schema's body, through other $defs too."""
    defs: dict[str, Any] = schema["$defs"]
    keep: dict[str, Any] = {}
    pending = [{k: v for k, v in schema.items() if k != "$defs"}]
    while pending:
        text = orjson.dumps(pending.pop()).decode()
        for name in re.findall(r'"#/\$defs/([^"]+)"', text):
            if name in defs and name not in keep:
                keep[name] = defs[name]
                pending.append(defs[name])
    return keep

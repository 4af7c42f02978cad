"""Assistants as MCP tools at /mcp, driven by the official `mcp` Python client (Streamable HTTP).

The client lists the tools (one per assistant the caller may see, a valid and unique name, the
graph's input schema), calls them (a stateless run of the active version), and sees a graph's
exception as a tool error. Auth applies as on every route: built-in API keys (401 without one) and
custom auth (each user sees and calls only their own assistants). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import mcp_types
import pytest
from langgraph_sdk import get_client
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from graphdock.api.mcp_tools import tool_names
from graphdock.storage.records import Assistant, Snapshot
from tests.api.test_auth import AUTH_PROJECT
from tests.conftest import TESTS, RunningServer

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


@asynccontextmanager
async def mcp_session(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[ClientSession]:
    async with (
        httpx2.AsyncClient(headers=headers or {}, timeout=60) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def all_tools(session: ClientSession) -> list[mcp_types.Tool]:
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    while True:
        page = await session.list_tools(params=mcp_types.PaginatedRequestParams(cursor=cursor))
        tools.extend(page.tools)
        if not page.next_cursor:
            return tools
        cursor = page.next_cursor


async def test_every_graphs_default_assistant_is_a_tool_with_its_input_schema(server: RunningServer) -> None:
    async with mcp_session(server.url) as session:
        tools = {t.name: t for t in await all_tools(session)}
    for graph in ("echo", "chat", "failing", "agent"):
        assert graph in tools, sorted(tools)
    echo = tools["echo"]
    assert echo.title == "echo"
    assert echo.input_schema["type"] == "object"
    assert set(echo.input_schema["properties"]) == {"text", "steps", "delay"}
    # langgraph.json's description is the default assistant's, and so the tool's.
    assert tools["agent"].description == (
        "Shaped like examples/agent: pydantic context with model_name and system_prompt."
    )
    # A chat graph's message list is offered as one string, with no LangChain message $defs left.
    chat = tools["chat"].input_schema
    assert chat["properties"]["messages"]["type"] == "string"
    assert "$defs" not in chat
    assert all(_NAME.match(name) for name in tools)


async def test_calling_a_tool_runs_the_assistants_active_version_and_returns_its_output(
    server: RunningServer, tag: dict[str, str]
) -> None:
    sdk = get_client(url=server.url)
    name = f"Observer {tag['test']}"
    made = await sdk.assistants.create("observer", context={"model_name": "openai"}, name=name, metadata=tag)
    await sdk.assistants.update(made["assistant_id"], context={"model_name": "anthropic"})
    await sdk.assistants.set_latest(made["assistant_id"], 1)  # v1 (openai) active again
    async with mcp_session(server.url) as session:
        tool = next(t for t in await all_tools(session) if t.title == name)
        assert tool.name == f"Observer_{tag['test']}"
        result = await session.call_tool(tool.name, {"text": "hi"})
    assert not result.is_error, result
    assert result.structured_content is not None
    assert result.structured_content["seen"]["context_model"] == "openai"
    assert result.structured_content["seen"]["assistant_version"] == 1
    text = result.content[0]
    assert isinstance(text, mcp_types.TextContent)
    assert json.loads(text.text) == result.structured_content
    # Stateless: the run's temporary thread is gone.
    assert await sdk.threads.search(metadata={"assistant_id": made["assistant_id"]}) == []
    await sdk.aclose()


async def test_a_graph_whose_input_is_not_an_object_takes_it_as_the_argument_input(
    server: RunningServer,
) -> None:
    async with mcp_session(server.url) as session:
        tool = next(t for t in await all_tools(session) if t.name == "functional")
        assert tool.input_schema["type"] == "object"
        assert tool.input_schema["required"] == ["input"]
        assert tool.input_schema["properties"]["input"]["type"] == "string"
        result = await session.call_tool("functional", {"input": "abc"})
    assert not result.is_error, result
    assert result.content[0].text  # type: ignore[union-attr]


async def test_a_chat_tool_takes_the_message_as_a_string(server: RunningServer) -> None:
    async with mcp_session(server.url) as session:
        result = await session.call_tool("chat", {"messages": "hello?"})
    assert not result.is_error, result
    assert result.structured_content is not None
    messages = result.structured_content["messages"]
    assert [(m["type"], m["content"]) for m in messages] == [
        ("human", "hello?"),
        ("ai", "hello there friend"),
    ]


async def test_an_exception_in_the_graph_is_a_tool_error_carrying_its_message(server: RunningServer) -> None:
    async with mcp_session(server.url) as session:
        result = await session.call_tool("failing", {"text": "this"})
    assert result.is_error
    text = result.content[0]
    assert isinstance(text, mcp_types.TextContent)
    assert text.text == "ValueError: cannot handle 'this'"


async def test_input_the_server_refuses_is_a_tool_error_and_an_unknown_tool_a_protocol_error(
    server: RunningServer,
) -> None:
    async with mcp_session(server.url) as session:
        refused = await session.call_tool("echo", {"text": "nul \x00 here"})
        assert refused.is_error
        assert "NUL" in refused.content[0].text  # type: ignore[union-attr]
        with pytest.raises(MCPError, match="Unknown tool: no_such_tool"):
            await session.call_tool("no_such_tool", {})


async def test_namesakes_get_unique_valid_names_and_the_oldest_keeps_the_plain_one(
    server: RunningServer, tag: dict[str, str]
) -> None:
    sdk = get_client(url=server.url)
    name = f"same name {tag['test']} ✓"
    first = await sdk.assistants.create("echo", name=name, metadata=tag)
    second = await sdk.assistants.create("echo", name=name, metadata=tag)
    async with mcp_session(server.url) as session:
        tools = [t for t in await all_tools(session) if t.title == name]
        plain = f"same_name_{tag['test']}_"
        assert sorted(t.name for t in tools) == sorted(
            [plain, f"{plain}_{second['assistant_id'].replace('-', '')[:8]}"]
        )
        by_name = {t.name: t for t in tools}
        assert by_name[plain].title == name
        # Each name runs its own assistant.
        for tool in tools:
            assert not (await session.call_tool(tool.name, {"text": tool.name})).is_error
    await sdk.assistants.delete(first["assistant_id"])
    async with mcp_session(server.url) as session:
        # The survivor is now the oldest of its name, and takes the plain one.
        assert [t.name for t in await all_tools(session) if t.title == name] == [plain]
    await sdk.aclose()


def test_tool_names_are_valid_and_unique_whatever_the_assistant_names() -> None:
    def assistant(i: int, name: str) -> Assistant:
        snapshot = Snapshot("echo", {}, {}, {}, name, None)
        return Assistant(f"{i:08x}-0000-0000-0000-{i:012x}", 1, snapshot, "", "")

    names = ["", "日本語", "a" * 300, "a" * 300, "x y\tz", "x_y_z", "x y z", "ok.name-1"]
    named = tool_names([assistant(i, n) for i, n in enumerate(names)])
    result = [n for n, _ in named]
    assert len(result) == len(names) == len(set(result))
    assert all(_NAME.match(n) for n in result), result
    assert result[:2] == ["assistant", "assistant_00000001"]
    assert result[4:6] == ["x_y_z", "x_y_z_00000005"]


async def test_mcp_needs_an_api_key_when_keys_are_configured(start_server: Any) -> None:
    running: RunningServer = start_server(api_keys="alice:alice-key-123")
    async with httpx.AsyncClient(base_url=running.url, timeout=30) as raw:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        headers = {"accept": "application/json, text/event-stream"}
        r = await raw.post("/mcp", json=body, headers=headers)
        assert r.status_code == 401, r.text
        assert "detail" in r.json()
    # The official client gets the 401 too, and surfaces it as an error of its own.
    with pytest.raises(BaseExceptionGroup) as refused:
        async with mcp_session(running.url) as session:
            await session.list_tools()
    assert refused.group_contains(MCPError, match="error response")
    async with mcp_session(running.url, {"x-api-key": "alice-key-123"}) as session:
        assert "echo" in {t.name for t in await all_tools(session)}
        result = await session.call_tool("echo", {"text": "with a key"})
    assert result.structured_content == {"text": "with a key", "steps": ["echo"]}


async def test_each_user_sees_and_calls_only_their_own_assistants(start_server: Any, tmp_path: Path) -> None:
    running: RunningServer = start_server(AUTH_PROJECT)
    made = {}
    for user in ("alice", "bob"):
        sdk = get_client(url=running.url, headers={"Authorization": f"Bearer token-{user}"}, api_key=None)
        made[user] = await sdk.assistants.create("echo", name=f"{user}s tool")
        await sdk.aclose()
    async with mcp_session(running.url, {"Authorization": "Bearer token-alice"}) as session:
        names = {t.name for t in await all_tools(session)}
        assert "alices_tool" in names
        assert "bobs_tool" not in names
        ran = await session.call_tool("alices_tool", {"text": "mine"})
        assert ran.structured_content == {"text": "mine", "steps": ["echo"]}
        with pytest.raises(MCPError, match="Unknown tool"):
            await session.call_tool("bobs_tool", {"text": "theirs"})
    async with httpx.AsyncClient(base_url=running.url, timeout=30) as raw:
        r = await raw.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"accept": "application/json, text/event-stream"},
        )
        assert r.status_code == 401, r.text


async def test_http_disable_mcp_turns_the_route_off(start_server: Any, tmp_path: Path) -> None:
    config = tmp_path / "langgraph.json"
    graphs = {"echo": f"{TESTS / 'graphs' / 'runs.py'}:echo"}
    config.write_text(json.dumps({"graphs": graphs, "http": {"disable_mcp": True}}))
    running: RunningServer = start_server(config)
    async with httpx.AsyncClient(base_url=running.url, timeout=30) as raw:
        r = await raw.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"accept": "application/json, text/event-stream"},
        )
    assert r.status_code == 404, r.text
    assert r.json() == {"detail": "Not Found"}


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
async def test_only_post_is_served_there_is_no_session_and_no_server_stream(
    http: httpx.AsyncClient, method: str
) -> None:
    r = await http.request(method, "/mcp", headers={"accept": "text/event-stream"})
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == "POST"


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b"{}", b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": 7}'],
)
async def test_garbage_at_mcp_is_a_4xx_or_a_json_rpc_error_never_a_500(
    http: httpx.AsyncClient, body: bytes
) -> None:
    r = await http.post(
        "/mcp",
        content=body,
        headers={"accept": "application/json, text/event-stream", "content-type": "application/json"},
    )
    assert r.status_code < 500, r.text
    if r.status_code == 200:
        assert "error" in r.json(), r.text


async def test_a_body_beyond_the_size_limit_is_413(start_server: Any) -> None:
    running: RunningServer = start_server(max_body_bytes=4096)
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {}}}
    body["params"]["arguments"] = {"text": "x" * 10_000}  # type: ignore[index]
    async with httpx.AsyncClient(base_url=running.url, timeout=30) as raw:
        r = await raw.post("/mcp", json=body, headers={"accept": "application/json, text/event-stream"})
    assert r.status_code == 413, r.text

"""Assistants as A2A agents, driven by the a2a-sdk's own client: the agent card, message/send and
message/stream (a context is a thread, a task is a run on it), tasks/get, input-required tasks
answered with a second message, and auth. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from a2a.client import A2ACardResolver, ClientConfig, create_client
from a2a.client.client import Client
from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    StreamResponse,
    Task,
    TaskState,
)
from google.protobuf.json_format import MessageToDict, ParseDict
from google.protobuf.struct_pb2 import Value
from langgraph_sdk import get_client

from tests.api.test_auth import AUTH_PROJECT
from tests.conftest import TESTS, RunningServer

NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


def default_id(graph: str) -> str:
    return str(uuid.uuid5(NAMESPACE, graph))


@asynccontextmanager
async def agent(
    server: RunningServer, assistant_id: str, *, streaming: bool, headers: dict[str, str] | None = None
) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(timeout=60, headers=headers or {}) as http:
        config = ClientConfig(streaming=streaming, httpx_client=http)
        client = await create_client(f"{server.url}/a2a/{assistant_id}", client_config=config)
        try:
            yield client
        finally:
            await client.close()


def message(text: str | None = None, data: Any = None, **ids: str) -> Message:
    sent = Message(message_id=str(uuid.uuid4()), role=Role.ROLE_USER, **ids)
    if text is not None:
        sent.parts.append(Part(text=text))
    if data is not None:
        sent.parts.append(Part(data=ParseDict(data, Value())))
    return sent


async def send(client: Client, sent: Message) -> list[StreamResponse]:
    return [event async for event in client.send_message(SendMessageRequest(message=sent))]


def final_task(events: list[StreamResponse]) -> Task:
    assert events, "no events"
    last = events[-1]
    assert last.HasField("task"), events
    return last.task


async def test_the_agent_card_describes_the_assistant_where_the_sdk_looks_for_it(
    server: RunningServer,
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        card = await A2ACardResolver(http, f"{server.url}/a2a/{default_id('chat')}").get_agent_card()
        r = await http.get(
            f"{server.url}/.well-known/agent-card.json", params={"assistant_id": default_id("chat")}
        )
        assert r.status_code == 200, r.text
        assert r.json() == {**MessageToDict(card), "url": f"{server.url}/a2a/{default_id('chat')}"}
        for bad, status in (
            ({}, 422),
            ({"assistant_id": "nope"}, 422),
            ({"assistant_id": str(uuid.uuid4())}, 404),
        ):
            r = await http.get(f"{server.url}/.well-known/agent-card.json", params=bad)
            assert r.status_code == status, r.text
            assert "detail" in r.json()
    assert card.name == "chat"
    assert card.capabilities.streaming
    assert card.version == "1"
    assert [(i.url, i.protocol_binding) for i in card.supported_interfaces] == [
        (f"{server.url}/a2a/{default_id('chat')}", "JSONRPC")
    ]
    assert card.skills[0].id == f"{default_id('chat')}-main"


async def test_message_send_runs_the_assistant_on_the_contexts_thread_and_returns_a_completed_task(
    server: RunningServer,
) -> None:
    async with agent(server, default_id("chat"), streaming=False) as client:
        task = final_task(await send(client, message("hello?")))
        assert task.status.state == TaskState.TASK_STATE_COMPLETED
        assert [p.text for p in task.artifacts[0].parts] == ["hello there friend"]
        assert [(m.role, m.parts[0].text) for m in task.history] == [
            (Role.ROLE_USER, "hello?"),
            (Role.ROLE_AGENT, "hello there friend"),
        ]
        thread_id, _, run_id = task.id.partition(":")
        assert thread_id == task.context_id
        # The context is a thread, the task one run on it: a second message continues the thread.
        again = final_task(await send(client, message("and again", context_id=task.context_id)))
        assert again.context_id == task.context_id
        assert again.id != task.id
        got = await client.get_task(GetTaskRequest(id=task.id))
        assert got.status.state == TaskState.TASK_STATE_COMPLETED
        assert got.context_id == task.context_id
    sdk = get_client(url=server.url)
    state = await sdk.threads.get_state(task.context_id)
    # Both messages reached the one thread (the fake model's replies share an id, so its second
    # reply replaces the first: add_messages' rule, not graphdock's).
    humans = [m["content"] for m in state["values"]["messages"] if m["type"] == "human"]
    assert humans == ["hello?", "and again"]
    run = await sdk.runs.get(task.context_id, run_id)
    assert run["status"] == "success"
    assert run["assistant_id"] == default_id("chat")
    await sdk.aclose()


async def test_message_stream_sends_the_task_then_its_status_and_artifact_updates(
    server: RunningServer,
) -> None:
    async with agent(server, default_id("chat"), streaming=True) as client:
        events = await send(client, message("stream please"))
    kinds = [e.WhichOneof("payload") for e in events]
    assert kinds[0] == "task"
    assert "artifact_update" in kinds
    assert kinds[-1] == "status_update"
    assert events[0].task.status.state == TaskState.TASK_STATE_SUBMITTED
    assert events[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
    updates = [e.artifact_update for e in events if e.HasField("artifact_update")]
    # The fake model streams its reply token by token, appended to one artifact; the whole reply
    # closes it under the same id.
    *chunks, last = updates
    assert len(chunks) > 1
    assert not chunks[0].append
    assert all(c.append for c in chunks[1:])
    assert "".join(c.artifact.parts[0].text for c in chunks) == "hello there friend"
    assert last.last_chunk
    assert not last.append
    assert {u.artifact.artifact_id for u in updates} == {last.artifact.artifact_id}
    assert [p.text for p in last.artifact.parts] == ["hello there friend"]


async def test_data_parts_are_the_graphs_input_and_a_graph_error_fails_the_task(
    server: RunningServer,
) -> None:
    async with agent(server, default_id("echo"), streaming=False) as client:
        task = final_task(await send(client, message(data={"text": "as data"})))
        assert task.status.state == TaskState.TASK_STATE_COMPLETED
        assert MessageToDict(task.artifacts[0].parts[0].data) == {"text": "as data", "steps": ["echo"]}
        # Text needs a graph whose input has messages; echo's has not.
        with pytest.raises(Exception, match="messages"):
            await send(client, message("plain text"))
    async with agent(server, default_id("failing"), streaming=False) as client:
        failed = final_task(await send(client, message(data={"text": "this"})))
    assert failed.status.state == TaskState.TASK_STATE_FAILED
    assert failed.status.message.parts[0].text == "ValueError: cannot handle 'this'"


async def test_an_interrupted_run_is_an_input_required_task_that_the_next_message_answers(
    server: RunningServer,
) -> None:
    async with agent(server, default_id("interrupting"), streaming=False) as client:
        asked = final_task(await send(client, message(data={"text": "go"})))
        assert asked.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        assert MessageToDict(asked.status.message.parts[0].data)[0]["value"]["question"] == "approve?"
        answered = final_task(
            await send(client, message(data="yes", task_id=asked.id, context_id=asked.context_id))
        )
        assert answered.status.state == TaskState.TASK_STATE_COMPLETED
        steps = MessageToDict(answered.artifacts[0].parts[0].data)["steps"]
        assert steps == ["before", "answer:yes", "after"]
        # A finished task takes no more messages.
        with pytest.raises(Exception, match="ended"):
            await send(client, message(data="again", task_id=answered.id))
        with pytest.raises(Exception, match="not found"):
            await client.get_task(GetTaskRequest(id=f"{uuid.uuid4()}:{uuid.uuid4()}"))


async def test_tasks_cancel_stops_a_running_task_and_its_stream_ends_canceled(server: RunningServer) -> None:
    async with (
        agent(server, default_id("slow"), streaming=True) as streaming,
        agent(server, default_id("slow"), streaming=False) as other,
    ):
        events = streaming.send_message(SendMessageRequest(message=message(data={"delay": 5})))
        first = await anext(events)
        assert first.task.status.state == TaskState.TASK_STATE_SUBMITTED
        cancelled = await other.cancel_task(CancelTaskRequest(id=first.task.id))
        assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
        rest = [event async for event in events]
        assert rest[-1].status_update.status.state == TaskState.TASK_STATE_CANCELED
        got = await other.get_task(GetTaskRequest(id=first.task.id))
        assert got.status.state == TaskState.TASK_STATE_CANCELED


async def test_a2a_applies_auth_each_user_reaches_only_their_own_assistants_and_tasks(
    start_server: Any,
) -> None:
    running: RunningServer = start_server(AUTH_PROJECT)
    alice = {"Authorization": "Bearer token-alice"}
    sdk = get_client(url=running.url, headers=alice, api_key=None)
    mine = (await sdk.assistants.create("echo", name="alices agent"))["assistant_id"]
    await sdk.aclose()
    async with httpx.AsyncClient(base_url=running.url, timeout=30) as raw:
        r = await raw.get(f"/a2a/{mine}/.well-known/agent-card.json")
        assert r.status_code == 401, r.text
        r = await raw.post(f"/a2a/{mine}", json={"jsonrpc": "2.0", "id": 1, "method": "message/send"})
        assert r.status_code == 401, r.text
        r = await raw.get(
            f"/a2a/{mine}/.well-known/agent-card.json", headers={"Authorization": "Bearer token-bob"}
        )
        assert r.status_code == 404, r.text
    async with agent(running, mine, streaming=False, headers=alice) as client:
        task = final_task(await send(client, message(data={"text": "mine"})))
        assert task.status.state == TaskState.TASK_STATE_COMPLETED
    # bob reaches neither alice's agent nor her task, even through an agent card of his own.
    bob = {"Authorization": "Bearer token-bob"}
    sdk = get_client(url=running.url, headers=bob, api_key=None)
    his = (await sdk.assistants.create("echo", name="bobs agent"))["assistant_id"]
    await sdk.aclose()
    async with agent(running, his, streaming=False, headers=bob) as client:
        with pytest.raises(Exception, match="not found"):
            await client.get_task(GetTaskRequest(id=task.id))


async def test_http_disable_a2a_turns_the_routes_off(start_server: Any, tmp_path: Path) -> None:
    config = tmp_path / "langgraph.json"
    graphs = {"echo": f"{TESTS / 'graphs' / 'runs.py'}:echo"}
    config.write_text(json.dumps({"graphs": graphs, "http": {"disable_a2a": True}}))
    running: RunningServer = start_server(config)
    async with httpx.AsyncClient(base_url=running.url, timeout=30) as raw:
        for r in (
            await raw.get("/.well-known/agent-card.json", params={"assistant_id": default_id("echo")}),
            await raw.post(
                f"/a2a/{default_id('echo')}", json={"jsonrpc": "2.0", "id": 1, "method": "tasks/get"}
            ),
        ):
            assert r.status_code == 404, r.text
            assert r.json() == {"detail": "Not Found"}


async def test_under_a_mount_prefix_the_card_names_the_prefixed_endpoint_and_the_sdk_reaches_it(
    start_server: Any, tmp_path: Path
) -> None:
    config = tmp_path / "langgraph.json"
    graphs = {"echo": f"{TESTS / 'graphs' / 'runs.py'}:echo"}
    config.write_text(json.dumps({"graphs": graphs, "http": {"mount_prefix": "/agents"}}))
    running: RunningServer = start_server(config)
    prefixed = dataclasses.replace(running, url=f"{running.url}/agents")
    async with httpx.AsyncClient(timeout=30) as http:
        card = await A2ACardResolver(http, f"{prefixed.url}/a2a/{default_id('echo')}").get_agent_card()
    assert [i.url for i in card.supported_interfaces] == [f"{prefixed.url}/a2a/{default_id('echo')}"]
    async with agent(prefixed, default_id("echo"), streaming=False) as client:
        task = final_task(await send(client, message(data={"text": "hi"})))
    assert task.status.state == TaskState.TASK_STATE_COMPLETED, task


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": 7}}',
        b'{"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {"parts": []}}}',
        b'{"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"id": "x:y"}}',
        b'{"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": {"messageId": "m", '
        b'"role": "user", "contextId": "not-a-uuid", "parts": [{"kind": "text", "text": "hi"}]}}}',
        b'{"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": {"messageId": "m", '
        b'"role": "user", "parts": [{"kind": "data", "data": {"text": "nul \\u0000"}}]}}}',
    ],
)
async def test_garbage_at_a2a_is_a_json_rpc_error_never_a_500(http: httpx.AsyncClient, body: bytes) -> None:
    for assistant_id in (default_id("echo"), "not-a-uuid"):
        r = await http.post(
            f"/a2a/{assistant_id}", content=body, headers={"content-type": "application/json"}
        )
        assert r.status_code < 500, r.text
        if r.status_code == 200:
            assert "error" in r.json(), r.text


async def test_a_body_beyond_the_size_limit_is_413_before_the_sdk_reads_it(start_server: Any) -> None:
    running: RunningServer = start_server(max_body_bytes=4096)
    async with httpx.AsyncClient(base_url=running.url, timeout=30) as raw:
        big = {"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"pad": "x" * 10_000}}
        r = await raw.post(f"/a2a/{default_id('echo')}", json=big)
    assert r.status_code == 413, r.text
    assert "limit" in r.json()["detail"]

"""Streaming runs over a real socket: every stream mode, subgraphs, errors, headers, join, resume, disconnect.

The SDK's `runs.stream` and `runs.join_stream` read the server's SSE; raw httpx is used where a
header, a Last-Event-ID or a dropped connection is the point of the test.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError
from langgraph_sdk.schema import RunCreateMetadata, StreamPart

from tests.runs.waiting import final_status, new_thread

ECHO_IN = {"text": "hi"}
ECHO_OUT = {"text": "hi", "steps": ["echo"]}
CHAT_IN = {"messages": [{"role": "user", "content": "hey"}]}
# The fake chat model streams its reply split on whitespace, keeping the spaces.
CHAT_TOKENS = ["hello", " ", "there", " ", "friend"]
SLOW_IN = {"delay": 0.3}
SLOW_OUT = {"steps": ["a", "b", "c"], "delay": 0.3}


async def stream(
    client: LangGraphClient, thread_id: str | None, graph: str, input: Any, **options: Any
) -> list[StreamPart]:
    """A whole run's stream, checked for what every stream has: a metadata event first, ids 1, 2, 3..."""
    parts = [part async for part in client.runs.stream(thread_id, graph, input=input, **options)]
    assert parts, "the stream was empty"
    assert parts[0].event == "metadata"
    assert set(parts[0].data) >= {"run_id", "assistant_version"}
    assert [p.id for p in parts] == [str(i) for i in range(1, len(parts) + 1)]
    return parts


def names(parts: list[StreamPart]) -> list[str]:
    return [p.event for p in parts]


def data_of(parts: list[StreamPart], event: str) -> list[Any]:
    return [p.data for p in parts if p.event == event]


async def sse(response: httpx.Response) -> AsyncIterator[tuple[int, str, Any]]:
    """(id, event, data) of each event in a raw SSE response."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
            continue
        if fields:
            yield int(fields["id"]), fields["event"], json.loads(fields["data"])
            fields = {}


# -- one stream mode at a time ---------------------------------------------------------------------


async def test_the_first_event_is_metadata_with_the_run_id_and_the_assistant_version(
    client: LangGraphClient,
) -> None:
    tid = await new_thread(client)
    parts = await stream(client, tid, "echo", ECHO_IN)
    run_id = parts[0].data["run_id"]
    run = await client.runs.get(tid, run_id)
    assert run["status"] == "success"
    assistant = await client.assistants.get(run["assistant_id"])
    assert parts[0].data["assistant_version"] == assistant["version"]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        pytest.param("values", [("values", {"text": "hi", "steps": []}), ("values", ECHO_OUT)], id="values"),
        pytest.param("updates", [("updates", {"echo": {"steps": ["echo"], "text": "hi"}})], id="updates"),
    ],
)
async def test_state_modes_stream_the_state_after_each_step(
    client: LangGraphClient, mode: str, expected: list[tuple[str, Any]]
) -> None:
    parts = await stream(client, await new_thread(client), "echo", ECHO_IN, stream_mode=mode)
    assert [(p.event, p.data) for p in parts[1:]] == expected


async def test_messages_mode_sends_metadata_then_partials_accumulating_the_reply(
    client: LangGraphClient,
) -> None:
    parts = await stream(client, await new_thread(client), "chat", CHAT_IN, stream_mode="messages")
    assert names(parts) == ["metadata", "messages/metadata"] + ["messages/partial"] * len(CHAT_TOKENS)
    (meta,) = data_of(parts, "messages/metadata")
    assert list(meta) == ["ai-1"]
    assert meta["ai-1"]["metadata"]["langgraph_node"] == "chat"
    assert meta["ai-1"]["metadata"]["run_id"] == parts[0].data["run_id"]
    partials = data_of(parts, "messages/partial")
    assert all(len(p) == 1 and p[0]["id"] == "ai-1" for p in partials)
    prefixes = ["".join(CHAT_TOKENS[: i + 1]) for i in range(len(CHAT_TOKENS))]
    assert [p[0]["content"] for p in partials] == prefixes
    assert prefixes[-1] == "hello there friend"
    # A partial is the message so far, not a chunk: "ai", as the official server sends (chat UIs
    # reading the legacy mode filter on type "ai"); messages-tuple keeps "AIMessageChunk".
    assert {p[0]["type"] for p in partials} == {"ai"}
    assert all("tool_call_chunks" not in p[0] for p in partials)


async def test_messages_tuple_mode_sends_each_token_with_its_metadata(client: LangGraphClient) -> None:
    parts = await stream(client, await new_thread(client), "chat", CHAT_IN, stream_mode="messages-tuple")
    assert names(parts) == ["metadata"] + ["messages"] * len(CHAT_TOKENS)
    tuples = data_of(parts, "messages")
    assert all(isinstance(t, list) and len(t) == 2 for t in tuples)
    assert [message["content"] for message, _ in tuples] == CHAT_TOKENS
    assert {message["id"] for message, _ in tuples} == {"ai-1"}
    assert {metadata["langgraph_node"] for _, metadata in tuples} == {"chat"}


async def test_events_mode_sends_langchain_astream_events_v2(client: LangGraphClient) -> None:
    parts = await stream(client, await new_thread(client), "echo", ECHO_IN, stream_mode="events")
    assert set(names(parts[1:])) == {"events"}
    events = data_of(parts, "events")
    kinds = [e["event"] for e in events]
    assert kinds[0] == "on_chain_start"
    assert kinds[-1] == "on_chain_end"
    assert "on_chain_stream" in kinds
    root, end = events[0], events[-1]
    assert root["name"] == "echo"
    assert root["parent_ids"] == []
    assert end["run_id"] == root["run_id"]
    assert end["data"]["output"] == ECHO_OUT
    node_starts = [e for e in events if e["event"] == "on_chain_start" and e["parent_ids"]]
    assert [e["metadata"]["langgraph_node"] for e in node_starts] == ["echo"]


async def test_debug_mode_sends_checkpoints_and_tasks_with_their_results(client: LangGraphClient) -> None:
    parts = await stream(client, await new_thread(client), "echo", ECHO_IN, stream_mode="debug")
    assert set(names(parts[1:])) == {"debug"}
    debug = data_of(parts, "debug")
    assert [(d["type"], d["step"]) for d in debug] == [
        ("checkpoint", -1),
        ("checkpoint", 0),
        ("task", 1),
        ("task_result", 1),
        ("checkpoint", 1),
    ]
    task, result = debug[2]["payload"], debug[3]["payload"]
    assert (task["name"], task["input"]) == ("echo", {"text": "hi", "steps": []})
    assert (result["id"], result["error"], result["result"]) == (
        task["id"],
        None,
        {"steps": ["echo"], "text": "hi"},
    )
    assert debug[-1]["payload"]["values"] == ECHO_OUT


async def test_custom_mode_sends_what_the_stream_writer_wrote(client: LangGraphClient) -> None:
    parts = await stream(client, await new_thread(client), "chat", CHAT_IN, stream_mode="custom")
    assert [(p.event, p.data) for p in parts[1:]] == [
        ("custom", {"progress": "thinking"}),
        ("custom", {"progress": "done"}),
    ]


async def test_tasks_mode_sends_each_task_start_then_its_result(client: LangGraphClient) -> None:
    parts = await stream(client, await new_thread(client), "echo", ECHO_IN, stream_mode="tasks")
    assert names(parts) == ["metadata", "tasks", "tasks"]
    start, result = data_of(parts, "tasks")
    assert start["name"] == result["name"] == "echo"
    assert start["id"] == result["id"]
    assert start["input"] == {"text": "hi", "steps": []}
    assert start["triggers"] == ["branch:to:echo"]
    assert (result["error"], result["result"], result["interrupts"]) == (
        None,
        {"steps": ["echo"], "text": "hi"},
        [],
    )


async def test_checkpoints_mode_sends_each_checkpoint_of_the_thread(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    parts = await stream(client, tid, "echo", ECHO_IN, stream_mode="checkpoints")
    assert names(parts) == ["metadata"] + ["checkpoints"] * 3
    checkpoints = data_of(parts, "checkpoints")
    assert [c["metadata"]["step"] for c in checkpoints] == [-1, 0, 1]
    assert all(c["config"]["configurable"]["thread_id"] == tid for c in checkpoints)
    assert checkpoints[0]["parent_config"] is None
    ids = [c["config"]["configurable"]["checkpoint_id"] for c in checkpoints]
    assert [c["parent_config"]["configurable"]["checkpoint_id"] for c in checkpoints[1:]] == ids[:-1]
    assert checkpoints[-1]["values"] == ECHO_OUT
    assert checkpoints[-1]["next"] == []
    state = await client.threads.get_state(tid)
    assert state["checkpoint"]["checkpoint_id"] == ids[-1]


# -- several modes, subgraphs ----------------------------------------------------------------------


async def test_several_modes_at_once_interleave_in_the_order_things_happened(client: LangGraphClient) -> None:
    modes = ["values", "updates", "custom", "messages-tuple"]
    parts = await stream(client, await new_thread(client), "chat", CHAT_IN, stream_mode=modes)
    assert names(parts) == [
        "metadata",
        "values",
        "custom",
        *["messages"] * len(CHAT_TOKENS),
        "custom",
        "updates",
        "values",
    ]
    final = data_of(parts, "values")[-1]["messages"]
    assert [(m["type"], m["content"]) for m in final] == [("human", "hey"), ("ai", "hello there friend")]
    assert list(data_of(parts, "updates")[0]) == ["chat"]


async def test_events_mode_combines_with_other_modes(client: LangGraphClient) -> None:
    parts = await stream(client, await new_thread(client), "echo", ECHO_IN, stream_mode=["events", "values"])
    assert set(names(parts)) == {"metadata", "events", "values"}
    assert data_of(parts, "values") == [{"text": "hi", "steps": []}, ECHO_OUT]
    assert data_of(parts, "events")[-1]["event"] == "on_chain_end"


SUBGRAPH = re.compile(r"^updates\|child:[0-9a-f-]{36}(\|grandchild:[0-9a-f-]{36})?$")


async def test_stream_subgraphs_names_subgraph_events_by_their_namespace(client: LangGraphClient) -> None:
    parts = await stream(
        client,
        await new_thread(client),
        "nested",
        {"text": "t"},
        stream_mode="updates",
        stream_subgraphs=True,
    )
    events = names(parts)
    assert events[0] == "metadata"
    assert events[1] == events[-1] == "updates", "the parent's own updates keep the plain name"
    inner = events[2:-1]
    assert len(inner) == 3
    assert all(SUBGRAPH.match(e) for e in inner), inner
    assert inner[0] == inner[2], "the child's updates share one namespace"
    assert inner[1].startswith(inner[0] + "|grandchild:")
    assert [p.data for p in parts[2:-1]] == [
        {"enter": {"text": "t>start>enter", "depth": 1}},
        {"leaf": {"text": "t>start>enter>leaf", "depth": 2}},
        {"grandchild": {"text": "t>start>enter>leaf", "depth": 2}},
    ]


async def test_without_stream_subgraphs_only_the_parents_events_are_sent(client: LangGraphClient) -> None:
    parts = await stream(client, await new_thread(client), "nested", {"text": "t"}, stream_mode="updates")
    assert [(p.event, p.data) for p in parts[1:]] == [
        ("updates", {"start": {"text": "t>start"}}),
        ("updates", {"child": {"text": "t>start>enter>leaf", "depth": 2}}),
    ]


# -- errors, headers, stateless --------------------------------------------------------------------


async def test_a_failing_graph_ends_its_stream_with_an_error_event_and_the_run_in_error(
    client: LangGraphClient,
) -> None:
    tid = await new_thread(client)
    parts = await stream(client, tid, "failing", {"text": "x"}, stream_mode=["values", "updates"])
    assert names(parts) == ["metadata", "values", "error"]
    assert parts[-1].data == {"error": "ValueError", "message": "cannot handle 'x'"}
    assert await final_status(client, tid, parts[0].data["run_id"]) == "error"


async def test_the_stream_response_names_the_run_in_its_headers(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    tid = await new_thread(client)
    body = {"assistant_id": "echo", "input": ECHO_IN}
    async with http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as r:
        assert r.status_code == 200, await r.aread()
        events = [e async for e in sse(r)]
    assert r.headers["content-type"].split(";")[0] == "text/event-stream"
    run_id = events[0][2]["run_id"]
    assert r.headers["content-location"] == f"/threads/{tid}/runs/{run_id}"
    assert r.headers["location"] == f"/threads/{tid}/runs/{run_id}/stream"
    assert [(i, e) for i, e, _ in events] == [(1, "metadata"), (2, "values"), (3, "values")]


@pytest.mark.parametrize("stateful", [True, False], ids=["thread", "stateless"])
async def test_on_run_created_receives_the_run_id(client: LangGraphClient, stateful: bool) -> None:
    tid = await new_thread(client) if stateful else None
    created: list[RunCreateMetadata] = []
    parts = await stream(client, tid, "echo", ECHO_IN, on_run_created=created.append)
    assert [c["run_id"] for c in created] == [parts[0].data["run_id"]]
    if stateful:
        assert created[0]["thread_id"] == tid


async def test_stateless_streams_work_and_leave_no_run_behind(client: LangGraphClient) -> None:
    created: list[RunCreateMetadata] = []
    parts = await stream(
        client, None, "chat", CHAT_IN, stream_mode=["updates", "custom"], on_run_created=created.append
    )
    assert names(parts) == ["metadata", "custom", "custom", "updates"]
    (update,) = data_of(parts, "updates")
    assert [m["content"] for m in update["chat"]["messages"]] == ["hello there friend"]
    thread_id = created[0]["thread_id"]
    assert thread_id is not None
    with pytest.raises(NotFoundError):
        await client.threads.get(thread_id)


# -- join_stream, Last-Event-ID ----------------------------------------------------------------------


async def test_join_stream_follows_a_background_run_until_it_ends(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(tid, "slow", input=SLOW_IN)
    parts = [p async for p in client.runs.join_stream(tid, run["run_id"])]
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "success", "the join lasted until the end"
    assert parts
    assert set(names(parts)) <= {"metadata", "values"}
    assert parts[-1] == ("values", SLOW_OUT, parts[-1].id)
    ids = [int(p.id or 0) for p in parts]
    assert ids == list(range(ids[0], ids[0] + len(ids))), "ids are consecutive"
    steps = [p.data["steps"] for p in parts if p.event == "values"]
    assert steps == [["a", "b", "c"][:n] for n in range(4 - len(steps), 4)], "the tail of the run, in order"


async def test_join_stream_filters_by_stream_mode_but_keeps_metadata(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    parts = await stream(
        client, tid, "echo", ECHO_IN, stream_mode=["values", "updates"], stream_resumable=True
    )
    run_id = parts[0].data["run_id"]
    joined = [p async for p in client.runs.join_stream(tid, run_id, stream_mode="updates", last_event_id="0")]
    assert [(p.event, p.id) for p in joined] == [("metadata", "1"), ("updates", "3")]


async def test_a_finished_resumable_run_replays_the_events_after_last_event_id(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    tid = await new_thread(client)
    parts = await stream(
        client, tid, "chat", CHAT_IN, stream_mode=["values", "custom"], stream_resumable=True
    )
    run_id = parts[0].data["run_id"]
    assert await final_status(client, tid, run_id) == "success"
    async with http.stream(
        "GET", f"/threads/{tid}/runs/{run_id}/stream", headers={"Last-Event-ID": "1"}
    ) as r:
        assert r.status_code == 200, await r.aread()
        replayed = [e async for e in sse(r)]
    assert r.headers["content-type"].split(";")[0] == "text/event-stream"
    assert [i for i, _, _ in replayed] == list(range(2, len(parts) + 1))
    assert [(e, d) for _, e, d in replayed] == [(p.event, p.data) for p in parts[1:]]


async def test_a_finished_run_that_was_not_resumable_has_nothing_to_join(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    parts = await stream(client, tid, "echo", ECHO_IN)
    joined = [p async for p in client.runs.join_stream(tid, parts[0].data["run_id"], last_event_id="1")]
    assert joined == []


# -- disconnects -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "cancel", "status"),
    [
        pytest.param("stream", True, "interrupted", id="stream on_disconnect=cancel"),
        pytest.param("stream", False, "success", id="stream on_disconnect=continue (default)"),
        pytest.param("join", True, "interrupted", id="join cancel_on_disconnect=true"),
        pytest.param("join", False, "success", id="join cancel_on_disconnect=false (default)"),
    ],
)
async def test_a_client_leaving_mid_stream_cancels_the_run_only_when_asked(
    client: LangGraphClient, http: httpx.AsyncClient, how: str, cancel: bool, status: str
) -> None:
    tid = await new_thread(client)
    if how == "stream":
        body: dict[str, Any] = {"assistant_id": "slow", "input": SLOW_IN}
        if cancel:
            body["on_disconnect"] = "cancel"
        request = http.build_request("POST", f"/threads/{tid}/runs/stream", json=body)
    else:
        run = await client.runs.create(tid, "slow", input=SLOW_IN)
        params = {"cancel_on_disconnect": "true"} if cancel else {}
        request = http.build_request("GET", f"/threads/{tid}/runs/{run['run_id']}/stream", params=params)
    r = await http.send(request, stream=True)
    try:
        assert r.status_code == 200, await r.aread()
        first = await anext(aiter(sse(r)))
        assert first[1] in ("metadata", "values")
    finally:
        await r.aclose()
    run_id = r.headers["content-location"].rsplit("/", 1)[1]
    assert await final_status(client, tid, run_id) == status
    values = (await client.threads.get(tid))["values"] or {}
    if status == "success":
        assert values == SLOW_OUT
    else:
        assert len(values.get("steps", [])) < 3, "a cancelled run stops early"


async def test_a_queued_run_whose_client_leaves_with_on_disconnect_cancel_never_starts(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    tid = await new_thread(client)
    first = await client.runs.create(tid, "slow", input=SLOW_IN)
    body = {"assistant_id": "echo", "input": ECHO_IN, "on_disconnect": "cancel"}
    async with http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as r:
        assert r.status_code == 200, await r.aread()
    queued = r.headers["content-location"].rsplit("/", 1)[1]
    assert await final_status(client, tid, queued) == "interrupted"
    assert await final_status(client, tid, first["run_id"]) == "success"
    assert (await client.threads.get(tid))["values"] == SLOW_OUT, "the echo run never ran"

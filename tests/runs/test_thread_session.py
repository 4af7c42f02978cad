"""The SDK's thread streaming session (issue 17, item 5): `client.threads.stream(...)` over SSE and
WebSocket, `POST /threads/{id}/commands` and `POST /threads/{id}/stream/events`.

Each session mints its thread id; its first `run.start` creates the thread.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import TESTS, RunningServer, serve, settings_for

TRANSPORTS = pytest.mark.parametrize("transport", ["sse", "websocket"])


@TRANSPORTS
async def test_a_session_streams_a_runs_values_and_returns_its_output(
    client: LangGraphClient, transport: Any
) -> None:
    async with client.threads.stream(assistant_id="echo", transport=transport) as thread:
        started = await thread.run.start(input={"text": "hi"})
        seen = []
        async with asyncio.timeout(60):
            async for values in thread.values:
                seen.append(values)
            output = await thread.output
    assert output == {"text": "hi", "steps": ["echo"]}
    assert seen[-1] == output, seen
    run = await client.runs.get(thread.thread_id, started["run_id"])
    assert run["status"] == "success"
    assert run["metadata"]["graph_id"] == "echo"


@TRANSPORTS
async def test_a_session_streams_a_chat_models_message_as_text(
    client: LangGraphClient, transport: Any
) -> None:
    async with client.threads.stream(assistant_id="chat", transport=transport) as thread:
        await thread.run.start(input={"messages": [{"role": "user", "content": "hi"}]})
        async with asyncio.timeout(60):
            # Each message is fed while the projection is iterated: read them once it has ended.
            messages = [message async for message in thread.messages]
            texts = [await message.text for message in messages]
            deltas = [delta async for delta in messages[0].text]
            output = await thread.output
    assert texts == ["hello there friend"]
    assert deltas == ["hello", " ", "there", " ", "friend"]
    assert output["messages"][-1]["content"] == "hello there friend"


@TRANSPORTS
async def test_an_interrupt_is_answered_with_respond(client: LangGraphClient, transport: Any) -> None:
    async with client.threads.stream(assistant_id="interrupting", transport=transport) as thread:
        await thread.run.start(input={"text": "x"})
        async with asyncio.timeout(60):
            async for _ in thread.values:  # ends when the session learns of the interrupt
                pass
            assert thread.interrupted
            assert [i["namespace"] for i in thread.interrupts] == [[]]
            asked = thread.interrupts[0]["interrupt_id"]
            await thread.run.respond("yes")  # at once: the interrupted run may not have ended yet
            output = await thread.output
    history = await client.threads.get_history(thread.thread_id, limit=10)
    assert asked in [i["id"] for state in history for i in state["interrupts"]]
    assert output["steps"] == ["before", "answer:yes", "after"]


@TRANSPORTS
async def test_an_unknown_assistant_is_refused_with_an_error_envelope(
    client: LangGraphClient, transport: Any
) -> None:
    async with client.threads.stream(assistant_id=str(uuid.uuid4()), transport=transport) as thread:
        with pytest.raises(RuntimeError, match=r"Protocol error \[unknown_error\]: 404: "):
            await thread.run.start(input={"text": "x"})
    with pytest.raises(Exception, match="not found"):
        await client.threads.get(thread.thread_id)  # nothing was created


async def sse(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "data" in fields:
                event = json.loads(fields["data"])
                assert fields["event"] == event["method"]
                assert fields["id"] == str(event["seq"])
                yield event
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value


async def finished_thread(http: httpx.AsyncClient, assistant: str, body: Any) -> tuple[str, str]:
    """A thread whose one session run has ended, and that run's id."""
    tid = str(uuid.uuid4())
    r = await http.post(
        f"/threads/{tid}/commands",
        json={"id": 1, "method": "run.start", "params": {"assistant_id": assistant, "input": body}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "success", r.text
    run_id = r.json()["result"]["run_id"]
    assert (await http.get(f"/threads/{tid}/runs/{run_id}/join")).status_code == 200
    return tid, run_id


async def read(
    http: httpx.AsyncClient, tid: str, body: Any, until: str = "completed"
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(60), http.stream("POST", f"/threads/{tid}/stream/events", json=body) as r:
        assert r.status_code == 200, await r.aread()
        async for event in sse(r):
            seen.append(event)
            if event["method"] == "lifecycle" and event["params"]["data"]["event"] == until:
                return seen
    return seen


async def test_a_stream_replays_a_finished_run_as_envelopes_and_since_skips_what_was_read(
    http: httpx.AsyncClient,
) -> None:
    tid, run_id = await finished_thread(http, "echo", {"text": "hi"})
    every = await read(http, tid, {"channels": ["values", "lifecycle", "updates"]})
    assert [e["method"] for e in every] == ["lifecycle", "values", "updates", "values", "lifecycle"]
    seqs = [e["seq"] for e in every]
    assert seqs[0] == 1
    assert seqs == sorted(set(seqs)), "counted on every channel, this filter's or not"
    assert [e["params"]["data"]["event"] for e in every if e["method"] == "lifecycle"] == [
        "running",
        "completed",
    ]
    assert every[0]["params"]["data"]["graph_name"] == "echo"
    assert every[2]["params"]["data"] == {"node": "echo", "values": {"steps": ["echo"], "text": "hi"}}
    assert all(e["type"] == "event" and e["params"]["namespace"] == [] for e in every)
    assert all(e["event_id"].startswith(run_id) for e in every)
    # Another connection numbers the same events alike (all channels counted), so since resumes.
    since = every[2]["seq"]
    later = await read(http, tid, {"channels": ["values", "lifecycle"], "since": since})
    assert [(e["seq"], e["event_id"]) for e in later] == [(e["seq"], e["event_id"]) for e in every[3:]]
    checkpoints = await read(http, tid, {"channels": ["checkpoints", "lifecycle"]})
    assert [set(e["params"]["data"]) for e in checkpoints if e["method"] == "checkpoints"] == [
        {"id", "step", "source"},
        {"id", "parent_id", "step", "source"},
        {"id", "parent_id", "step", "source"},
    ]


async def test_an_interrupt_is_an_input_requested_event_and_the_run_ends_interrupted(
    http: httpx.AsyncClient,
) -> None:
    tid, _ = await finished_thread(http, "interrupting", {"text": "x"})
    seen = await read(http, tid, {"channels": ["input", "lifecycle", "values"]}, until="interrupted")
    assert [e["method"] for e in seen] == ["lifecycle", "values", "values", "input.requested", "lifecycle"]
    assert seen[2]["params"]["data"] == {"text": "x", "steps": ["before"]}, "the state is not repeated"
    [asked] = [e for e in seen if e["method"] == "input.requested"]
    state = (await http.get(f"/threads/{tid}/state")).json()
    assert asked["params"]["data"] == {
        "interrupt_id": state["interrupts"][0]["id"],
        "payload": {"question": "approve?", "text": "x"},
    }

    async def respond(params: dict[str, Any]) -> dict[str, Any]:
        r = await http.post(
            f"/threads/{tid}/commands", json={"id": 7, "method": "input.respond", "params": params}
        )
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    assert await respond({}) == {
        "type": "error",
        "id": 7,
        "error": "invalid_argument",
        "message": "input.respond requires an interrupt_id for each response.",
    }
    wrong = await respond({"interrupt_id": "nope", "namespace": [], "response": 1})
    assert (wrong["error"], wrong["message"]) == (
        "no_such_interrupt",
        f"No pending interrupt nope on thread {tid}",
    )
    many = {
        "responses": [
            {"interrupt_id": asked["params"]["data"]["interrupt_id"], "namespace": [], "response": "ok"}
        ]
    }
    assert (await respond(many))["type"] == "success"
    resumed = await read(http, tid, {"channels": ["lifecycle"]})
    assert [e["params"]["data"]["event"] for e in resumed] == [
        "running",
        "interrupted",
        "running",
        "completed",
    ]
    state = (await http.get(f"/threads/{tid}/state")).json()
    assert state["values"]["steps"] == ["before", "answer:ok", "after"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{", "Invalid JSON body"),
        (b"{}", "channels is required and must be a non-empty array"),
        (b'{"channels": []}', "channels is required and must be a non-empty array"),
        (b'{"channels": "values"}', "channels is required and must be a non-empty array"),
        (b'{"channels": ["values", "nope", 3]}', "channels contains unsupported entries: nope, 3."),
    ],
)
async def test_a_bad_stream_body_is_a_400(http: httpx.AsyncClient, body: bytes, detail: str) -> None:
    r = await http.post(f"/threads/{uuid.uuid4()}/stream/events", content=body)
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith(detail)


async def test_a_stream_for_a_thread_that_does_not_exist_is_a_404(http: httpx.AsyncClient) -> None:
    r = await http.post(f"/threads/{uuid.uuid4()}/stream/events", json={"channels": ["values"]})
    assert r.status_code == 404, r.text


@pytest.mark.parametrize(
    ("command", "status", "answer"),
    [
        (b"nope", 400, {"detail": "Invalid JSON body"}),
        (
            b'{"method": "run.start"}',
            400,
            {
                "type": "error",
                "id": None,
                "error": "invalid_argument",
                "message": "Protocol commands must include an integer id and string method.",
            },
        ),
        (
            b'{"id": 3, "method": "run.start", "params": {}}',
            200,
            {
                "type": "error",
                "id": 3,
                "error": "invalid_argument",
                "message": "run.start requires an assistant_id.",
            },
        ),
        (
            b'{"id": 4, "method": "run.start", "params": {"assistant_id": "echo", "multitask_strategy": "never"}}',
            200,
            {"type": "error", "id": 4, "error": "invalid_argument"},
        ),
        (
            b'{"id": 5, "method": "input.respond", "params": {"interrupt_id": "x", "response": 1}}',
            200,
            {
                "type": "error",
                "id": 5,
                "error": "no_such_run",
                "message": "No interrupted run is bound to this thread.",
            },
        ),
        (
            b'{"id": 6, "method": "thread.explode"}',
            200,
            {
                "type": "error",
                "id": 6,
                "error": "unknown_command",
                "message": "Unknown protocol command: thread.explode",
            },
        ),
    ],
)
async def test_bad_commands_are_answered_with_error_envelopes(
    http: httpx.AsyncClient, command: bytes, status: int, answer: dict[str, Any]
) -> None:
    r = await http.post(f"/threads/{uuid.uuid4()}/commands", content=command)
    assert r.status_code == status, r.text
    assert r.json() | answer == r.json(), r.text


async def test_a_websocket_with_a_bad_thread_id_is_closed_with_4422(server_url: str) -> None:
    url = server_url.replace("http", "ws", 1) + "/threads/not-a-uuid/stream/events"
    async with connect(url) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4422


AUTH_PROJECT = TESTS / "graphs" / "auth" / "langgraph.json"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serve(settings_for(tmp_path_factory.mktemp("auth") / "graphdock.sqlite3", AUTH_PROJECT)) as running:
        yield running


@pytest.mark.parametrize("transport", ["sse", "websocket"])
async def test_auth_applies_to_sessions_as_to_the_thread_routes(
    auth_server: RunningServer, transport: Any
) -> None:
    """Alice's session works; Bob is told her thread does not exist; without credentials, 401."""
    alice, bob = ({"Authorization": f"Bearer token-{user}"} for user in ("alice", "bob"))
    async with get_client(url=auth_server.url, headers=alice, api_key=None) as client:
        # The auth handler lets a user run only assistants of their own.
        echo = (await client.assistants.create("echo"))["assistant_id"]
        # The SDK's WebSocket handshake carries the session's headers only, not the client's.
        async with client.threads.stream(assistant_id=echo, transport=transport, headers=alice) as thread:
            await thread.run.start(input={"text": "mine"})
            async with asyncio.timeout(60):
                assert (await thread.output)["text"] == "mine"
        tid = thread.thread_id
    async with httpx.AsyncClient(base_url=auth_server.url, headers=bob, timeout=30) as http:
        r = await http.post(f"/threads/{tid}/stream/events", json={"channels": ["values"]})
        assert r.status_code == 404, r.text
        command = {"id": 1, "method": "input.respond", "params": {"interrupt_id": "x", "response": 1}}
        assert (await http.post(f"/threads/{tid}/commands", json=command)).json()["error"] == "no_such_run"
        his = (await http.post("/assistants", json={"graph_id": "echo"})).json()["assistant_id"]
        command = {"id": 2, "method": "run.start", "params": {"assistant_id": his, "input": {"text": "bob"}}}
        answer = (await http.post(f"/threads/{tid}/commands", json=command)).json()
        assert answer["error"] == "unknown_error", answer
        assert answer["message"] == f"404: Thread {tid} not found", "as POST /threads/{id}/runs answers him"
    async with httpx.AsyncClient(base_url=auth_server.url, headers=alice, timeout=30) as http:
        state = (await http.get(f"/threads/{tid}/state")).json()
        assert state["values"]["text"] == "mine", "Bob's run.start did not run on Alice's thread"
    async with httpx.AsyncClient(base_url=auth_server.url, timeout=30) as nobody:
        r = await nobody.post(f"/threads/{tid}/stream/events", json={"channels": ["values"]})
        assert r.status_code == 401, r.text
        r = await nobody.post(f"/threads/{tid}/commands", json={"id": 1, "method": "run.start"})
        assert r.status_code == 401, r.text
    url = auth_server.url.replace("http", "ws", 1) + f"/threads/{tid}/stream/events"
    async with connect(url) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_a_websocket_answers_bad_frames_with_error_envelopes_and_serves_on(server_url: str) -> None:
    url = server_url.replace("http", "ws", 1) + f"/threads/{uuid.uuid4()}/stream/events"
    frames: list[str | bytes] = [
        "nope",
        b"\xff\x00",
        '{"method": "run.start"}',
        '{"id": 2, "method": "subscription.subscribe", "params": {"channels": ["nope"]}}',
        '{"id": 3, "method": "subscription.unsubscribe", "params": {"subscription_id": "sub-9"}}',
        '{"id": 4, "method": "subscription.subscribe", "params": {"channels": ["lifecycle"]}}',
    ]
    async with connect(url) as socket:
        answers = []
        for frame in frames:
            await socket.send(frame)
            answers.append(json.loads(await asyncio.wait_for(socket.recv(), 30)))
    assert [(a["type"], a["id"], a.get("error")) for a in answers] == [
        ("error", None, "invalid_argument"),
        ("error", None, "invalid_argument"),
        ("error", None, "invalid_argument"),
        ("error", 2, "invalid_argument"),
        ("error", 3, "no_such_subscription"),
        ("success", 4, None),
    ]
    assert answers[3]["message"].startswith("channels contains unsupported entries: nope.")
    assert answers[5]["result"]["subscription_id"]


async def test_a_websocket_subscription_gets_the_events_made_before_it(server_url: str) -> None:
    """As the JS SDK does: commands on the socket; a late subscription replays what no other took."""
    url = server_url.replace("http", "ws", 1) + f"/threads/{uuid.uuid4()}/stream/events"
    async with connect(url) as socket, asyncio.timeout(60):

        async def command(id_: int, method: str, params: Any) -> dict[str, Any]:
            await socket.send(json.dumps({"id": id_, "method": method, "params": params}))
            while (frame := json.loads(await socket.recv()))["type"] == "event":
                events.append(frame)
            assert frame["id"] == id_
            return frame

        events: list[dict[str, Any]] = []
        await command(1, "subscription.subscribe", {"channels": ["lifecycle"]})
        started = await command(2, "run.start", {"assistant_id": "echo", "input": {"text": "ws"}})
        assert started["type"] == "success", started
        while not any(e["params"]["data"].get("event") == "completed" for e in events):
            events.append(json.loads(await socket.recv()))
        answer = await command(3, "subscription.subscribe", {"channels": ["values"]})  # replayed first
    replayed = [e for e in events if e["method"] == "values"]
    events = [e for e in events if e["method"] == "lifecycle"]
    assert [e["params"]["data"]["event"] for e in events] == ["running", "completed"]
    assert answer["result"]["replayed_events"] == 2
    assert [e["params"]["data"] for e in replayed] == [
        {"text": "ws", "steps": []},
        {"text": "ws", "steps": ["echo"]},
    ]
    assert events[0]["seq"] < replayed[0]["seq"] < replayed[1]["seq"] < events[1]["seq"]


async def test_run_start_forks_from_the_checkpoint_the_js_sdk_names_in_configurable(
    http: httpx.AsyncClient,
) -> None:
    """The JS SDK's `run.start({forkFrom})` sends config.configurable.checkpoint_id."""
    tid, _ = await finished_thread(http, "echo", {"text": "one"})
    [after_one] = (await http.post(f"/threads/{tid}/history", json={"limit": 1})).json()
    second = {"assistant_id": "echo", "input": {"text": "two"}}
    r = await http.post(f"/threads/{tid}/commands", json={"id": 2, "method": "run.start", "params": second})
    await http.get(f"/threads/{tid}/runs/{r.json()['result']['run_id']}/join")
    assert (await http.get(f"/threads/{tid}/state")).json()["values"]["steps"] == ["echo", "echo"]
    fork = {
        "assistant_id": "echo",
        "input": {"text": "three"},
        "config": {"configurable": {"checkpoint_id": after_one["checkpoint"]["checkpoint_id"]}},
    }
    r = await http.post(f"/threads/{tid}/commands", json={"id": 3, "method": "run.start", "params": fork})
    assert r.json()["type"] == "success", r.text
    await http.get(f"/threads/{tid}/runs/{r.json()['result']['run_id']}/join")
    state = (await http.get(f"/threads/{tid}/state")).json()
    assert state["values"] == {"text": "three", "steps": ["echo", "echo"]}, (
        "run two's step is not in the fork"
    )

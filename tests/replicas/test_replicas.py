"""Several replicas on one PostgreSQL and one Redis behave as one server.

Each replica is its own `graphdock serve` process. An API-only replica (`--run-concurrency 0`)
never executes runs, so whatever a client sees through it of a run went through the other
replica, the database and Redis: that is how these tests know a behaviour crossed replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamPart

from tests.conftest import GUIDE_V1
from tests.replicas.conftest import Replica, Replicas
from tests.runs.waiting import until_status


def sdk(replica: Replica) -> LangGraphClient:
    return get_client(url=replica.url, timeout=60)


async def collect(parts: AsyncIterator[StreamPart]) -> list[StreamPart]:
    return [p async for p in parts]


async def run_status(client: LangGraphClient, thread_id: str, run_id: str) -> str:
    return str((await client.runs.get(thread_id, run_id))["status"])


# -- versioning ------------------------------------------------------------------------------------


async def test_replicas_starting_together_on_a_new_database_all_come_up(replicas: Replicas) -> None:
    # Every one of them applies migrations and sets up the checkpoint tables at the same moment.
    started = replicas.start_together(3)
    async with httpx.AsyncClient() as http:
        for replica in started:
            assert (await http.get(f"{replica.url}/ok")).status_code == 200
            assert "Traceback" not in replica.log.read_text()


async def test_64_concurrent_patches_over_two_replicas_make_64_consecutive_versions(
    replicas: Replicas,
) -> None:
    a, b = replicas.start_together(2)
    clients = [sdk(a), sdk(b)]
    created = await clients[0].assistants.create("agent", config=GUIDE_V1, name="shared")
    aid = created["assistant_id"]

    async def patch(i: int) -> dict[str, Any]:
        prompt = {"configurable": {**GUIDE_V1["configurable"], "system_prompt": f"prompt {i}"}}
        return dict(await clients[i % 2].assistants.update(aid, config=prompt))

    results = await asyncio.gather(*(patch(i) for i in range(64)))
    assert sorted(r["version"] for r in results) == list(range(2, 66))
    for replica_client in clients:
        versions = await replica_client.assistants.get_versions(aid, limit=100)
        assert [v["version"] for v in versions] == list(range(65, 0, -1))
        by_number = {v["version"]: v for v in versions}
        for result in results:  # every response is exactly what its version row holds
            assert by_number[result["version"]]["config"] == result["config"]
        active = await replica_client.assistants.get(aid)
        assert active["version"] == 65
        assert active["config"] == by_number[65]["config"]
        assert active["name"] == by_number[65]["name"]


# -- runs across replicas --------------------------------------------------------------------------


@pytest.fixture
def api_and_worker(replicas: Replicas) -> tuple[Replica, Replica]:
    api, worker = replicas.start_together(2, run_concurrency=0)[0], replicas.start()
    return api, worker


async def test_a_run_streamed_through_an_api_only_replica_is_executed_by_another(
    api_and_worker: tuple[Replica, Replica],
) -> None:
    api, _worker = api_and_worker
    client = sdk(api)
    thread = await client.threads.create()
    parts = await collect(
        client.runs.stream(thread["thread_id"], "slow", input={"delay": 0.05}, stream_mode="updates")
    )
    assert parts[0].event == "metadata"
    assert parts[0].data["attempt"] == 1
    assert [next(iter(p.data)) for p in parts[1:]] == ["a", "b", "c"]
    assert [int(p.id) for p in parts if p.id] == list(range(1, len(parts) + 1))
    assert await run_status(client, thread["thread_id"], parts[0].data["run_id"]) == "success"


async def test_a_run_created_on_one_replica_is_joined_and_waited_for_on_another(
    api_and_worker: tuple[Replica, Replica],
) -> None:
    api, worker = api_and_worker
    client, other = sdk(api), sdk(worker)
    thread_id = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread_id, "slow", input={"delay": 0.3}, stream_resumable=True)
    joined = asyncio.create_task(
        collect(client.runs.join_stream(thread_id, run["run_id"], last_event_id="0"))
    )
    result = await other.runs.join(thread_id, run["run_id"])
    assert result["steps"] == ["a", "b", "c"]
    events = await joined
    assert [p.event for p in events] == ["metadata", "values", "values", "values", "values"]
    # A client reconnecting after event 3 on the other replica gets exactly the rest.
    tail = await collect(other.runs.join_stream(thread_id, run["run_id"], last_event_id="3"))
    assert [p.id for p in tail] == ["4", "5"]
    assert tail[-1].data["steps"] == ["a", "b", "c"]
    stateless = await client.runs.wait(None, "echo", input={"text": "hi"})
    assert stateless == {"text": "hi", "steps": ["echo"]}


@pytest.mark.parametrize("action", ["interrupt", "rollback"])
async def test_a_run_executing_on_one_replica_is_cancelled_from_another(
    api_and_worker: tuple[Replica, Replica], action: str
) -> None:
    api, _worker = api_and_worker
    client = sdk(api)
    thread_id = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread_id, "slow", input={"delay": 2.0})
    await until_status(client, thread_id, run["run_id"], "running")
    await client.runs.cancel(thread_id, run["run_id"], wait=True, action=action)  # type: ignore[arg-type]
    if action == "rollback":
        with pytest.raises(httpx.HTTPStatusError) as missing:
            await client.runs.get(thread_id, run["run_id"])
        assert missing.value.response.status_code == 404
    else:
        assert await run_status(client, thread_id, run["run_id"]) == "interrupted"
    thread = await client.threads.get(thread_id)
    # Rolled back, the thread is as before the run. Interrupted, it waits at its next step, or is
    # idle if the cancel came before the run's first checkpoint: either way it is free, not busy.
    assert thread["status"] in (("idle",) if action == "rollback" else ("idle", "interrupted"))
    # The thread takes the next run at once, wherever it executes.
    assert (await client.runs.wait(thread_id, "echo", input={"text": "next"}))["text"] == "next"


async def test_deleting_a_thread_stops_its_run_on_another_replica(
    api_and_worker: tuple[Replica, Replica],
) -> None:
    api, _worker = api_and_worker
    client = sdk(api)
    thread_id = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread_id, "slow", input={"delay": 2.0})
    await until_status(client, thread_id, run["run_id"], "running")
    await client.threads.delete(thread_id)
    assert await client.threads.search(metadata={}, limit=100) == []


# -- a replica killed mid-run ----------------------------------------------------------------------


def _attempt(database: str, run_id: str) -> tuple[str, int, str | None]:
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT status, attempt, worker_id FROM runs WHERE run_id = %s", (run_id,)
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


@pytest.mark.parametrize(
    ("max_attempts", "ends", "created_on"),
    [
        (2, "success", "api"),
        (1, "error", "api"),
        # Created on the replica that executes it: claimed by the transaction that created it.
        (2, "success", "doomed"),
        (1, "error", "doomed"),
    ],
)
async def test_a_run_whose_replica_is_killed_is_retried_from_its_last_checkpoint_or_failed(
    replicas: Replicas, database: str, max_attempts: int, ends: str, created_on: str
) -> None:
    flags = {"run_lease_seconds": 2, "run_max_attempts": max_attempts}
    api = replicas.start(run_concurrency=0, **flags)
    doomed = replicas.start(**flags)
    client = sdk(api)
    thread_id = (await client.threads.create())["thread_id"]
    creator = sdk(doomed) if created_on == "doomed" else client
    run = await creator.runs.create(thread_id, "slow", input={"delay": 1.5}, stream_mode="updates")
    run_id = run["run_id"]
    following = asyncio.create_task(collect(client.runs.join_stream(thread_id, run_id, last_event_id="0")))

    for _ in range(500):  # until a is checkpointed and b sleeps
        values = (await client.threads.get_state(thread_id))["values"]
        if isinstance(values, dict) and values.get("steps") == ["a"]:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("step a never completed")
    status, attempt, worker_id = _attempt(database, run_id)
    assert (status, attempt) == ("running", 1)
    assert worker_id is not None
    assert f"/{doomed.pid}/" in worker_id, "the replica about to be killed executes it"
    doomed.kill()
    replicas.start(**flags)  # a replica that can take the run over

    result = await asyncio.wait_for(client.runs.join(thread_id, run_id), timeout=60)
    events = await asyncio.wait_for(following, timeout=30)
    status, attempt, _ = _attempt(database, run_id)
    assert status == ends
    if ends == "success":
        assert attempt == 2
        # Resumed from the checkpoint after a: a did not run twice.
        assert result["steps"] == ["a", "b", "c"]
        assert [p.data["attempt"] for p in events if p.event == "metadata"] == [1, 2]
        assert [next(iter(p.data)) for p in events if p.event == "updates"] == ["a", "b", "c"]
        ids = [int(p.id) for p in events if p.id]
        assert ids == sorted(set(ids)), "event ids keep increasing across attempts"
        assert (await client.threads.get(thread_id))["status"] == "idle"
    else:
        assert attempt == 1
        assert result["__error__"]["error"] == "RunAbandoned"
        failed = await client.runs.get(thread_id, run_id)
        assert failed["error"]["error"] == "RunAbandoned"  # type: ignore[typeddict-item]
        assert (await client.threads.get(thread_id))["status"] == "error"


async def test_a_thread_stream_on_one_replica_follows_runs_created_and_executed_on_another(
    api_and_worker: tuple[Replica, Replica],
) -> None:
    api, worker = api_and_worker
    client, other = sdk(api), sdk(worker)
    thread_id = (await client.threads.create())["thread_id"]
    parts = await client.threads.join_stream(thread_id)  # type: ignore[misc]
    try:
        # The SDK sends its request on the first read; the run is long enough to be seen either
        # way: from its start if the stream came first, else from the moment the stream opened.
        first = asyncio.ensure_future(anext(parts))
        run = await other.runs.create(thread_id, "slow", input={"delay": 0.5})
        seen = [await asyncio.wait_for(first, 60)]
        async with asyncio.timeout(60):
            async for part in parts:
                seen.append(part)
                if part.event == "values" and part.data.get("steps") == ["a", "b", "c"]:
                    break
    finally:
        await parts.aclose()
    assert seen[-1].data["steps"] == ["a", "b", "c"]
    assert {str(p.id).split(":")[0] for p in seen} == {run["run_id"]}


async def test_a_thread_stream_on_one_replica_gets_every_event_of_runs_that_end_at_once_on_another(
    api_and_worker: tuple[Replica, Replica],
) -> None:
    """Runs of the `echo` graph last milliseconds and start in the transaction that creates them:
    each is over long before the thread's stream could find it by looking at the thread's runs."""
    api, worker = api_and_worker
    client, other = sdk(api), sdk(worker)
    thread_id = (await client.threads.create())["thread_id"]
    opened = asyncio.Event()
    # threads.join_stream through the SDK's own SSE client, told when the server answers: the
    # stream is open then (the server answers once it listens), so no run below predates it.
    parts = client.http.stream(
        f"/threads/{thread_id}/stream",
        "GET",
        params={"stream_mode": "run_modes"},
        on_response=lambda _: opened.set(),
    )
    seen: list[StreamPart] = []
    arrived = asyncio.Event()

    async def read() -> None:
        async for part in parts:
            seen.append(part)
            arrived.set()

    reading = asyncio.create_task(read())
    try:
        await asyncio.wait_for(opened.wait(), 60)
        # Each run as its creator streamed it on the replica executing it: every event, from the first.
        made = [
            await collect(other.runs.stream(thread_id, "echo", input={"text": f"run {n}"})) for n in range(5)
        ]
        expected = [
            (f"{run[0].data['run_id']}:{part.id}", part.event, part.data) for run in made for part in run
        ]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(20):
                while len(seen) < len(expected):
                    arrived.clear()
                    await arrived.wait()
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
    assert [(run[0].id, run[0].event) for run in made] == [("1", "metadata")] * 5  # from the first
    assert [(p.id, p.event, p.data) for p in seen] == expected


@pytest.mark.parametrize("transport", ["sse", "websocket"])
async def test_a_thread_streaming_session_on_an_api_only_replica_follows_runs_executed_on_another(
    api_and_worker: tuple[Replica, Replica], transport: Any
) -> None:
    """The SDK's client.threads.stream: a chat model's message, then an interrupt answered at once."""
    api, _ = api_and_worker
    client = sdk(api)
    async with client.threads.stream(assistant_id="chat", transport=transport) as thread:
        await thread.run.start(input={"messages": [{"role": "user", "content": "hi"}]})
        async with asyncio.timeout(60):
            messages = [message async for message in thread.messages]
            assert [await message.text for message in messages] == ["hello there friend"]
            assert (await thread.output)["messages"][-1]["content"] == "hello there friend"
    async with client.threads.stream(assistant_id="interrupting", transport=transport) as thread:
        await thread.run.start(input={"text": "x"})
        async with asyncio.timeout(60):
            async for _ in thread.values:  # ends when the session learns of the interrupt
                pass
            assert thread.interrupted
            await thread.run.respond("yes")  # the interrupted run may still be finishing on the worker
            assert (await thread.output)["steps"] == ["before", "answer:yes", "after"]
    await client.aclose()

"""GET /threads/{thread_id}/stream (issue 17, item 4): every run's events on a thread, in order.

The stream stays open for as long as the client listens; each test reads what it needs, then
leaves. Runs are created while it is open, by another client, as a chat UI's other tab would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient

Event = tuple[str, str, Any]  # (id, event, data)


async def events(response: httpx.Response) -> AsyncIterator[Event]:
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "event" in fields:
                yield fields.get("id", ""), fields["event"], json.loads(fields["data"])
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value


async def read_until(stream: AsyncIterator[Event], done: int) -> list[Event]:
    """Events until `done` runs' final values have come (the `echo` graph's values carry steps)."""
    seen: list[Event] = []
    async with asyncio.timeout(60):
        async for item in stream:
            seen.append(item)
            if sum(1 for _, e, d in seen if e == "values" and d.get("steps")) >= done:
                return seen
    return seen


async def test_the_thread_stream_follows_every_run_created_while_it_is_open(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    tid = (await client.threads.create())["thread_id"]
    async with http.stream("GET", f"/threads/{tid}/stream") as r:
        assert r.status_code == 200, await r.aread()
        assert r.headers["content-type"].startswith("text/event-stream")
        stream = events(r)
        first = await client.runs.create(tid, "echo", input={"text": "one"})
        await client.runs.join(tid, first["run_id"])
        second = await client.runs.create(tid, "echo", input={"text": "two"})
        seen = await read_until(stream, 2)
    runs = [i.split(":")[0] for i, _, _ in seen]
    assert runs == sorted(runs, key=[first["run_id"], second["run_id"]].index), "one run after the other"
    assert {first["run_id"], second["run_id"]} == set(runs)
    assert [e for i, e, _ in seen if i.startswith(first["run_id"])] == ["metadata", "values", "values"]
    assert [d for _, e, d in seen if e == "values" and d.get("steps")] == [
        {"text": "one", "steps": ["echo"]},
        {"text": "two", "steps": ["echo"]},
    ]
    assert [i for i, _, _ in seen][:3] == [f"{first['run_id']}:{n}" for n in (1, 2, 3)]


async def test_the_thread_stream_filters_by_stream_mode(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    tid = (await client.threads.create())["thread_id"]
    async with http.stream("GET", f"/threads/{tid}/stream", params={"stream_mode": "updates"}) as r:
        stream = events(r)
        await client.runs.create(tid, "echo", input={"text": "x"}, stream_mode=["values", "updates"])
        async with asyncio.timeout(60):
            seen = [await anext(stream), await anext(stream)]
    assert [e for _, e, _ in seen] == ["metadata", "updates"]
    assert seen[1][2] == {"echo": {"text": "x", "steps": ["echo"]}}


async def test_the_sdks_join_stream_reads_it_and_last_event_id_resumes(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    tid = (await client.threads.create())["thread_id"]
    # stream_mode run_modes, the SDK's default: every event of every run. The SDK sends its request
    # on the first read; `slow` runs long enough to be seen whichever comes first.
    parts = await client.threads.join_stream(tid)  # type: ignore[misc]
    try:
        first = asyncio.ensure_future(anext(parts))
        run = await client.runs.create(tid, "slow", input={"delay": 0.5}, stream_resumable=True)
        seen = [await asyncio.wait_for(first, 60)]
        async with asyncio.timeout(60):
            async for part in parts:
                seen.append(part)
                if part.event == "values" and part.data.get("steps") == ["a", "b", "c"]:
                    break
    finally:
        await parts.aclose()
    assert {str(p.id).split(":")[0] for p in seen} == {run["run_id"]}
    await client.runs.join(tid, run["run_id"])
    # Resuming after the run's first event replays the rest of it (it was resumable).
    async with http.stream(
        "GET", f"/threads/{tid}/stream", headers={"Last-Event-ID": f"{run['run_id']}:1"}
    ) as r:
        seen = await read_until(events(r), 1)
    assert [i for i, _, _ in seen] == [f"{run['run_id']}:{n}" for n in (2, 3)]


@pytest.mark.parametrize("last", ["nonsense", "not-a-run:3", "6f1b2c3d-0000-4000-8000-000000000000:1"])
async def test_a_last_event_id_this_stream_never_sent_is_422(
    client: LangGraphClient, http: httpx.AsyncClient, last: str
) -> None:
    tid = (await client.threads.create())["thread_id"]
    r = await http.get(f"/threads/{tid}/stream", headers={"Last-Event-ID": last})
    assert r.status_code == 422, r.text
    assert "Last-Event-ID" in r.json()["detail"]


async def test_the_stream_of_a_missing_thread_is_404(http: httpx.AsyncClient) -> None:
    r = await http.get("/threads/6f1b2c3d-0000-4000-8000-000000000000/stream")
    assert r.status_code == 404, r.text

"""Heartbeats while a run is silent (issue 17, item 3): newlines on wait/join, `: heartbeat` on SSE.

The server gets a short `heartbeat_seconds` and the `slow` graph sleeps far longer than that in
each node, so heartbeats must come; nothing here measures time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
from langgraph_sdk import get_client

from tests.conftest import RunningServer

HEARTBEAT = 0.05
SLOW = {"text": "t", "delay": 1.0}
DONE = {"text": "t", "delay": 1.0, "steps": ["a", "b", "c"]}


async def test_wait_and_join_send_newlines_while_the_run_is_silent_and_the_body_still_parses(
    start_server: Callable[..., RunningServer],
) -> None:
    server = start_server(heartbeat_seconds=HEARTBEAT)
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        async with http.stream("POST", "/runs/wait", json={"assistant_id": "slow", "input": SLOW}) as r:
            assert r.status_code == 200
            chunks = [chunk async for chunk in r.aiter_bytes()]
        body = b"".join(chunks)
        assert body.startswith(b"\n"), body[:50]
        assert json.loads(body) == DONE
        assert r.headers["content-type"].startswith("application/json")

        thread = (await http.post("/threads", json={})).json()
        run = (
            await http.post(
                f"/threads/{thread['thread_id']}/runs", json={"assistant_id": "slow", "input": SLOW}
            )
        ).json()
        async with http.stream("GET", f"/threads/{thread['thread_id']}/runs/{run['run_id']}/join") as joined:
            body = b"".join([chunk async for chunk in joined.aiter_bytes()])
        assert body.startswith(b"\n"), body[:50]
        assert json.loads(body) == DONE

    # The official SDK reads the same bodies unchanged.
    sdk = get_client(url=server.url)
    try:
        assert await sdk.runs.wait(None, "slow", input=SLOW) == DONE
    finally:
        await sdk.aclose()


async def test_a_quick_run_is_answered_without_heartbeats(start_server: Callable[..., RunningServer]) -> None:
    server = start_server()  # the default interval (5 s): `echo` ends long before it
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        r = await http.post("/runs/wait", json={"assistant_id": "echo", "input": {"text": "x"}})
    assert r.status_code == 200, r.text
    assert not r.content.startswith(b"\n")
    assert r.json() == {"text": "x", "steps": ["echo"]}


async def test_sse_streams_send_a_heartbeat_comment_while_the_run_is_silent(
    start_server: Callable[..., RunningServer],
) -> None:
    server = start_server(heartbeat_seconds=HEARTBEAT)
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        thread = (await http.post("/threads", json={})).json()
        tid = thread["thread_id"]
        body = {"assistant_id": "slow", "input": SLOW, "stream_mode": ["values"]}
        async with http.stream("POST", f"/threads/{tid}/runs/stream", json=body) as r:
            assert r.status_code == 200
            lines = [line async for line in r.aiter_lines()]
        assert ": heartbeat" in lines
        assert lines.count("event: values") == 4  # the input, then after a, b and c
        events = [line for line in lines if line.startswith("event: ")]
        assert events[0] == "event: metadata"

        run = (await http.post(f"/threads/{tid}/runs", json={"assistant_id": "slow", "input": SLOW})).json()
        async with http.stream("GET", f"/threads/{tid}/runs/{run['run_id']}/stream") as joined:
            lines = [line async for line in joined.aiter_lines()]
        assert ": heartbeat" in lines
        assert "event: values" in lines

    # The official SDK skips the comments: it sees the events only.
    sdk = get_client(url=server.url)
    try:
        parts = [p async for p in sdk.runs.stream(None, "slow", input=SLOW, stream_mode="values")]
    finally:
        await sdk.aclose()
    assert [p.event for p in parts] == ["metadata", "values", "values", "values", "values"]
    assert parts[-1].data == DONE


async def test_a_threads_stream_sends_heartbeats_while_its_run_is_silent(
    start_server: Callable[..., RunningServer],
) -> None:
    """GET /threads/{id}/stream stays open across runs; while a run is silent it must heartbeat too."""
    server = start_server(heartbeat_seconds=HEARTBEAT)
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        tid = (await http.post("/threads", json={})).json()["thread_id"]

        async def read_until_heartbeat_after_a_value() -> list[str]:
            seen: list[str] = []
            async with http.stream("GET", f"/threads/{tid}/stream") as r:
                assert r.status_code == 200
                created = await http.post(
                    f"/threads/{tid}/runs", json={"assistant_id": "slow", "input": SLOW}
                )
                assert created.status_code == 200, created.text
                async for line in r.aiter_lines():
                    seen.append(line)
                    if line == ": heartbeat" and "event: values" in seen:
                        return seen
            return seen

        lines = await asyncio.wait_for(read_until_heartbeat_after_a_value(), timeout=30)
    assert lines[-1] == ": heartbeat", lines[-10:]

"""Thread TTLs through the official SDK on a real server: threads nobody uses are swept —
deleted, or pruned to their latest checkpoint — while threads in use and threads with a run in
progress stay, and store items stay whatever their namespace says. TTLs are fractions of a minute here; every wait polls with a generous deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import RunningServer
from tests.runs.expiry import DEADLINE_SECONDS, exists, history_length, ttl_project, until_gone, until_pruned
from tests.runs.waiting import final_status, until_status

# A sweep every 0.6 s (replicas try twice per interval).
FAST_SWEEPS = {"sweep_interval_minutes": 0.01}
Start = Callable[..., RunningServer]


async def test_delete_strategy_removes_the_thread_its_runs_and_its_checkpoints(
    start_server: Start, tmp_path: Path
) -> None:
    served = start_server(ttl_project(tmp_path, strategy="delete", default_ttl=0.02, **FAST_SWEEPS))
    client = get_client(url=served.url)
    thread = await client.threads.create()  # the deployment's default_ttl applies
    run = await client.runs.create(thread["thread_id"], "echo", input={})
    assert await final_status(client, thread["thread_id"], run["run_id"], seconds=60) == "success"
    # A memory filed under the thread's id: the store is not the thread's to sweep.
    await client.store.put_item(["memories", thread["thread_id"]], "note", {"text": "keep me"}, ttl=None)

    await until_gone(client, thread["thread_id"])
    kept_memory = await client.store.get_item(["memories", thread["thread_id"]], "note")
    assert kept_memory is not None
    assert kept_memory["value"] == {"text": "keep me"}
    async with httpx.AsyncClient(base_url=served.url) as http:
        r = await http.get(f"/threads/{thread['thread_id']}/runs/{run['run_id']}")
        assert r.status_code == 404, r.text
    # The same id again starts from nothing: no checkpoint of the old thread is left to continue.
    again = await client.threads.create(thread_id=thread["thread_id"], ttl=60)
    await client.runs.wait(again["thread_id"], "echo", input={})
    assert (await client.threads.get_state(again["thread_id"]))["values"]["steps"] == ["echo"]
    assert await history_length(client, again["thread_id"]) == 3


async def test_keep_latest_strategy_keeps_the_thread_and_only_its_latest_checkpoint(
    start_server: Start, tmp_path: Path
) -> None:
    served = start_server(ttl_project(tmp_path, strategy="keep_latest", default_ttl=0.02, **FAST_SWEEPS))
    client = get_client(url=served.url)
    thread = await client.threads.create(metadata={"kept": True})
    for _ in range(2):
        await client.runs.wait(thread["thread_id"], "echo", input={})
    assert await history_length(client, thread["thread_id"]) == 6
    await client.store.put_item(["memories", thread["thread_id"]], "note", {"text": "keep me"}, ttl=None)

    await until_pruned(client, thread["thread_id"])
    assert (await client.store.get_item(["memories", thread["thread_id"]], "note")) is not None
    kept = await client.threads.get(thread["thread_id"])
    assert kept["metadata"]["kept"] is True
    assert kept["values"] == {"steps": ["echo", "echo"], "text": ""}
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"]["steps"] == ["echo", "echo"]
    # The thread carries on from its latest state.
    await client.runs.wait(thread["thread_id"], "echo", input={})
    assert (await client.threads.get_state(thread["thread_id"]))["values"]["steps"] == ["echo"] * 3


async def test_a_threads_own_ttl_and_strategy_override_the_deployments(
    start_server: Start, tmp_path: Path
) -> None:
    # No default_ttl: only threads given a ttl expire.
    served = start_server(ttl_project(tmp_path, **FAST_SWEEPS))
    client = get_client(url=served.url)
    forever = await client.threads.create()
    deleted = await client.threads.create(ttl=0.02)  # minutes; the SDK sends strategy delete
    pruned = await client.threads.create(ttl={"ttl": 0.02, "strategy": "keep_latest"})
    patched = await client.threads.create()
    await client.threads.update(patched["thread_id"], metadata={"patched": 1}, ttl=0.02)
    for thread in (forever, pruned):
        await client.runs.wait(thread["thread_id"], "echo", input={})
        await client.runs.wait(thread["thread_id"], "echo", input={})

    await until_gone(client, deleted["thread_id"], patched["thread_id"])
    await until_pruned(client, pruned["thread_id"])
    assert await exists(client, forever["thread_id"])
    assert await history_length(client, forever["thread_id"]) == 6
    async with httpx.AsyncClient(base_url=served.url) as http:
        r = await http.get(f"/threads/{pruned['thread_id']}", params={"include": "ttl"})
        assert r.status_code == 200, r.text
        ttl = r.json()["ttl"]
        assert (ttl["strategy"], ttl["ttl_minutes"]) == ("keep_latest", 0.02)
        assert ttl["expires_at"] > r.json()["updated_at"]
        r = await http.get(f"/threads/{forever['thread_id']}", params={"include": "ttl"})
        assert "ttl" not in r.json(), r.text
        # Each swept thread is counted in /metrics, by strategy.
        r = await http.get("/metrics")
        assert r.status_code == 200, r.text
        swept = {
            sample.labels["strategy"]: sample.value
            for family in text_string_to_metric_families(r.text)
            if family.name == "graphdock_threads_swept"
            for sample in family.samples
            if sample.name == "graphdock_threads_swept_total"
        }
        assert swept == {"delete": 2, "keep_latest": 1}, r.text


async def test_a_thread_in_use_is_kept_while_an_unused_one_expires(
    start_server: Start, tmp_path: Path
) -> None:
    # 12 s: far longer than the gap between two uses below, however loaded the machine.
    served = start_server(ttl_project(tmp_path, default_ttl=0.2, **FAST_SWEEPS))
    client = get_client(url=served.url)
    unused = await client.threads.create()
    used = await client.threads.create()
    await client.runs.wait(used["thread_id"], "echo", input={})
    turn = 0
    while await exists(client, unused["thread_id"]):
        # Runs and state updates both restart the thread's clock.
        if turn % 2:
            await client.threads.update_state(used["thread_id"], {"text": f"turn {turn}"})
        else:
            await client.runs.wait(used["thread_id"], "echo", input={})
        turn += 1
        assert turn < DEADLINE_SECONDS / 0.2, "the unused thread was never swept"
        await asyncio.sleep(0.2)
    assert await exists(client, used["thread_id"])
    # Nothing of it went: every run it had is still listed.
    assert len(await client.runs.list(used["thread_id"], limit=100)) == (turn + 1) // 2 + 1


async def test_a_thread_with_a_run_in_progress_is_never_swept(start_server: Start, tmp_path: Path) -> None:
    served = start_server(ttl_project(tmp_path, default_ttl=0.005, **FAST_SWEEPS))
    client = get_client(url=served.url)
    busy = await client.threads.create()
    # Three nodes of 2 s each; a second run waits behind it (pending is in progress too).
    running = await client.runs.create(busy["thread_id"], "slow", input={"delay": 2})
    queued = await client.runs.create(busy["thread_id"], "echo", input={}, multitask_strategy="enqueue")
    await until_status(client, busy["thread_id"], running["run_id"], "running", seconds=60)
    # A thread made after the busy one, so its TTL passes later; once it is swept, sweeps have
    # passed the busy thread by.
    witness = await client.threads.create()
    await until_gone(client, witness["thread_id"])
    status = await client.runs.get(busy["thread_id"], running["run_id"])
    if status["status"] == "running":  # still running: its thread is still there (it was not swept)
        assert await exists(client, busy["thread_id"])
    assert await final_status(client, busy["thread_id"], running["run_id"], seconds=60) == "success"
    assert await final_status(client, busy["thread_id"], queued["run_id"], seconds=60) == "success"
    # Idle at last, it expires like any other.
    await until_gone(client, busy["thread_id"])


@pytest.mark.parametrize(
    ("ttl", "detail"),
    [
        (5, "ttl: Input should be a valid dictionary"),
        ({"ttl": 0}, "ttl.ttl: Input should be greater than 0"),
        ({"ttl": -3}, "ttl.ttl: Input should be greater than 0"),
        ({"ttl": "5"}, "ttl.ttl"),
        ({"ttl": 5, "strategy": "archive"}, "ttl.strategy"),
    ],
)
async def test_a_bad_ttl_is_422_and_creates_nothing(
    http: httpx.AsyncClient, ttl: object, detail: str, tag: dict[str, str]
) -> None:
    r = await http.post("/threads", json={"ttl": ttl, "metadata": tag})
    assert r.status_code == 422, r.text
    assert detail in r.json()["detail"], r.text
    found = await http.post("/threads/search", json={"metadata": tag})
    assert found.json() == [], found.text


async def test_ttl_is_not_a_field_search_can_select(http: httpx.AsyncClient, tag: dict[str, str]) -> None:
    r = await http.post("/threads/search", json={"metadata": tag, "select": ["thread_id", "ttl"]})
    assert r.status_code == 422, r.text
    assert "unknown fields ['ttl']" in r.json()["detail"]


async def test_patching_a_ttl_shows_in_include_ttl_and_other_include_values_are_ignored(
    http: httpx.AsyncClient,
) -> None:
    r = await http.post("/threads", json={})
    thread_id = r.json()["thread_id"]
    r = await http.get(f"/threads/{thread_id}", params={"include": "ttl"})
    assert "ttl" not in r.json(), r.text  # the shared server has no default_ttl
    r = await http.patch(f"/threads/{thread_id}", json={"ttl": {"ttl": 90, "strategy": "keep_latest"}})
    assert r.status_code == 200, r.text
    r = await http.get(f"/threads/{thread_id}", params={"include": "values,ttl"})
    assert r.status_code == 200, r.text
    assert r.json()["ttl"]["strategy"] == "keep_latest"
    assert r.json()["ttl"]["ttl_minutes"] == 90
    r = await http.patch(f"/threads/{thread_id}", json={"ttl": {"ttl": 0.5, "strategy": "forever"}})
    assert r.status_code == 422, r.text
    r = await http.get(f"/threads/{thread_id}", params={"include": "ttl"})
    assert r.json()["ttl"]["ttl_minutes"] == 90, "a refused PATCH changes nothing"

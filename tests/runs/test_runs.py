"""Runs through the official SDK: background runs, join, cancel, multitask, interrupts, errors, restarts."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError

from tests.conftest import TESTS, RunningServer
from tests.runs.waiting import new_thread, until_status

RUNS = TESTS / "graphs" / "runs.py"

# -- background runs, join, list, get, delete ------------------------------------------------------


async def test_a_background_run_is_pending_or_running_then_joins_with_the_thread_values(
    client: LangGraphClient,
) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(tid, "echo", input={"text": "hi"}, metadata={"purpose": "test"})
    assert run["status"] in ("pending", "running")
    assert run["thread_id"] == tid
    assert run["metadata"]["purpose"] == "test"
    assert run["metadata"]["graph_id"] == "echo"
    assert await client.runs.join(tid, run["run_id"]) == {"text": "hi", "steps": ["echo"]}
    done = await client.runs.get(tid, run["run_id"])
    assert done["status"] == "success"
    assert done["assistant_version"] == 1
    thread = await client.threads.get(tid)
    assert thread["status"] == "idle"
    assert thread["values"] == {"text": "hi", "steps": ["echo"]}
    assert thread["metadata"]["graph_id"] == "echo"


async def test_runs_list_newest_first_with_status_filter_and_paging(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    ok = [await client.runs.wait(tid, "echo", input={"text": str(i)}) for i in range(3)]
    assert [o["text"] for o in ok] == ["0", "1", "2"]
    await client.runs.wait(tid, "failing", input={"text": "x"}, raise_error=False)
    runs = await client.runs.list(tid)
    assert [r["status"] for r in runs] == ["error", "success", "success", "success"]
    assert [r["kwargs"]["input"]["text"] for r in runs[1:]] == ["2", "1", "0"]
    assert len(await client.runs.list(tid, status="success")) == 3
    assert [r["kwargs"]["input"]["text"] for r in await client.runs.list(tid, limit=2, offset=1)] == [
        "2",
        "1",
    ]


async def test_a_finished_run_can_be_deleted_and_is_then_gone(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(tid, "echo", input={"text": "x"})
    await client.runs.join(tid, run["run_id"])
    await client.runs.delete(tid, run["run_id"])
    with pytest.raises(NotFoundError):
        await client.runs.get(tid, run["run_id"])


async def test_an_active_run_cannot_be_deleted(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(tid, "slow", input={"delay": 0.2})
    with pytest.raises(ConflictError):
        await client.runs.delete(tid, run["run_id"])
    await client.runs.join(tid, run["run_id"])


async def test_a_run_on_another_thread_is_not_found(client: LangGraphClient) -> None:
    tid, other = await new_thread(client), await new_thread(client)
    run = await client.runs.create(tid, "echo", input={})
    with pytest.raises(NotFoundError):
        await client.runs.get(other, run["run_id"])
    await client.runs.join(tid, run["run_id"])


async def test_a_run_on_a_missing_thread_is_404_unless_if_not_exists_create(client: LangGraphClient) -> None:
    missing = "9b0c0a7e-1111-4222-8333-444455556666"
    with pytest.raises(NotFoundError):
        await client.runs.create(missing, "echo", input={})
    fresh = str(uuid.uuid4())
    result = await client.runs.wait(fresh, "echo", input={"text": "made"}, if_not_exists="create")
    assert result["text"] == "made"
    thread = await client.threads.get(fresh)
    assert thread["metadata"]["graph_id"] == "echo"


async def test_stateless_runs_leave_no_thread_behind(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    before = await client.threads.count()
    assert await client.runs.wait(None, "echo", input={"text": "s"}) == {"text": "s", "steps": ["echo"]}
    r = await http.post(
        "/runs/wait", json={"assistant_id": "echo", "input": {"text": "kept"}, "on_completion": "keep"}
    )
    assert r.status_code == 200, r.text
    run_path = r.headers["content-location"]
    kept_thread = run_path.split("/")[2]
    assert (await client.threads.get(kept_thread))["values"]["text"] == "kept"
    assert await client.threads.count() == before + 1, "only the on_completion=keep thread stays"


async def test_a_graph_compiled_with_a_checkpointer_runs_stateless_without_a_trace_and_on_threads_with_ours(
    start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    project = tmp_path / "langgraph.json"
    project.write_text(
        json.dumps({"dependencies": [str(RUNS.parent)], "graphs": {"echo": f"{RUNS}:remembering"}})
    )
    client = get_client(url=start_server(project).url)
    for text in ("a", "b"):  # each stateless run starts from nothing, and leaves no thread
        assert await client.runs.wait(None, "echo", input={"text": text}) == {"text": text, "steps": ["echo"]}
    assert await client.threads.count() == 0
    tid = await new_thread(client)
    for _ in range(2):
        await client.runs.wait(tid, "echo", input={"text": "t"})
    assert (await client.threads.get_state(tid))["values"] == {"text": "t", "steps": ["echo", "echo"]}
    assert len(await client.threads.get_history(tid, limit=100)) == 6, "graphdock's checkpointer on a thread"


async def test_batch_creates_stateless_runs(client: LangGraphClient) -> None:
    runs = await client.runs.create_batch(
        [{"assistant_id": "echo", "input": {"text": str(i)}} for i in range(3)]
    )
    assert len(runs) == 3
    assert len({r["run_id"] for r in runs}) == 3
    assert all(r["status"] in ("pending", "running", "success") for r in runs)


# -- errors in graphs ------------------------------------------------------------------------------


async def test_a_failing_graph_ends_in_error_with_type_and_message(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    with pytest.raises(Exception, match="ValueError: cannot handle 'boom'"):
        await client.runs.wait(tid, "failing", input={"text": "boom"})
    run = (await client.runs.list(tid))[0]
    assert run["status"] == "error"
    assert run["error"] == {"error": "ValueError", "message": "cannot handle 'boom'"}
    assert (await client.threads.get(tid))["status"] == "error"
    assert await client.runs.join(tid, run["run_id"]) == {"__error__": run["error"]}
    # The server keeps serving, and the thread takes the next run.
    assert (await client.runs.wait(tid, "echo", input={"text": "after"}))["text"] == "after"
    assert (await client.threads.get(tid))["status"] == "idle"


# -- interrupts ------------------------------------------------------------------------------------


async def test_interrupt_inside_a_node_then_resume_with_command(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    paused = await client.runs.wait(tid, "interrupting", input={"text": "q"})
    assert paused["steps"] == ["before"]
    [interrupt] = paused["__interrupt__"]
    assert interrupt["value"] == {"question": "approve?", "text": "q"}
    thread = await client.threads.get(tid)
    assert thread["status"] == "interrupted"
    assert [i["value"] for items in thread["interrupts"].values() for i in items] == [interrupt["value"]]
    state = await client.threads.get_state(tid)
    assert state["next"] == ["ask"]

    resumed = await client.runs.wait(tid, "interrupting", command={"resume": "yes"})
    assert resumed == {"text": "q", "steps": ["before", "answer:yes", "after"]}
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_command_update_and_goto(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    await client.runs.wait(tid, "interrupting", input={"text": "q"})
    resumed = await client.runs.wait(
        tid, "interrupting", command={"resume": "ok", "update": {"text": "changed"}}
    )
    assert resumed["text"] == "changed"
    jumped = await client.runs.wait(tid, "interrupting", command={"goto": "after"})
    assert jumped["steps"][-1] == "after"


@pytest.mark.parametrize(
    ("where", "expected_next", "expected_steps"),
    [("interrupt_before", ["b"], ["a"]), ("interrupt_after", ["b"], ["a"])],
)
async def test_interrupt_before_and_after_then_continue(
    client: LangGraphClient, where: str, expected_next: list[str], expected_steps: list[str]
) -> None:
    tid = await new_thread(client)
    node = "b" if where == "interrupt_before" else "a"
    paused = await client.runs.wait(tid, "slow", input={"delay": 0}, **{where: [node]})
    assert paused["steps"] == expected_steps
    assert (await client.threads.get_state(tid))["next"] == expected_next
    assert (await client.threads.get(tid))["status"] == "interrupted"
    done = await client.runs.wait(tid, "slow", input=None)
    assert done["steps"] == ["a", "b", "c"]


# -- cancel --------------------------------------------------------------------------------------


async def test_cancel_interrupt_stops_a_running_run_and_keeps_what_it_did(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(tid, "slow", input={"delay": 0.3})
    await until_status(client, tid, run["run_id"], "running")
    await asyncio.sleep(0.4)  # a has finished, b is sleeping
    await client.runs.cancel(tid, run["run_id"], wait=True)
    done = await client.runs.get(tid, run["run_id"])
    assert done["status"] == "interrupted"
    thread = await client.threads.get(tid)
    assert thread["status"] != "busy"
    assert thread["values"]["steps"] == ["a"]


async def test_cancel_rollback_removes_the_run_and_its_checkpoints(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    await client.runs.wait(tid, "slow", input={"delay": 0})
    before = await client.threads.get_state(tid)
    run = await client.runs.create(tid, "slow", input={"delay": 0.3})
    await until_status(client, tid, run["run_id"], "running")
    await asyncio.sleep(0.4)
    await client.runs.cancel(tid, run["run_id"], wait=True, action="rollback")
    with pytest.raises(NotFoundError):
        await client.runs.get(tid, run["run_id"])
    after = await client.threads.get_state(tid)
    assert after["checkpoint"]["checkpoint_id"] == before["checkpoint"]["checkpoint_id"]
    assert after["values"] == before["values"]


async def test_cancel_without_wait_answers_202_and_the_run_stops(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(tid, "slow", input={"delay": 0.5})
    r = await http.post(f"/threads/{tid}/runs/{run['run_id']}/cancel")
    assert r.status_code == 202, r.text
    assert (await until_status(client, tid, run["run_id"], "interrupted"))["status"] == "interrupted"


async def test_cancel_many_by_thread_and_by_status(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    first = await client.runs.create(tid, "slow", input={"delay": 0.3})
    queued = await client.runs.create(tid, "echo", input={})
    await client.runs.cancel_many(thread_id=tid, run_ids=[queued["run_id"]])
    assert (await client.runs.get(tid, queued["run_id"]))["status"] == "interrupted"
    await client.runs.cancel_many(thread_id=tid)
    assert (await until_status(client, tid, first["run_id"], "interrupted"))["status"] == "interrupted"


# -- double-texting ----------------------------------------------------------------------------------


async def test_multitask_reject_answers_409_while_a_run_is_active(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    first = await client.runs.create(tid, "slow", input={"delay": 0.2})
    with pytest.raises(ConflictError):
        await client.runs.create(tid, "echo", input={}, multitask_strategy="reject")
    await client.runs.join(tid, first["run_id"])
    assert [r["run_id"] for r in await client.runs.list(tid)] == [first["run_id"]]


async def test_multitask_interrupt_stops_the_active_run_and_runs_the_new_one(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    first = await client.runs.create(tid, "slow", input={"delay": 0.3})
    await until_status(client, tid, first["run_id"], "running")
    second = await client.runs.create(tid, "echo", input={"text": "new"}, multitask_strategy="interrupt")
    assert (await client.runs.join(tid, second["run_id"]))["text"] == "new"
    assert (await client.runs.get(tid, first["run_id"]))["status"] == "interrupted"


async def test_multitask_rollback_forgets_the_active_run(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    first = await client.runs.create(tid, "slow", input={"delay": 0.3})
    await until_status(client, tid, first["run_id"], "running")
    second = await client.runs.create(tid, "echo", input={"text": "new"}, multitask_strategy="rollback")
    result = await client.runs.join(tid, second["run_id"])
    assert result == {"text": "new", "steps": ["echo"]}, "nothing of the rolled-back run remains in the state"
    with pytest.raises(NotFoundError):
        await client.runs.get(tid, first["run_id"])


async def test_multitask_enqueue_runs_one_after_the_other(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    first = await client.runs.create(tid, "slow", input={"delay": 0.1})
    second = await client.runs.create(tid, "echo", input={"text": "next"}, multitask_strategy="enqueue")
    assert (await client.runs.get(tid, second["run_id"]))["status"] == "pending"
    result = await client.runs.join(tid, second["run_id"])
    assert result["steps"] == ["a", "b", "c", "echo"], "the second run saw the first one's state"
    runs = {r["run_id"]: r for r in await client.runs.list(tid)}
    assert runs[first["run_id"]]["status"] == runs[second["run_id"]]["status"] == "success"
    assert runs[first["run_id"]]["updated_at"] <= runs[second["run_id"]]["updated_at"]


async def test_only_one_run_per_thread_is_ever_running(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    for _ in range(5):
        await client.runs.create(tid, "slow", input={"delay": 0.02})
    seen_running: list[int] = []
    for _ in range(100):
        statuses = [r["status"] for r in await client.runs.list(tid, limit=10)]
        seen_running.append(statuses.count("running"))
        if all(s == "success" for s in statuses):
            break
        await asyncio.sleep(0.01)
    assert max(seen_running) <= 1
    assert (await client.threads.get(tid))["values"]["steps"] == ["a", "b", "c"] * 5


async def test_a_delayed_run_starts_after_its_delay(client: LangGraphClient) -> None:
    tid = await new_thread(client)
    run = await client.runs.create(tid, "echo", input={"text": "later"}, after_seconds=1)
    await asyncio.sleep(0.3)
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "pending"
    assert (await client.runs.join(tid, run["run_id"]))["text"] == "later"


# -- restarts --------------------------------------------------------------------------------------


async def test_queued_runs_survive_a_restart_and_run_after_it(
    start_server: Callable[..., RunningServer], tmp_path: Any
) -> None:
    db = tmp_path / "restart.sqlite3"
    first = start_server(db=db, run_concurrency=1, shutdown_grace_seconds=0)
    sdk = get_client(url=first.url)
    tid = (await sdk.threads.create())["thread_id"]
    running = await sdk.runs.create(tid, "slow", input={"delay": 5})
    await until_status(sdk, tid, running["run_id"], "running")
    other = (await sdk.threads.create())["thread_id"]
    queued = await sdk.runs.create(other, "echo", input={"text": "queued"}, after_seconds=0.5)
    await sdk.aclose()
    first.stop()

    second = start_server(db=db, run_concurrency=1)
    sdk = get_client(url=second.url)
    try:
        interrupted = await sdk.runs.get(tid, running["run_id"])
        assert interrupted["status"] == "interrupted", "shutdown marks in-flight runs interrupted"
        assert "shut down" in interrupted["error"]["message"]
        assert (await sdk.runs.join(other, queued["run_id"]))["text"] == "queued"
        assert (await sdk.runs.get(other, queued["run_id"]))["status"] == "success"
    finally:
        await sdk.aclose()


async def test_shutdown_lets_a_short_run_finish(
    start_server: Callable[..., RunningServer], tmp_path: Any
) -> None:
    db = tmp_path / "drain.sqlite3"
    first = start_server(db=db, shutdown_grace_seconds=10)
    sdk = get_client(url=first.url)
    tid = (await sdk.threads.create())["thread_id"]
    run = await sdk.runs.create(tid, "slow", input={"delay": 0.2})
    await until_status(sdk, tid, run["run_id"], "running")
    await sdk.aclose()
    first.stop()
    second = start_server(db=db)
    sdk = get_client(url=second.url)
    try:
        assert (await sdk.runs.get(tid, run["run_id"]))["status"] == "success"
        assert (await sdk.threads.get(tid))["values"]["steps"] == ["a", "b", "c"]
    finally:
        await sdk.aclose()

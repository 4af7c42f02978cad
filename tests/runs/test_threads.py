"""Threads through the official SDK: rows, search, copy, prune, state, history."""

from __future__ import annotations

import uuid

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import BadRequestError, ConflictError, NotFoundError, UnprocessableEntityError


async def test_create_get_update_delete(client: LangGraphClient, tag: dict[str, str]) -> None:
    thread_id = str(uuid.uuid4())
    made = await client.threads.create(thread_id=thread_id, metadata={**tag, "a": 1})
    assert made["thread_id"] == thread_id
    assert (made["status"], made["values"], made["interrupts"]) == ("idle", None, {})
    with pytest.raises(ConflictError):
        await client.threads.create(thread_id=thread_id)
    same = await client.threads.create(
        thread_id=thread_id, if_exists="do_nothing", metadata={"ignored": True}
    )
    assert same["metadata"] == {**tag, "a": 1}
    updated = await client.threads.update(thread_id, metadata={"b": 2})
    assert updated["metadata"] == {**tag, "a": 1, "b": 2}, "metadata is merged"
    assert (await client.threads.get(thread_id))["metadata"]["b"] == 2
    await client.threads.delete(thread_id)
    with pytest.raises(NotFoundError):
        await client.threads.get(thread_id)
    with pytest.raises(NotFoundError):
        await client.threads.delete(thread_id)


async def test_search_by_metadata_values_status_and_ids(client: LangGraphClient, tag: dict[str, str]) -> None:
    one = await client.threads.create(metadata={**tag, "user": {"id": 1}})
    two = await client.threads.create(metadata={**tag, "user": {"id": 2}})
    await client.runs.wait(two["thread_id"], "echo", input={"text": "searched"})
    three = await client.threads.create(metadata=tag)
    await client.runs.wait(three["thread_id"], "interrupting", input={"text": "q"})

    def ids(found: list) -> list[str]:  # type: ignore[type-arg]
        return [t["thread_id"] for t in found]

    assert ids(await client.threads.search(metadata={**tag, "user": {"id": 1}})) == [one["thread_id"]]
    assert ids(await client.threads.search(metadata=tag, values={"text": "searched"})) == [two["thread_id"]]
    assert ids(await client.threads.search(metadata=tag, status="interrupted")) == [three["thread_id"]]
    newest_first = ids(await client.threads.search(metadata=tag))
    assert newest_first == [three["thread_id"], two["thread_id"], one["thread_id"]]
    oldest_first = ids(await client.threads.search(metadata=tag, sort_by="created_at", sort_order="asc"))
    assert oldest_first == newest_first[::-1]
    assert ids(await client.threads.search(metadata=tag, limit=1, offset=1)) == [two["thread_id"]]
    assert ids(await client.threads.search(ids=[one["thread_id"]])) == [one["thread_id"]]
    assert await client.threads.count(metadata=tag) == 3
    assert await client.threads.count(metadata=tag, status="interrupted") == 1


async def test_search_pagination_header_and_select(http: httpx.AsyncClient, tag: dict[str, str]) -> None:
    for _ in range(3):
        assert (await http.post("/threads", json={"metadata": tag})).status_code == 200
    r = await http.post(
        "/threads/search", json={"metadata": tag, "limit": 2, "select": ["thread_id", "status"]}
    )
    assert r.status_code == 200, r.text
    assert r.headers["x-pagination-next"] == "2"
    assert all(set(t) == {"thread_id", "status"} for t in r.json())
    r = await http.post("/threads/search", json={"metadata": tag, "select": ["nope"]})
    assert r.status_code == 422, r.text


async def test_state_update_as_node_and_at_a_checkpoint(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    empty = await client.threads.get_state(tid)
    assert (empty["values"], empty["next"], empty["checkpoint"]["checkpoint_id"]) == ({}, [], None)
    # A thread no run has used has no graph to apply the update with: 400, as on the official server.
    with pytest.raises(BadRequestError) as refused:
        await client.threads.update_state(tid, {"text": "x"})
    assert "run an assistant" in refused.value.response.json()["detail"]

    await client.runs.wait(tid, "echo", input={"text": "first"})
    first = await client.threads.get_state(tid)
    assert first["values"] == {"text": "first", "steps": ["echo"]}
    assert first["metadata"]["graph_id"] == "echo"

    saved = await client.threads.update_state(tid, {"text": "edited", "steps": ["manual"]}, as_node="echo")
    assert saved["checkpoint"]["thread_id"] == tid
    now = await client.threads.get_state(tid)
    assert now["values"] == {"text": "edited", "steps": ["echo", "manual"]}, "reducers apply to updates"
    assert (await client.threads.get(tid))["values"]["text"] == "edited", "the thread row follows"

    at_first = await client.threads.get_state(tid, checkpoint_id=first["checkpoint"]["checkpoint_id"])
    assert at_first["values"] == first["values"]
    by_body = await client.threads.get_state(tid, checkpoint=first["checkpoint"])
    assert by_body["values"] == first["values"]
    with pytest.raises(NotFoundError):
        await client.threads.get_state(tid, checkpoint_id="1f000000-0000-6000-8000-000000000000")
    with pytest.raises(UnprocessableEntityError):
        await client.threads.update_state(tid, {"text": "x"}, as_node="no-such-node")


async def test_history_newest_first_with_limit_before_and_metadata(client: LangGraphClient) -> None:
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "slow", input={"delay": 0})
    history = await client.threads.get_history(tid, limit=100)
    steps = [h["metadata"]["step"] for h in history]
    assert steps == sorted(steps, reverse=True)
    assert history[0]["values"]["steps"] == ["a", "b", "c"]
    assert len(await client.threads.get_history(tid, limit=2)) == 2
    before = await client.threads.get_history(tid, limit=100, before=history[1]["checkpoint"])
    assert [h["checkpoint"]["checkpoint_id"] for h in before] == [
        h["checkpoint"]["checkpoint_id"] for h in history[2:]
    ]
    inputs = await client.threads.get_history(tid, limit=100, metadata={"source": "input"})
    assert [h["metadata"]["source"] for h in inputs] == ["input"]


@pytest.mark.parametrize("key", ["a b", "", "é", "a'b", "step\n", "$.x", ".a", "a.", "a..b"])
async def test_a_history_filter_key_a_checkpointer_cannot_match_is_422(
    client: LangGraphClient, key: str
) -> None:
    """Found by fuzzing: SQLite's checkpointer raised ValueError (a 500) on such keys."""
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "slow", input={"delay": 0})
    with pytest.raises(UnprocessableEntityError, match="filter key"):
        await client.threads.get_history(tid, metadata={key: 1})


async def test_copy_takes_the_state_and_history_with_it(client: LangGraphClient) -> None:
    tid = (await client.threads.create(metadata={"origin": "yes"}))["thread_id"]
    await client.runs.wait(tid, "slow", input={"delay": 0})
    copy = await client.threads.copy(tid)
    assert copy["thread_id"] != tid
    assert copy["metadata"]["origin"] == "yes"
    assert copy["values"]["steps"] == ["a", "b", "c"]
    original_history = await client.threads.get_history(tid, limit=100)
    copied_history = await client.threads.get_history(copy["thread_id"], limit=100)
    assert [h["values"] for h in copied_history] == [h["values"] for h in original_history]
    # The copy lives on independently.
    more = await client.runs.wait(copy["thread_id"], "echo", input={"text": "copy only"})
    assert more["steps"] == ["a", "b", "c", "echo"]
    assert (await client.threads.get_state(tid))["values"]["steps"] == ["a", "b", "c"]


async def test_prune_keep_latest_and_delete(client: LangGraphClient) -> None:
    keep = (await client.threads.create())["thread_id"]
    drop = (await client.threads.create())["thread_id"]
    for tid in (keep, drop):
        await client.runs.wait(tid, "slow", input={"delay": 0})
    result = await client.threads.prune([keep], strategy="keep_latest")
    assert result == {"pruned_count": 1}
    history = await client.threads.get_history(keep, limit=100)
    assert len(history) == 1
    assert history[0]["values"]["steps"] == ["a", "b", "c"]
    assert (await client.runs.wait(keep, "echo", input={"text": "on"}))["steps"] == ["a", "b", "c", "echo"]
    assert await client.threads.prune([drop], strategy="delete") == {"pruned_count": 1}
    with pytest.raises(NotFoundError):
        await client.threads.get(drop)


async def test_deleting_a_busy_thread_stops_its_run(client: LangGraphClient) -> None:
    tid = (await client.threads.create())["thread_id"]
    await client.runs.create(tid, "slow", input={"delay": 0.5})
    await client.threads.delete(tid)
    with pytest.raises(NotFoundError):
        await client.threads.get(tid)


async def test_deleting_an_assistant_with_delete_threads_removes_its_threads(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    a = await client.assistants.create("echo")
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, a["assistant_id"], input={"text": "x"})
    kept = (await client.threads.create())["thread_id"]
    await client.runs.wait(kept, "echo", input={"text": "y"})
    r = await http.delete(f"/assistants/{a['assistant_id']}", params={"delete_threads": "true"})
    assert r.status_code == 204, r.text
    with pytest.raises(NotFoundError):
        await client.threads.get(tid)
    assert (await client.threads.get(kept))["values"]["text"] == "y"

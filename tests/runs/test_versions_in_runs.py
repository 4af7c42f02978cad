"""The guide's promise, end to end: every run uses the active version, records it, and can pin one.

The `observer` graph reports what the run saw — configurable and context, both — so each step
of the guide is checked in what the graph actually received, not only in the assistant's row.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import BadRequestError, NotFoundError, UnprocessableEntityError

V1 = {"configurable": {"model_name": "openai", "system_prompt": "You are a helpful assistant."}}
V2 = {"configurable": {"model_name": "anthropic", "system_prompt": "You are an unhelpful assistant!"}}


def saw(result: dict[str, Any]) -> dict[str, Any]:
    seen: dict[str, Any] = result["seen"]
    return seen


def prompt_of(seen: dict[str, Any]) -> tuple[str, str]:
    """(configurable prompt, context prompt): the two must always agree."""
    return seen["configurable_prompt"], seen["context_prompt"]


async def test_guide_with_runs_every_run_sees_the_active_version(client: LangGraphClient) -> None:
    a = await client.assistants.create("observer", config=V1, name="Open AI Assistant")
    aid = a["assistant_id"]

    # Run → sees v1 (new thread).
    thread = await client.threads.create()
    tid = thread["thread_id"]
    first = await client.runs.wait(tid, aid, input={"text": "hi"})
    assert prompt_of(saw(first)) == ("You are a helpful assistant.",) * 2
    assert saw(first)["assistant_version"] == 1

    # Update → v2; a new thread and the *same* thread both see v2.
    await client.assistants.update(aid, config=V2)
    new_thread = await client.runs.wait(None, aid, input={"text": "hi"})
    same_thread = await client.runs.wait(tid, aid, input={"text": "again"})
    for result in (new_thread, same_thread):
        assert prompt_of(saw(result)) == ("You are an unhelpful assistant!",) * 2
        assert (saw(result)["configurable_model"], saw(result)["context_model"]) == ("anthropic", "anthropic")
        assert saw(result)["assistant_version"] == 2

    # set_latest(1) → runs see v1 again, in configurable *and* context, on the old thread too.
    await client.assistants.set_latest(aid, 1)
    rolled_back = await client.runs.wait(tid, aid, input={"text": "after rollback"})
    assert prompt_of(saw(rolled_back)) == ("You are a helpful assistant.",) * 2
    assert (saw(rolled_back)["configurable_model"], saw(rolled_back)["context_model"]) == ("openai", "openai")

    # The run objects say which version ran.
    runs = await client.runs.list(tid)
    assert [r["assistant_version"] for r in runs] == [1, 2, 1]
    assert all(r["assistant_id"] == aid for r in runs)

    # A run pinned to version 2 sees v2 while v1 stays active.
    pinned = await client.runs.wait(tid, f"{aid}@2", input={"text": "pinned"})
    assert prompt_of(saw(pinned)) == ("You are an unhelpful assistant!",) * 2
    assert saw(pinned)["assistant_version"] == 2
    assert (await client.runs.list(tid, limit=1))[0]["assistant_version"] == 2
    assert (await client.assistants.get(aid))["version"] == 1, "pinning changes nothing on the assistant"


async def test_checkpoints_record_the_assistant_version_that_wrote_them(client: LangGraphClient) -> None:
    a = await client.assistants.create("observer", config=V1)
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], a["assistant_id"], input={"text": "one"})
    await client.assistants.update(a["assistant_id"], config=V2)
    await client.runs.wait(thread["thread_id"], a["assistant_id"], input={"text": "two"})

    history = await client.threads.get_history(thread["thread_id"], limit=100)
    by_run: dict[str, set[int]] = {}
    for state in history:
        meta = state["metadata"]
        by_run.setdefault(meta["run_id"], set()).add(meta["assistant_version"])
    assert sorted(v for versions in by_run.values() for v in versions) == [1, 2]
    state = await client.threads.get_state(thread["thread_id"])
    assert state["metadata"]["assistant_version"] == 2
    assert state["metadata"]["assistant_id"] == a["assistant_id"]


async def test_a_queued_run_uses_the_version_active_when_it_starts(client: LangGraphClient) -> None:
    a = await client.assistants.create("observer", config=V1)
    slow = await client.assistants.create("slow")
    thread = await client.threads.create()
    tid = thread["thread_id"]
    blocker = await client.runs.create(tid, slow["assistant_id"], input={"delay": 0.3})
    queued = await client.runs.create(
        tid, a["assistant_id"], input={"text": "q"}, multitask_strategy="enqueue"
    )
    await client.assistants.update(a["assistant_id"], config=V2)  # while `queued` waits
    await client.runs.join(tid, blocker["run_id"])
    result = await client.runs.join(tid, queued["run_id"])
    assert saw(result)["assistant_version"] == 2
    assert (await client.runs.get(tid, queued["run_id"]))["assistant_version"] == 2


async def test_a_run_context_is_merged_over_the_assistant_context(client: LangGraphClient) -> None:
    a = await client.assistants.create("observer", context={"model_name": "openai", "system_prompt": "base"})
    result = await client.runs.wait(None, a["assistant_id"], input={}, context={"system_prompt": "override"})
    assert (saw(result)["context_model"], saw(result)["context_prompt"]) == ("openai", "override")


async def test_a_run_config_adds_tags_to_the_assistant_tags(client: LangGraphClient) -> None:
    a = await client.assistants.create("observer", config={"tags": ["from-assistant"]})
    result = await client.runs.wait(None, a["assistant_id"], input={}, config={"tags": ["from-run"]})
    assert saw(result)["tags"][:2] == ["from-assistant", "from-run"]


@pytest.mark.parametrize("suffix", ["@3", "@0", "@99999999999"])
async def test_pinning_a_version_that_does_not_exist_is_404_at_creation(
    client: LangGraphClient, suffix: str
) -> None:
    a = await client.assistants.create("observer", config=V1)
    thread = await client.threads.create()
    with pytest.raises((NotFoundError, UnprocessableEntityError)) as caught:
        await client.runs.create(thread["thread_id"], a["assistant_id"] + suffix, input={})
    expected = 422 if suffix == "@0" else 404
    assert caught.value.response.status_code == expected, caught.value.response.text
    assert await client.runs.list(thread["thread_id"]) == [], "nothing was queued"


async def test_a_graph_id_may_be_pinned_too(client: LangGraphClient) -> None:
    result = await client.runs.wait(None, "observer@1", input={})
    assert saw(result)["assistant_version"] == 1


async def test_a_run_whose_merged_context_violates_the_schema_is_422_naming_the_field(
    client: LangGraphClient,
) -> None:
    a = await client.assistants.create("observer", context={"model_name": "openai"})
    thread = await client.threads.create()
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.runs.create(
            thread["thread_id"], a["assistant_id"], input={}, context={"model_name": "gpt-4"}
        )
    assert "context.model_name" in caught.value.response.json()["detail"]
    assert await client.runs.list(thread["thread_id"]) == []


async def test_a_run_missing_a_required_context_field_is_422(client: LangGraphClient) -> None:
    # `agent` requires system_prompt; its default assistant has none and neither does the run.
    # (runs.wait raises httpx's own HTTPStatusError: the SDK does not type errors on that path.)
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await client.runs.wait(None, "agent", input={"messages": []})
    assert caught.value.response.status_code == 422
    assert "system_prompt" in caught.value.response.json()["detail"]
    ok = await client.runs.wait(None, "agent", input={"messages": []}, context={"system_prompt": "hi"})
    assert ok["messages"][-1]["content"].startswith("[anthropic] hi")


async def test_configurable_and_context_together_is_400(client: LangGraphClient) -> None:
    with pytest.raises(BadRequestError):
        await client.runs.create(
            None, "observer", input={}, config={"configurable": {"model_name": "openai"}}, context={"x": 1}
        )


async def test_an_unknown_assistant_is_404_and_a_malformed_one_422(client: LangGraphClient) -> None:
    with pytest.raises(NotFoundError):
        await client.runs.create(None, "6f1b2c3d-0000-4000-8000-000000000000", input={})
    with pytest.raises(UnprocessableEntityError):
        await client.runs.create(None, "no-such-graph", input={})

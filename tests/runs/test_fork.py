"""A run from an earlier checkpoint (a fork): its result and the thread's values are the fork's end,
never the checkpoint it started from (found by the UI's fork button)."""

from __future__ import annotations

from langgraph_sdk.client import LangGraphClient


async def test_a_run_from_an_earlier_checkpoint_leaves_the_thread_at_the_forks_end(
    client: LangGraphClient,
) -> None:
    a = await client.assistants.create("echo")
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, a["assistant_id"], input={"text": "first"})
    await client.runs.wait(tid, a["assistant_id"], input={"text": "second"})
    history = await client.threads.get_history(tid, limit=20)
    # The end of the first run: before the second run's input.
    first_end = next(c for c in history if c["values"].get("text") == "first" and not c["next"])

    result = await client.runs.wait(
        tid,
        a["assistant_id"],
        input={"text": "forked"},
        checkpoint_id=first_end["checkpoint"]["checkpoint_id"],
    )
    assert result == {"text": "forked", "steps": ["echo", "echo"]}
    thread = await client.threads.get(tid)
    assert thread["values"] == {"text": "forked", "steps": ["echo", "echo"]}
    state = await client.threads.get_state(tid)
    assert state["values"] == thread["values"]
    assert state["parent_checkpoint"] is not None

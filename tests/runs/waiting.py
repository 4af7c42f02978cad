"""What run tests share: a fresh thread, and waiting (polling) until a run reaches a status."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph_sdk.client import LangGraphClient

ENDED = ("success", "error", "interrupted", "timeout")


async def new_thread(client: LangGraphClient) -> str:
    thread_id: str = (await client.threads.create())["thread_id"]
    return thread_id


async def until_status(
    client: LangGraphClient, thread_id: str, run_id: str, *wanted: str, seconds: float = 6
) -> dict[str, Any]:
    """The run once its status is one of `wanted` (polled every 20 ms for up to `seconds`)."""
    status = "?"
    for _ in range(int(seconds / 0.02)):
        run = await client.runs.get(thread_id, run_id)
        status = run["status"]
        if status in wanted:
            return dict(run)
        await asyncio.sleep(0.02)
    raise AssertionError(f"run {run_id} never reached {wanted}: still {status} after {seconds}s")


async def final_status(client: LangGraphClient, thread_id: str, run_id: str, seconds: float = 5) -> str:
    """The run's status once it has ended."""
    status: str = (await until_status(client, thread_id, run_id, *ENDED, seconds=seconds))["status"]
    return status

"""What the retention tests share: a project whose langgraph.json sets checkpointer.ttl, and
polling until a thread is gone or pruned (generous deadlines, never a timed assertion)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError

from tests.conftest import TESTS

RUNS = TESTS / "graphs" / "runs.py"
# Waits are bounded only to fail a broken build eventually; a loaded machine may need most of it.
DEADLINE_SECONDS = 120.0


def ttl_project(folder: Path, **ttl: Any) -> Path:
    """A langgraph.json serving the run test graphs with `checkpointer.ttl` = `ttl`."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "langgraph.json"
    config.write_text(
        json.dumps(
            {
                "dependencies": [str(RUNS.parent)],
                "graphs": {"echo": f"{RUNS}:echo", "slow": f"{RUNS}:slow"},
                "checkpointer": {"ttl": ttl},
            }
        )
    )
    return config


async def exists(client: LangGraphClient, thread_id: str) -> bool:
    try:
        await client.threads.get(thread_id)
    except NotFoundError:
        return False
    return True


async def until_gone(client: LangGraphClient, *thread_ids: str) -> None:
    for _ in range(int(DEADLINE_SECONDS / 0.1)):
        if not [t for t in thread_ids if await exists(client, t)]:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"threads {thread_ids} were never swept")


async def history_length(client: LangGraphClient, thread_id: str) -> int:
    return len(await client.threads.get_history(thread_id, limit=100))


async def until_pruned(client: LangGraphClient, thread_id: str) -> None:
    """Until only the latest checkpoint is left."""
    for _ in range(int(DEADLINE_SECONDS / 0.1)):
        if await history_length(client, thread_id) == 1:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"thread {thread_id} was never pruned")

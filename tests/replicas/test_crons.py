"""Crons on two replicas sharing one PostgreSQL and Redis: every firing makes exactly one run.

Both replicas' schedulers look for due crons every second; a firing is claimed in the database,
so whichever replica claims it makes the run and the other skips it. The test lets twelve crons
fire at two minute marks (about one to two minutes; GRAPHDOCK_TEST_CRON_FIRINGS=N for N, to watch
them longer by hand), then pauses them and looks at the runs: one per cron per minute, none missed
in between, none twice.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from datetime import datetime, timedelta

from langgraph_sdk import get_client

from tests.replicas.conftest import Replicas

CRONS = 12
FIRINGS = int(os.environ.get("GRAPHDOCK_TEST_CRON_FIRINGS", "2"))


async def test_every_firing_makes_exactly_one_run_across_two_replicas(replicas: Replicas) -> None:
    a, b = replicas.start_together(2, cron_tick_seconds=1)
    clients = [get_client(url=a.url, timeout=60), get_client(url=b.url, timeout=60)]
    threads = [(await clients[i % 2].threads.create())["thread_id"] for i in range(CRONS)]
    crons = [
        await clients[i % 2].crons.create_for_thread(
            tid, "echo", schedule="* * * * *", input={"text": str(i)}
        )
        for i, tid in enumerate(threads)
    ]

    async def cron_runs(tid: str) -> list[dict[str, object]]:
        return [dict(r) for r in await clients[0].runs.list(tid, limit=100) if r["metadata"].get("cron_id")]

    deadline = time.monotonic() + 60 * (FIRINGS + 2)
    while min([len(await cron_runs(tid)) for tid in threads]) < FIRINGS:
        assert time.monotonic() < deadline, f"the crons did not fire {FIRINGS} times in {FIRINGS + 2} minutes"
        await asyncio.sleep(1)
    for i, cron in enumerate(crons):
        await clients[i % 2].crons.update(cron["cron_id"], enabled=False)
    await asyncio.sleep(2)  # a firing claimed just before the pause has its run created by now

    for tid, cron in zip(threads, crons, strict=True):
        runs = await cron_runs(tid)
        assert {r["metadata"]["cron_id"] for r in runs} == {cron["cron_id"]}  # type: ignore[index]
        minutes = Counter(
            datetime.fromisoformat(str(r["created_at"])).replace(second=0, microsecond=0) for r in runs
        )
        assert max(minutes.values()) == 1, f"a firing made two runs: {minutes}"
        first, last = min(minutes), max(minutes)
        expected = {
            first + timedelta(minutes=k) for k in range(int((last - first).total_seconds()) // 60 + 1)
        }
        assert set(minutes) == expected, f"a firing was missed: {sorted(minutes)}"
    for replica in (a, b):
        assert "Traceback" not in replica.log.read_text()
    for client in clients:
        await client.aclose()

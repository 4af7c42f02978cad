"""The run worker against a real SQLite database: a cancel that reaches a run between its claim and
its executor's first step still lands inside the executor (which records how the run ended), and
GET /ok says when the worker has stopped.

Seen in CI on PostgreSQL + Redis: a cancel signal arrived in that window, the task was cancelled
before it ever ran, and the run stayed "running" with nothing executing it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from graphdock.domain.run_rules import admission
from graphdock.domain.worker import Worker
from graphdock.storage import storage_for
from graphdock.storage.threads import ExpiredLeases, NewThread, Run
from tests.storage.test_contract_threads import make_run


async def test_a_run_cancelled_before_its_first_step_still_enters_its_executor(tmp_path: Path) -> None:
    storage = storage_for(f"sqlite:///{tmp_path}/w.sqlite3")
    await storage.open()
    entered: list[str] = []
    stopped: list[str] = []

    async def execute(run: Run) -> None:
        entered.append(run.run_id)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            stopped.append(worker.settle(run.run_id))

    async def nothing_expired(_: ExpiredLeases) -> None:
        return None

    worker = Worker(
        storage, execute, concurrency=4, lease_seconds=30, max_attempts=3, on_expired=nothing_expired
    )
    try:
        await storage.create_run(
            make_run("run-1", "thread-1"), new_thread=NewThread({}), admit=admission("enqueue")
        )
        worker.start()
        # Poll one event-loop step at a time, so the cancel comes as soon as the task exists: in
        # the same turn as its creation, before its first step.
        for _ in range(100_000):
            if worker.is_running("run-1"):
                break
            await asyncio.sleep(0)
        assert worker.cancel("run-1", "interrupt")
        assert entered == [], (
            "the cancel must come before the task's first step for this test to mean anything"
        )
        await asyncio.wait_for(worker.finished("run-1"), timeout=5)
        assert (entered, stopped) == (["run-1"], ["interrupt"])
    finally:
        await worker.shutdown(0)
        await storage.close()


def test_ok_is_503_with_the_reason_once_the_run_worker_has_stopped(start_server: Any) -> None:
    """Whatever ends the worker's loop (its guard keeps ordinary errors from doing so), the health
    check must say so instead of answering 200 while no run can ever start."""
    running = start_server()
    assert httpx.get(f"{running.url}/ok", timeout=10).json() == {"ok": True}
    worker = running._server.config.app.state.runs.worker  # the server runs in this process
    loop_task: asyncio.Task[None] = worker._loop_task
    loop_task.get_loop().call_soon_threadsafe(loop_task.cancel)
    for _ in range(100):
        r = httpx.get(f"{running.url}/ok", timeout=10)
        if r.status_code == 503:
            break
        time.sleep(0.05)
    assert (r.status_code, r.json()) == (503, {"ok": False, "detail": "the run worker is not running"})

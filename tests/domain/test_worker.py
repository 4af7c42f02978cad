"""The run worker against a real SQLite database: a cancel that reaches a run between its claim and
its executor's first step still lands inside the executor (which records how the run ended), and
GET /ok says when the worker has stopped.

Seen in CI on PostgreSQL + Redis: a cancel signal arrived in that window, the task was cancelled
before it ever ran, and the run stayed "running" with nothing executing it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphdock.domain.run_rules import admission, thread_after_run
from graphdock.domain.worker import Worker
from graphdock.storage import storage_for
from graphdock.storage.base import Storage
from graphdock.storage.records import Snapshot
from graphdock.storage.threads import ExpiredLeases, NewThread, Run
from tests.storage.test_contract_threads import make_run


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Storage]:
    """An empty SQLite store of the test's own (the worker's timing cases run on SQLite only)."""
    storage = storage_for(f"sqlite:///{tmp_path}/w.sqlite3")
    await storage.open()
    try:
        yield storage
    finally:
        await storage.close()


async def test_a_run_cancelled_before_its_first_step_still_enters_its_executor(sqlite: Storage) -> None:
    storage = sqlite
    entered: list[str] = []
    stopped: list[str] = []

    async def execute(run: Run, snapshot: Snapshot | None) -> None:
        entered.append(run.run_id)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            stopped.append(worker.settle(run.run_id))

    worker = Worker(
        storage, execute, concurrency=4, lease_seconds=30, max_attempts=3, on_expired=_nothing_expired
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


async def _nothing_expired(_: ExpiredLeases) -> None:
    return None


async def _create(storage: Storage, worker: Worker, run: Run) -> Run:
    """What run creation does: a slot if one is free, the run claimed with it if first in line."""
    lease = worker.reserve()
    try:
        created, _ = await storage.create_run(
            run, new_thread=NewThread({}), admit=admission("enqueue"), start=lease
        )
    except BaseException:
        if lease is not None:
            worker.release()
        raise
    if lease is not None:
        if created.status == "running":
            worker.adopt(created, None)
        else:
            worker.release()
    if created.status == "pending":
        worker.wake()
    return created


async def test_runs_claimed_as_they_are_created_and_by_the_loop_never_exceed_the_concurrency(
    storage: Storage,
) -> None:
    executing: set[str] = set()
    most = 0
    done: list[str] = []

    async def execute(run: Run, snapshot: Snapshot | None) -> None:
        nonlocal most
        executing.add(run.run_id)
        most = max(most, len(executing))
        await asyncio.sleep(0.01)
        executing.discard(run.run_id)
        worker.settle(run.run_id)
        await storage.finish_run(
            run.run_id, "success", error=None, outcome=None, after=thread_after_run, attempt=run.attempt
        )
        done.append(run.run_id)

    worker = Worker(
        storage, execute, concurrency=3, lease_seconds=30, max_attempts=3, on_expired=_nothing_expired
    )
    worker.start()
    try:
        created = await asyncio.gather(
            *(_create(storage, worker, make_run(f"run-{n}", f"thread-{n}")) for n in range(30))
        )
        direct = [r for r in created if r.status == "running"]
        assert 1 <= len(direct) <= 3, "a free slot claims the run it creates, never more than the slots"
        for _ in range(500):
            if len(done) == 30:
                break
            await asyncio.sleep(0.01)
        assert sorted(done) == sorted(f"run-{n}" for n in range(30)), "each run executed once"
        assert most <= 3, f"{most} runs executed at once with 3 slots"
        assert worker.reserve() is not None
        worker.release()
    finally:
        await worker.shutdown(0)


async def test_a_run_cancelled_between_its_creation_claim_and_its_task_is_stopped_by_its_executor(
    sqlite: Storage,
) -> None:
    storage = sqlite
    stopped: list[str] = []

    async def execute(run: Run, snapshot: Snapshot | None) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            stopped.append(worker.settle(run.run_id))

    worker = Worker(
        storage, execute, concurrency=2, lease_seconds=30, max_attempts=3, on_expired=_nothing_expired
    )
    worker.start()
    try:
        lease = worker.reserve()
        assert lease is not None
        created, _ = await storage.create_run(
            make_run("run-1", "thread-1"), new_thread=NewThread({}), admit=admission("enqueue"), start=lease
        )
        assert (created.status, created.attempt) == ("running", 1)
        # A cancel reaching this replica while the creating transaction commits: the row says
        # running, no task exists yet (as with the worker's own claim).
        worker.cancel_when_claimed("run-1", "interrupt")
        worker.adopt(created, None)
        await asyncio.wait_for(worker.finished("run-1"), timeout=5)
        assert stopped == ["interrupt"]
    finally:
        await worker.shutdown(0)


async def test_shutdown_gives_a_run_claimed_by_its_creation_meanwhile_the_grace_and_takes_no_more(
    sqlite: Storage,
) -> None:
    storage = sqlite
    finished: list[str] = []

    async def execute(run: Run, snapshot: Snapshot | None) -> None:
        await asyncio.sleep(0.2)
        finished.append(run.run_id)

    worker = Worker(
        storage, execute, concurrency=2, lease_seconds=30, max_attempts=3, on_expired=_nothing_expired
    )
    worker.start()
    lease = worker.reserve()
    assert lease is not None
    stopping = asyncio.create_task(worker.shutdown(5))
    await asyncio.sleep(0.05)
    assert worker.reserve() is None, "a stopping worker hands out no slot"
    assert not stopping.done(), "shutdown waits for the creation holding a slot"
    created, _ = await storage.create_run(
        make_run("run-1", "thread-1"), new_thread=NewThread({}), admit=admission("enqueue"), start=lease
    )
    worker.adopt(created, None)
    await asyncio.wait_for(stopping, timeout=5)
    assert finished == ["run-1"], "the run had the grace to finish"


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


class _Looks:
    """The worker's storage, counting the looks at the queue it makes (claims and queue reads)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self.looks = 0

    def __getattr__(self, name: str) -> Any:
        if name in ("claim_run", "run_queue"):
            self.looks += 1
        return getattr(self._storage, name)


async def test_a_run_ending_with_nothing_queued_asks_nothing_and_one_queued_behind_a_run_still_starts(
    storage: Storage,
) -> None:
    release: dict[str, asyncio.Event] = {}
    done: list[str] = []

    async def execute(run: Run, snapshot: Snapshot | None) -> None:
        await release.setdefault(run.run_id, asyncio.Event()).wait()
        worker.settle(run.run_id)
        await storage.finish_run(
            run.run_id, "success", error=None, outcome=None, after=thread_after_run, attempt=run.attempt
        )
        done.append(run.run_id)

    async def settled() -> int:
        """The looks once the loop has slept for a while."""
        looks = -1
        while looks != counted.looks:
            looks = counted.looks
            await asyncio.sleep(0.1)
        return looks

    counted = _Looks(storage)
    worker = Worker(
        counted,  # type: ignore[arg-type]
        execute,
        concurrency=4,
        lease_seconds=30,
        max_attempts=3,
        on_expired=_nothing_expired,
    )
    worker.start()
    try:
        first = await _create(storage, worker, make_run("run-1", "thread-1"))
        assert first.status == "running", "claimed as it was created"
        looks = await settled()
        release.setdefault("run-1", asyncio.Event()).set()
        await asyncio.wait_for(worker.finished("run-1"), timeout=5)
        assert (done, await settled()) == (["run-1"], looks), "nothing waited: the end asked nothing"

        busy = await _create(storage, worker, make_run("run-2", "thread-2"))
        queued = await _create(storage, worker, make_run("run-3", "thread-2"))
        assert (busy.status, queued.status) == ("running", "pending")
        await settled()
        release.setdefault("run-2", asyncio.Event()).set()
        for _ in range(500):
            if worker.is_running("run-3"):
                break
            await asyncio.sleep(0.01)
        assert worker.is_running("run-3"), "the run queued behind the one that ended starts"
        release.setdefault("run-3", asyncio.Event()).set()
        await asyncio.wait_for(worker.finished("run-3"), timeout=5)
        assert done == ["run-1", "run-2", "run-3"]
    finally:
        await worker.shutdown(0)

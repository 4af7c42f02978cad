"""The run queue's consumer: claims runs as soon as they are due, a bounded number at a time.

No polling: creating a run, finishing one and a due `after_seconds` each wake the loop, so a run
on an idle server starts within the same event-loop turn. Each run executes as an asyncio task in
this process; cancelling one cancels its task, and the executor records how it ended.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal

import structlog

from graphdock.storage.base import Storage
from graphdock.storage.records import utc_now
from graphdock.storage.threads import Run

log = structlog.get_logger("graphdock.worker")

StopReason = Literal["interrupt", "rollback", "shutdown"]
Execute = Callable[[Run], Coroutine[Any, Any, None]]


class Worker:
    def __init__(self, storage: Storage, execute: Execute, *, concurrency: int) -> None:
        self._storage = storage
        self._execute = execute
        self._slots = concurrency
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stop_reasons: dict[str, StopReason] = {}
        # Runs whose executor has taken note of a cancellation, or is past the point of stopping.
        self._settled: set[str] = set()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._loop(), name="graphdock-worker")

    def wake(self) -> None:
        self._wake.set()

    def is_running(self, run_id: str) -> bool:
        return run_id in self._tasks

    def cancel(self, run_id: str, action: StopReason) -> bool:
        """Stop a run executing here; False if it is not (it has ended, or never started)."""
        task = self._tasks.get(run_id)
        if task is None:
            return False
        self._stop_reasons.setdefault(run_id, action)
        self._insist(run_id, task)
        return True

    def cancel_when_claimed(self, run_id: str, action: StopReason) -> None:
        """For a run whose claim is under way here (its row says running, its task not yet made)."""
        self._stop_reasons.setdefault(run_id, action)

    def settle(self, run_id: str) -> StopReason:
        """Called by the executor when it stops a run (or finishes it): no more cancellations.
        Returns why it was stopped ("interrupt" if it was not)."""
        self._settled.add(run_id)
        return self._stop_reasons.get(run_id, "interrupt")

    def _insist(self, run_id: str, task: asyncio.Task[None]) -> None:
        # One task.cancel() can be lost on Python 3.11: asyncio.wait_for (inside database drivers'
        # pools) swallows it when its inner future completes at the same moment. So it is repeated
        # until the executor settles the run.
        if task.done() or run_id in self._settled:
            return
        task.cancel()
        asyncio.get_running_loop().call_later(0.05, self._insist, run_id, task)

    async def finished(self, run_id: str) -> None:
        task = self._tasks.get(run_id)
        if task is not None:
            await asyncio.wait([task])

    async def shutdown(self, grace_seconds: float) -> None:
        """Claim nothing more; let running runs finish for a while, then interrupt the rest."""
        self._stopping = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        running = list(self._tasks.values())
        if running:
            log.info("worker.draining", runs=len(running), grace_seconds=grace_seconds)
            await asyncio.wait(running, timeout=grace_seconds)
        for run_id in list(self._tasks):
            self.cancel(run_id, "shutdown")
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()))

    async def _loop(self) -> None:
        while not self._stopping:
            await self._claim_while_free()
            timeout = await self._until_next_due()
            with contextlib.suppress(TimeoutError):  # a delayed run is due
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()

    async def _claim_while_free(self) -> None:
        while len(self._tasks) < self._slots and not self._stopping:
            run = await self._storage.claim_run(utc_now())
            if run is None:
                return
            task = asyncio.create_task(self._execute(run), name=f"run-{run.run_id}")
            self._tasks[run.run_id] = task
            task.add_done_callback(partial(self._done, run.run_id))
            if run.run_id in self._stop_reasons:
                # Cancelled while being claimed. call_soon lets the task take its first step, so
                # the cancellation lands inside the executor, which records how the run ended.
                asyncio.get_running_loop().call_soon(self._insist, run.run_id, task)

    def _done(self, run_id: str, _task: asyncio.Task[None]) -> None:
        self._tasks.pop(run_id, None)
        self._stop_reasons.pop(run_id, None)
        self._settled.discard(run_id)
        self._wake.set()  # a slot is free, and the thread's next run may now start

    async def _until_next_due(self) -> float | None:
        due = await self._storage.next_due()
        if due is None:
            return None
        delay = (datetime.fromisoformat(due) - datetime.now(UTC)).total_seconds()
        return max(delay, 0.001)

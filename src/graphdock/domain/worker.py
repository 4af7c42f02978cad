"""The run queue's consumer: claims runs as soon as they are due, a bounded number at a time.

No polling: creating a run that must wait (here, or on another replica: a Redis signal),
finishing one while runs wait, and a due `after_seconds` each wake the loop. A run created here
while a slot is free and nothing is ahead of it does not wait for the loop at all: its creator
`reserve`s the slot, the transaction that creates the run claims it, and the worker `adopt`s it;
a slot is counted from before any claim is sent (the loop's or a creator's), so together they
never exceed the concurrency. When the loop's last look found nothing pending and nothing has
woken it since, a run that ends here asks the database nothing: at one run at a time, that was
two round trips after every answer. Each run executes as an asyncio task in this process;
cancelling one cancels its task, and the executor records how it ended.

Every claim is a lease that this worker renews every third of its length. The same tick expires
other workers' leases that ended (their process was killed or hung): those runs go back to the
queue, or fail once they have used their attempts. A run whose lease this worker lost (it hung
past its lease, and another worker took the run over) is cancelled here without recording
anything: storage fences its writes by attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal

import structlog

from graphdock.domain.run_rules import thread_after_run
from graphdock.errors import GraphdockError
from graphdock.storage.base import Storage
from graphdock.storage.records import Json, Snapshot, utc_now
from graphdock.storage.threads import ExpiredLeases, Lease, Run

log = structlog.get_logger("graphdock.worker")

StopReason = Literal["interrupt", "rollback", "shutdown", "lease_lost"]
# The run, and the snapshot of the version it executes when its creator already holds it.
Execute = Callable[[Run, Snapshot | None], Coroutine[Any, Any, None]]
OnExpired = Callable[[ExpiredLeases], Awaitable[None]]

# A cancel signal for a run this worker has not claimed (yet) is remembered this long.
_CANCEL_MEMORY_SECONDS = 60.0
# After a failed claim (the database locked, unreachable, its disk full) the loop retries after
# this long, doubling up to the maximum, until a claim succeeds.
_FIRST_BACKOFF_SECONDS = 0.1
_MAX_BACKOFF_SECONDS = 5.0


class Worker:
    def __init__(
        self,
        storage: Storage,
        execute: Execute,
        *,
        concurrency: int,
        lease_seconds: float,
        max_attempts: int,
        on_expired: OnExpired,
    ) -> None:
        self._storage = storage
        self._execute = execute
        self._slots = concurrency
        self.worker_id = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
        self._lease_seconds = lease_seconds
        self._max_attempts = max_attempts
        self._on_expired = on_expired
        self._ticker: asyncio.Task[None] | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Slots taken by claims under way (the loop's, and those of runs being created here): a
        # slot is counted from before its claim is sent until its task exists or the claim found
        # nothing, so the loop and creators together never exceed the concurrency.
        self._reserved = 0
        self._no_claims = asyncio.Event()  # set while _reserved is 0
        self._no_claims.set()
        self._stop_reasons: dict[str, StopReason] = {}
        # Runs whose executor has begun (a task cancelled before its first step would never run
        # the executor's code, so nothing would record how the run ended).
        self._started: set[str] = set()
        # Runs whose executor has taken note of a cancellation, or is past the point of stopping.
        self._settled: set[str] = set()
        self._wake = asyncio.Event()
        # Wake-ups so far, and whether the loop's last look found no pending run at all with none
        # since: then a run ending here has nothing to make way for, and the loop sleeps on.
        self._wakes = 0
        self._idle = False
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        # Why the loop cannot claim runs at the moment (None while it can): /ok reports it.
        self._trouble: str | None = None

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._loop(), name="graphdock-worker")
        self._ticker = asyncio.create_task(self._tick_forever(), name="graphdock-leases")

    @property
    def busy(self) -> int:
        """Runs executing now (slots in use), for /metrics."""
        return len(self._tasks)

    def wake(self) -> None:
        """Something may wait in the queue: a run queued (here, or on another replica), a retry."""
        self._wakes += 1
        self._idle = False
        self._wake.set()

    def reserve(self) -> Lease | None:
        """A free slot for a run about to be created here, and the lease it would run under; None
        when every slot is taken (or the worker is stopping). The creator then calls `adopt` with
        the run if its creation claimed it, else `release`."""
        if self._stopping or self._loop_task is None or self._loop_task.done():
            return None
        if len(self._tasks) + self._reserved >= self._slots:
            return None
        self._take_slot()
        return self._lease()

    def adopt(self, run: Run, snapshot: Snapshot | None) -> None:
        """Execute a run its creation claimed under a lease from `reserve`, in that slot;
        `snapshot`: its version's, when the creator read that version."""
        self._give_slot()
        self._launch(run, snapshot)

    def release(self) -> None:
        """A slot from `reserve` went unused (the run waits in the queue, or was never created)."""
        self._give_slot()

    def _take_slot(self) -> None:
        self._reserved += 1
        self._no_claims.clear()

    def _give_slot(self) -> None:
        self._reserved -= 1
        if not self._reserved:
            self._no_claims.set()

    @property
    def problem(self) -> str | None:
        """Why this worker cannot start runs right now, None when it can (`GET /ok` is 503 then)."""
        if self._stopping:
            return "the server is shutting down"
        if self._loop_task is None or self._loop_task.done():
            return "the run worker is not running"
        return self._trouble

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
        """For a run whose claim may be under way here (its row says running, its task not yet
        made): stopped as soon as its task exists, if that happens soon."""
        if run_id in self._tasks:
            self.cancel(run_id, action)
            return
        self._stop_reasons.setdefault(run_id, action)

        def forget() -> None:
            if run_id not in self._tasks:
                self._stop_reasons.pop(run_id, None)

        asyncio.get_running_loop().call_later(_CANCEL_MEMORY_SECONDS, forget)

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
        if run_id not in self._started:
            # Not yet begun (a cancel signal can reach us between the claim and the task's first
            # step): cancelling now would skip the executor entirely and leave the run "running".
            asyncio.get_running_loop().call_soon(self._insist, run_id, task)
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
        for task in (self._loop_task, self._ticker):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self._no_claims.wait()  # runs being created with a slot here: theirs is the same grace
        running = list(self._tasks.values())
        if running:
            log.info("worker.draining", runs=len(running), grace_seconds=grace_seconds)
            await asyncio.wait(running, timeout=grace_seconds)
        for run_id in list(self._tasks):
            self.cancel(run_id, "shutdown")
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()))

    async def _loop(self) -> None:
        backoff = _FIRST_BACKOFF_SECONDS
        while not self._stopping:
            wakes = self._wakes
            try:
                await self._claim_while_free()
                queue = await self._storage.run_queue()
            except Exception as exc:  # a top-level guard: a dead loop would strand every run, silently
                self._trouble = f"the run worker cannot claim runs: {_reason(exc)}"
                if isinstance(exc, GraphdockError):
                    log.warning("worker.claim_failed", error=exc.detail, retry_in=backoff)
                else:
                    log.exception("worker.claim_crashed", retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)
                continue
            if self._trouble is not None:
                log.info("worker.recovered")
                self._trouble = None
                backoff = _FIRST_BACKOFF_SECONDS
            # A wake-up during the look may be a run it missed: then the loop looks again.
            self._idle = not queue.waiting and wakes == self._wakes
            with contextlib.suppress(TimeoutError):  # a delayed run is due
                await asyncio.wait_for(self._wake.wait(), _until(queue.next_due))
            self._wake.clear()

    async def _claim_while_free(self) -> None:
        while len(self._tasks) + self._reserved < self._slots and not self._stopping:
            self._take_slot()
            try:
                run = await self._storage.claim_run(utc_now(), self._lease())
            finally:
                self._give_slot()
            if run is None:
                return
            self._launch(run, None)

    def _launch(self, run: Run, snapshot: Snapshot | None) -> None:
        """Execute a claimed run in a task of its own (in the slot its claim took)."""
        task = asyncio.create_task(self._begin(run, snapshot), name=f"run-{run.run_id}")
        self._tasks[run.run_id] = task
        task.add_done_callback(partial(self._done, run.run_id))
        if run.run_id in self._stop_reasons:
            # Cancelled while being claimed: _insist waits for the task's first step, so the
            # cancellation lands inside the executor, which records how the run ended.
            self._insist(run.run_id, task)

    async def _begin(self, run: Run, snapshot: Snapshot | None) -> None:
        self._started.add(run.run_id)
        await self._execute(run, snapshot)  # runs on, in this step, into the executor's own try

    def _done(self, run_id: str, _task: asyncio.Task[None]) -> None:
        self._tasks.pop(run_id, None)
        self._stop_reasons.pop(run_id, None)
        self._settled.discard(run_id)
        self._started.discard(run_id)
        if not self._idle:  # a slot is free, and the thread's next run may now start
            self._wake.set()

    # -- leases -----------------------------------------------------------------------------------

    def _lease(self) -> Lease:
        until = datetime.now(UTC) + timedelta(seconds=self._lease_seconds)
        return Lease(self.worker_id, until.isoformat(timespec="microseconds"))

    async def _tick_forever(self) -> None:
        while True:
            try:
                await self.tick()
            except GraphdockError as exc:  # the database is unreachable for a moment: next tick
                log.warning("worker.tick_failed", error=exc.detail)
            except Exception:  # a top-level guard: a dead ticker would let every lease here lapse
                log.exception("worker.tick_crashed")
            await asyncio.sleep(self._lease_seconds / 3)

    async def tick(self) -> None:
        """Renew this worker's leases, stop runs it lost, take over runs whose leases ended."""
        mine = set(self._tasks)  # before renewing: a run claimed meanwhile has a fresh lease
        if mine:
            held = set(await self._storage.renew_leases(self._lease()))
            for run_id in mine - held:
                if run_id in self._tasks and run_id not in self._settled:
                    log.warning("run.lease_lost", run_id=run_id, worker_id=self.worker_id)
                    self.cancel(run_id, "lease_lost")
        expired = await self._storage.expire_leases(
            utc_now(),
            max_attempts=self._max_attempts,
            error=_abandoned(self._lease_seconds),
            after=thread_after_run,
        )
        if expired.retried or expired.failed:
            for run in expired.retried:
                log.warning("run.retried", run_id=run.run_id, attempt=run.attempt + 1)
            for run in expired.failed:
                log.warning("run.abandoned", run_id=run.run_id, attempts=run.attempt)
            await self._on_expired(expired)
        self.wake()  # also the safety net for a wake-up signal that never arrived


def _until(due: str | None) -> float | None:
    """Seconds until `due` (None: no delayed run waits)."""
    if due is None:
        return None
    return max((datetime.fromisoformat(due) - datetime.now(UTC)).total_seconds(), 0.001)


def _reason(exc: Exception) -> str:
    # A domain error's detail is written for clients; anything else is named by its type only.
    return exc.detail if isinstance(exc, GraphdockError) else type(exc).__name__


def _abandoned(lease_seconds: float) -> Json:
    return {
        "error": "RunAbandoned",
        "message": (
            "The replica executing this run stopped renewing its lease (it was killed or hung)"
            f" for over {lease_seconds:g} s, and the run had no attempts left"
        ),
    }

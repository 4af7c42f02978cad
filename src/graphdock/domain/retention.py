"""Retention: threads nobody has used for their TTL are swept — deleted, or pruned to their
latest checkpoint — by one replica at a time, a bounded number per sweep.

A thread's TTL is its own (`ttl` on create or update) or else the deployment's
(`checkpointer.ttl.default_ttl`), and runs from the thread's last use (storage/retention.py).
A busy thread, or one with a run pending or running, is never taken. Store items are not threads'
and are never touched here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from graphdock.project import ThreadTtlSpec
from graphdock.runtime import checkpoints
from graphdock.runtime.checkpoints import Saver
from graphdock.storage.base import Storage
from graphdock.storage.records import Json, utc_now
from graphdock.storage.retention import THREAD_SWEEP, Expiry, TtlStrategy, shift
from graphdock.storage.threads import Thread

log = structlog.get_logger("graphdock.retention")

STRATEGIES: tuple[TtlStrategy, ...] = ("delete", "keep_latest")


@dataclass(frozen=True, slots=True)
class SweepReport:
    deleted: int = 0
    pruned: int = 0


class Retention:
    def __init__(
        self,
        storage: Storage,
        saver: Saver,
        spec: ThreadTtlSpec,
        *,
        on_swept: Callable[[TtlStrategy, int], None] | None = None,
    ) -> None:
        self._storage = storage
        self._saver = saver
        self.spec = spec
        # Told how many threads each sweep took per strategy: the hook for a /metrics counter.
        self._on_swept = on_swept
        # Who claims sweeps, in the `sweeps` row and the logs.
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        # Threads this process has swept since it started, per strategy.
        self.swept: dict[TtlStrategy, int] = dict.fromkeys(STRATEGIES, 0)
        self._task: asyncio.Task[None] | None = None

    async def describe_thread(self, thread: Thread) -> Json | None:
        """The thread's TTL as `GET /threads/{id}?include=ttl` shows it; None if it never expires."""
        ttl = await self._storage.get_thread_ttl(thread.thread_id)
        minutes = ttl.minutes if ttl.minutes is not None else self.spec.default_ttl
        if minutes is None:
            return None
        return {
            "strategy": ttl.strategy or self.spec.strategy,
            "ttl_minutes": minutes,
            "expires_at": shift(thread.updated_at, minutes),
        }

    async def sweep(self) -> SweepReport | None:
        """One sweep, if this process wins the claim for it (None: another replica has it)."""
        now = utc_now()
        next_at = shift(now, self.spec.sweep_interval_minutes)
        if not await self._storage.claim_sweep(THREAD_SWEEP, self.holder, now, next_at):
            return None
        budget = self.spec.sweep_limit
        taken: dict[TtlStrategy, list[str]] = {}
        for strategy in STRATEGIES:
            expiry = Expiry(strategy, now, self.spec.default_ttl, self.spec.strategy, budget)
            taken[strategy] = await self._storage.expire_threads(expiry) if budget else []
            budget -= len(taken[strategy])
        # The rows are gone (or marked) first, so a failure here leaves checkpoints without a
        # thread, never a thread without its checkpoints; each strategy's rule is prune's own.
        await checkpoints.prune_threads(self._saver, taken["delete"], "delete")
        for thread_id in taken["keep_latest"]:
            # A run created since the thread was taken may be writing checkpoints, which a prune
            # rebuilt from list/put (SQLite's saver has no prune of its own) could drop: leave
            # that thread, whose run restarts its clock anyway. The window left is this check's.
            if not await self._storage.find_active_runs(thread_id=thread_id):
                await checkpoints.prune_threads(self._saver, [thread_id], "keep_latest")
        for strategy in STRATEGIES:
            self.swept[strategy] += len(taken[strategy])
            if self._on_swept is not None and taken[strategy]:
                self._on_swept(strategy, len(taken[strategy]))
        report = SweepReport(deleted=len(taken["delete"]), pruned=len(taken["keep_latest"]))
        if report.deleted or report.pruned:
            log.info(
                "threads.swept",
                deleted=report.deleted,
                pruned=report.pruned,
                limit=self.spec.sweep_limit,
                holder=self.holder,
            )
        return report

    def start(self) -> None:
        self._task = asyncio.create_task(self._sweep_forever(), name="thread-ttl-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _sweep_forever(self) -> None:
        # Every replica tries twice per interval; the claim lets one of them sweep per interval.
        pause = self.spec.sweep_interval_minutes * 60 / 2
        while True:
            try:
                await self.sweep()
            except Exception:  # a top-level guard: a failed sweep is logged and tried again
                log.exception("threads.sweep_failed", holder=self.holder)
            await asyncio.sleep(pause)

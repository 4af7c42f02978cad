"""Cancelling runs, in one place: by a client, by a newer run that displaces them, by a signal.

A run is stopped where it is: executing here, its task is cancelled and its executor records how
it ended; executing on another replica (or being claimed), a signal asks that replica to; never
started, storage marks it interrupted and its stream ends here. `rollback` also forgets a run that
never started: nothing ran, so nothing is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Literal, cast, get_args

from graphdock.domain.run_rules import thread_after_run
from graphdock.domain.run_streams import RunStreams, run_status
from graphdock.domain.threads import Threads
from graphdock.domain.worker import Worker
from graphdock.errors import NotFound
from graphdock.runtime import checkpoints
from graphdock.runtime.checkpoints import Saver
from graphdock.runtime.replicas import Replicas
from graphdock.storage.base import Storage
from graphdock.storage.records import Page
from graphdock.storage.threads import MultitaskStrategy, Run, ThreadFilter
from graphdock.storage.visibility import Visibility

# What a client may ask of a run it cancels (the worker also stops runs for a shutdown).
CancelAction = Literal["interrupt", "rollback"]


class Cancellation:
    def __init__(
        self,
        storage: Storage,
        worker: Worker,
        streams: RunStreams,
        threads: Threads,
        saver: Saver,
        replicas: Replicas | None,
        lease_seconds: float,
    ) -> None:
        self._storage = storage
        self._worker = worker
        self._streams = streams
        self._threads = threads
        self._saver = saver
        self._replicas = replicas
        self._lease_seconds = lease_seconds

    async def cancel(self, runs: Sequence[Run], action: CancelAction) -> None:
        """Stop these runs, wherever they are (those that have ended are left alone)."""
        pending = [r.run_id for r in runs if not self._worker.is_running(r.run_id)]
        stopped = {r.run_id for r in await self._storage.interrupt_pending(pending, after=thread_after_run)}
        await self._stop(runs, action, stopped=stopped)
        self._worker.wake()

    async def cancel_where(
        self,
        *,
        thread_id: str | None,
        run_ids: Sequence[str] | None,
        status: Literal["pending", "running", "all"] | None,
        action: CancelAction,
        visible: Visibility | None = None,
    ) -> None:
        runs = await self._storage.find_active_runs(thread_id=thread_id, run_ids=run_ids)
        if status in ("pending", "running"):
            runs = [r for r in runs if r.status == status]
        if visible is not None:
            # Only runs on threads the caller may see; the others are left alone, unmentioned.
            shown = await self._storage.search_threads(
                ThreadFilter(ids=tuple({r.thread_id for r in runs}), visible=visible),
                Page(limit=max(len(runs), 1)),
                "created_at",
                False,
            )
            seen = {t.thread_id for t in shown[0]}
            runs = [r for r in runs if r.thread_id in seen]
        await self.cancel(runs, action)

    async def displace(self, displaced: Sequence[Run], strategy: MultitaskStrategy) -> None:
        """Interrupt or roll back the runs a new run replaces (only those strategies displace)."""
        # Storage has already interrupted the pending ones, in the transaction that queued the new run.
        action: CancelAction = "rollback" if strategy == "rollback" else "interrupt"
        await self._stop(displaced, action, stopped={r.run_id for r in displaced})

    def on_signal(self, run_id: str, action: str) -> None:
        """A cancel signal from a replica (this one too): stop the run if it executes, or is claimed, here."""
        if action in get_args(CancelAction):
            self._worker.cancel_when_claimed(run_id, cast(CancelAction, action))

    async def until_stopped(self, run: Run) -> None:
        """Wait for a cancelled run to stop, here or on another replica. A replica that died with
        it never answers: after a lease's length, the caller goes on (its writes are fenced)."""
        if self._worker.is_running(run.run_id) or self._replicas is None:
            await self._worker.finished(run.run_id)
            return
        stream = await self._streams.live(run)
        if stream is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stream.outcome(), timeout=self._lease_seconds)

    async def rollback(self, run: Run) -> None:
        """Forget a run: its row and every checkpoint it wrote, as if it had never been made."""
        with contextlib.suppress(NotFound):  # already gone: deleted with its thread, say
            await self._storage.delete_run(None, run.run_id, after=thread_after_run)
        await checkpoints.forget_run(self._saver, run.thread_id, run.run_id)
        await self._threads.refresh(run.thread_id)

    async def _stop(self, runs: Sequence[Run], action: CancelAction, *, stopped: set[str]) -> None:
        """Cancel those executing here; of the rest, those storage has `stopped` (never started)
        lose their stream, and with rollback everything else: nothing ran, so nothing is kept."""
        for run in runs:
            if self._worker.cancel(run.run_id, action):
                continue
            if run.run_id in stopped:
                self._streams.end(run.run_id, None, keep=False)
                if action == "rollback":
                    await self.rollback(run)
            elif self._replicas is not None:
                # Executing on another replica, or being claimed (here or there): its executor acts.
                await self._replicas.cancel(run.run_id, action)
            elif await self._claimed_meanwhile(run.run_id) and not self._worker.cancel(run.run_id, action):
                self._worker.cancel_when_claimed(run.run_id, action)

    async def _claimed_meanwhile(self, run_id: str) -> bool:
        """Neither pending nor executing here when we looked, yet running by its row: the worker
        was claiming it (the window is the claim's own commit). Its task exists now or soon."""
        return await run_status(self._storage, run_id) == "running"

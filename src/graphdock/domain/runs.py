"""Runs, as the API sees them: one service composed of the run path's parts, and reading runs back.

The path of a run: `run_creation` checks and queues it (storage applies the multitask rule of
`run_rules` in the same transaction) and hands the creator its stream. When this replica's
`worker` has a free slot and the run is first in line, that transaction also claims it (the
claim's own rule, applied by storage) and it starts at once; otherwise the worker claims it when
its thread is free and a slot is, here or on another replica. `run_execution` drives the graph
and records its end (the thread's status by `run_rules` again; a stateless run's thread is
deleted in that same write); `run_streams` is the one owner of its event stream;
`run_cancellation` stops it wherever it is. With several replicas (Redis configured, runtime/replicas.py), any replica may
execute a run: its events reach clients on every replica, and a cancel reaches its executor as a
signal. A run retried after its replica died resumes from the last checkpoint its earlier attempt
wrote.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal

from graphdock.domain.run_cancellation import CancelAction, Cancellation
from graphdock.domain.run_creation import Creation, RunRequest, Started
from graphdock.domain.run_execution import Execution, RunHooks
from graphdock.domain.run_rules import result_body, thread_after_run
from graphdock.domain.run_streams import RunStreams
from graphdock.domain.thread_streams import Item, ThreadEvent, ThreadStreams
from graphdock.domain.threads import Threads
from graphdock.domain.worker import Worker
from graphdock.errors import Conflict, NoSuchInterrupt, NotFound, NotInterrupted
from graphdock.runtime.checkpoints import Saver
from graphdock.runtime.graphs import GraphRegistry
from graphdock.runtime.replicas import Replicas
from graphdock.runtime.streams import Event, Followable
from graphdock.storage.base import Storage
from graphdock.storage.records import Json, Page, Snapshot
from graphdock.storage.threads import ACTIVE_RUN, ExpiredLeases, Run, RunStatus
from graphdock.storage.visibility import Visibility

__all__ = ["CancelAction", "RunRequest", "Runs", "Scaling", "Started"]


@dataclass(frozen=True, slots=True)
class Scaling:
    """How runs are shared between replicas: leases always, `replicas` when there are several."""

    concurrency: int
    lease_seconds: float
    max_attempts: int
    replicas: Replicas | None = None


class Runs:
    def __init__(
        self,
        storage: Storage,
        graphs: GraphRegistry,
        threads: Threads,
        saver: Saver,
        scaling: Scaling,
        hooks: RunHooks | None = None,
    ) -> None:
        self._storage = storage
        self._threads = threads
        self._replicas = scaling.replicas
        self.worker = Worker(
            storage,
            self._execute,
            concurrency=scaling.concurrency,
            lease_seconds=scaling.lease_seconds,
            max_attempts=scaling.max_attempts,
            on_expired=self._expired,
        )
        self._streams = RunStreams(storage, scaling.replicas)
        self._thread_streams = ThreadStreams(storage, self._streams, replicated=scaling.replicas is not None)
        self._cancellation = Cancellation(
            storage, self.worker, self._streams, threads, saver, scaling.replicas, scaling.lease_seconds
        )
        self._creation = Creation(storage, graphs, self._streams, self._cancellation, self.worker, self._wake)
        self._execution = Execution(
            storage,
            graphs,
            threads,
            saver,
            self._streams,
            self._cancellation,
            self.worker,
            hooks or RunHooks(),
        )

    async def start(self) -> None:
        if self._replicas is not None:
            await self._replicas.start(
                on_wake=self.worker.wake, on_cancel=self._cancellation.on_signal, on_run=self._streams.heard
            )
        self.worker.start()

    @property
    def problem(self) -> str | None:
        """Why runs cannot start here right now (None when they can): the health check's answer."""
        return self.worker.problem

    async def stop(self, grace_seconds: float) -> None:
        await self.worker.shutdown(grace_seconds)
        if self._replicas is not None:
            await self._replicas.close()
        self._streams.shutdown()

    async def create(
        self,
        thread_id: str | None,
        request: RunRequest,
        *,
        visible: Visibility | None = None,
        assistant_visible: Visibility | None = None,
    ) -> Started:
        """Queue a run (stateless when thread_id is None); see Creation.create."""
        return await self._creation.create(
            thread_id, request, visible=visible, assistant_visible=assistant_visible
        )

    async def check(self, request: RunRequest, *, assistant_visible: Visibility | None = None) -> None:
        """Refuse, as create would, a run that could not start; see Creation.check."""
        await self._creation.check(request, assistant_visible=assistant_visible)

    # -- reading ----------------------------------------------------------------------------------

    # `visible` below: the threads the caller may see; a run is seen through its thread.

    async def get(self, thread_id: str, run_id: str, *, visible: Visibility | None = None) -> Run:
        if visible is not None:
            await self._storage.get_thread(thread_id, visible=visible)
        return await self._storage.get_run(thread_id, run_id)

    async def list(
        self, thread_id: str, status: RunStatus | None, page: Page, *, visible: Visibility | None = None
    ) -> list[Run]:
        if visible is not None:
            await self._storage.get_thread(thread_id, visible=visible)
        return await self._storage.list_runs(thread_id, status, page)

    async def delete(self, thread_id: str, run_id: str, *, visible: Visibility | None = None) -> None:
        run = await self.get(thread_id, run_id, visible=visible)
        if run.status in ACTIVE_RUN:
            raise Conflict(f"Run {run_id} is {run.status}; cancel it before deleting it")
        await self._storage.delete_run(thread_id, run_id, after=thread_after_run)

    async def result(self, run: Run, stream: Followable | None = None) -> Json:
        """The run's outcome as runs.wait/join return it: the thread's values, or `__error__`."""
        stream = stream or await self._streams.live(run)
        if stream is not None:
            outcome = await stream.outcome()
            if outcome is not None:
                return outcome
            try:
                run = await self._storage.get_run(None, run.run_id)
            except NotFound:  # rolled back: it left nothing behind
                return {}
        if run.error is not None:
            return {"__error__": run.error}
        try:
            thread = await self._storage.get_thread(run.thread_id)
        except NotFound:
            return {}
        return result_body(thread.values, thread.interrupts)

    async def join_stream(self, run: Run, last_event_id: int | None) -> AsyncIterator[Event]:
        """A run's events from after `last_event_id` (None: from now on), until it ends."""
        stream = await self._streams.live(run)
        if stream is None:
            return
        async for event in stream.follow(last_event_id):
            yield event

    async def thread_stream(
        self, thread_id: str, last_event_id: str | None, *, visible: Visibility | None = None
    ) -> AsyncIterator[ThreadEvent]:
        """Every run's events on the thread, from now on (or after `last_event_id`), until the client leaves."""
        await self._storage.get_thread(thread_id, visible=visible)
        return await self._thread_streams.open(thread_id, last_event_id)

    async def session_stream(
        self, thread_id: str, *, visible: Visibility | None = None
    ) -> AsyncGenerator[Item]:
        """The thread's runs for a streaming session: those still kept replayed, then every later
        one, with where each starts and ends (domain/session_events.py translates them)."""
        await self._storage.get_thread(thread_id, visible=visible)
        return await self._thread_streams.replay(thread_id)

    async def resuming(
        self, thread_id: str, interrupt_ids: Sequence[str], *, visible: Visibility | None = None
    ) -> str:
        """The assistant that resumes the thread's interrupted run with answers to `interrupt_ids`
        (the thread's: its runs' `metadata.assistant_id`).

        The run executing on the thread is waited for first: a session announces an interrupt as
        soon as the graph raises it, before the run's end (and the thread's interrupts) are
        written, and a client may answer it at once."""
        await self._threads.get(thread_id, visible=visible)
        for run in await self._storage.find_active_runs(thread_id=thread_id):
            if run.status == "running":
                await self.result(run)
        thread = await self._threads.get(thread_id, visible=visible)
        pending = {i.get("id") for items in thread.interrupts.values() for i in items}
        assistant_id = thread.metadata.get("assistant_id")
        if thread.status != "interrupted" or not pending or not isinstance(assistant_id, str):
            raise NotInterrupted(f"Thread {thread_id} is waiting on no interrupt")
        if unknown := [i for i in interrupt_ids if i not in pending]:
            raise NoSuchInterrupt(f"No pending interrupt {unknown[0]} on thread {thread_id}")
        return assistant_id

    # -- cancelling and deleting ------------------------------------------------------------------

    async def cancel(self, runs: Sequence[Run], action: CancelAction) -> None:
        await self._cancellation.cancel(runs, action)

    async def cancel_where(
        self,
        *,
        thread_id: str | None,
        run_ids: Sequence[str] | None,
        status: Literal["pending", "running", "all"] | None,
        action: CancelAction,
        visible: Visibility | None = None,
    ) -> None:
        await self._cancellation.cancel_where(
            thread_id=thread_id, run_ids=run_ids, status=status, action=action, visible=visible
        )

    async def cancel_and_wait(self, run: Run, action: CancelAction) -> Json:
        """Cancel one run, wait until it has stopped, and return its result (as `join` would)."""
        stream = await self._streams.live(run)  # taken first: it carries the result once the run stops
        await self._cancellation.cancel([run], action)
        await self.worker.finished(run.run_id)
        return await self.result(run, stream)

    async def delete_thread(self, thread_id: str, *, visible: Visibility | None = None) -> None:
        """Stop the thread's runs, then delete it with its runs and checkpoints."""
        if visible is not None:
            await self._threads.get(thread_id, visible=visible)
        await self._cancellation.cancel_where(
            thread_id=thread_id, run_ids=None, status="all", action="interrupt"
        )
        for run in await self._storage.find_active_runs(thread_id=thread_id):
            await self._cancellation.until_stopped(run)
        await self._threads.delete(thread_id)

    async def delete_assistant_threads(self, assistant_id: str) -> None:
        for thread_id in await self._storage.assistant_thread_ids(assistant_id):
            with contextlib.suppress(NotFound):  # deleted meanwhile
                await self.delete_thread(thread_id)

    # -- the worker's callbacks -------------------------------------------------------------------

    async def _execute(self, run: Run, snapshot: Snapshot | None) -> None:
        await self._execution.execute(run, snapshot)

    async def _wake(self) -> None:
        """A run is waiting: wake the worker here and, with several replicas, everywhere."""
        self.worker.wake()
        if self._replicas is not None:
            await self._replicas.wake()  # any replica with a free slot may take it

    async def _expired(self, expired: ExpiredLeases) -> None:
        """Runs whose replica died: retried ones wait in the queue again, failed ones end here."""
        for run in expired.failed:
            self._streams.end(run.run_id, {"__error__": run.error}, keep=True)
        if expired.retried and self._replicas is not None:
            await self._replicas.wake()

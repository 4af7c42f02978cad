"""Each run's event stream, and its one owner: the only code that opens a run's stream and ends it.

A stream is opened by whoever needs it first: the creator of a run (before the run exists, so no
event slips past it), its executor, or a client that joins a run still pending. It is ended once,
by the executor (or by the canceller, for a run that never started, or by the lease sweep, for a
run whose replica died), here and, with several replicas, for followers everywhere. A resumable
run's stream is kept for a while after its end so that a client cut off can fetch the tail.

A new run is also announced to the thread's streams (domain/thread_streams.py), with its stream
open from the first event: those listening here at once, and with several replicas those on every
replica through a signal. A replica that hears of a run follows it through the relay from its
first event, which the relay keeps a few seconds past the run's end (runtime/relay.py): a run
over before the signal arrives is still followed whole.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from graphdock.errors import NotFound
from graphdock.runtime.replicas import Replicas
from graphdock.runtime.streams import Followable, RunStream, StreamHub
from graphdock.storage.base import Storage
from graphdock.storage.records import Json
from graphdock.storage.threads import ACTIVE_RUN, Run, RunStatus


@dataclass(frozen=True, slots=True)
class Announcement:
    """A run just created on a thread, and its stream from its first event.

    `run` is None when another replica announced it (only ids travel): read its row."""

    run_id: str
    run: Run | None
    stream: Followable


# What a thread stream listening here is told: each announcement, then None when the server stops.
Watcher = asyncio.Queue[Announcement | None]


class RunStreams:
    def __init__(self, storage: Storage, replicas: Replicas | None) -> None:
        self._storage = storage
        self._replicas = replicas
        self._hub = StreamHub()
        # Thread streams listening here, by thread: each gets every run created on its thread.
        self._watchers: dict[str, set[Watcher]] = {}

    def for_creator(self, run_id: str) -> Followable:
        """The stream of a run about to be created, open from its first event."""
        if self._replicas is not None:
            return self._replicas.follower(run_id, self._still_active(run_id))
        return self._hub.open(run_id)

    async def announce(self, run: Run, stream: Followable) -> None:
        """A run was just queued on its thread: thread streams follow it from its start, here and
        (with several replicas) everywhere. Those here are told first, and without Redis."""
        self._tell(run.thread_id, Announcement(run.run_id, run, stream))
        if self._replicas is not None:
            await self._replicas.announce(run.thread_id, run.run_id)

    def heard(self, thread_id: str, run_id: str) -> None:
        """A replica announced a run: thread streams here follow it through the relay. (This
        replica hears its own too; its thread streams, told already, skip them.)"""
        if self._replicas is not None and thread_id in self._watchers:
            stream = self._replicas.follower(run_id, self._still_active(run_id))
            self._tell(thread_id, Announcement(run_id, None, stream))

    def _tell(self, thread_id: str, announcement: Announcement) -> None:
        for queue in self._watchers.get(thread_id, ()):
            queue.put_nowait(announcement)

    def watch(self, thread_id: str) -> Watcher:
        queue: Watcher = asyncio.Queue()
        self._watchers.setdefault(thread_id, set()).add(queue)
        return queue

    def unwatch(self, thread_id: str, queue: Watcher) -> None:
        watchers = self._watchers.get(thread_id)
        if watchers is not None:
            watchers.discard(queue)
            if not watchers:
                del self._watchers[thread_id]

    def abandon(self, run_id: str) -> None:
        """Forget the stream of a run whose creation failed: nothing will ever publish into it."""
        self._hub.close(run_id, keep=False)

    def for_executor(self, run_id: str) -> RunStream:
        """The stream a run's executor publishes into."""
        return self._hub.open(run_id)

    async def relay(self, run_id: str, stream: RunStream) -> None:
        """With several replicas, relay the executor's events to followers everywhere from now on."""
        if self._replicas is not None:
            await self._replicas.mirror(run_id, stream)

    async def live(self, run: Run) -> Followable | None:
        """The stream of a run that has not ended (kept ones too); None once it is gone."""
        stream = self._hub.find(run.run_id)
        if stream is not None:
            return stream
        if self._replicas is not None:
            kept = run.kwargs.get("stream_resumable") and await self._replicas.kept(run.run_id)
            if run.status in ACTIVE_RUN or kept:
                return self._replicas.follower(run.run_id, self._still_active(run.run_id))
            return None
        if run.status not in ACTIVE_RUN:
            return None
        # Pending (not claimed yet): open the stream its executor will publish into, then make
        # sure it did not end in between, or nobody would ever close what was just opened.
        opened = self._hub.open(run.run_id)
        if not await self._is_active(run.run_id) and opened.result is None and not opened.events:
            self._hub.close(run.run_id, keep=False)
            return None
        return opened

    def end(self, run_id: str, result: Json | None, *, keep: bool, relay: bool = True) -> None:
        """End a run's stream here and, with several replicas, for followers everywhere.

        `result`: what runs.wait/join return (None: read storage); `keep`: replayable for a while;
        `relay=False` when another replica has taken the run over and continues its stream."""
        self._hub.close(run_id, keep=keep)
        if relay and self._replicas is not None:
            self._replicas.end(run_id, result, keep=keep)

    def shutdown(self) -> None:
        self._hub.shutdown()
        for watchers in self._watchers.values():
            for queue in watchers:
                queue.put_nowait(None)  # the server stops: thread streams end too

    async def _is_active(self, run_id: str) -> bool:
        return await run_status(self._storage, run_id) in ACTIVE_RUN

    def _still_active(self, run_id: str) -> Callable[[], Awaitable[bool]]:
        """What a relayed stream asks when nothing arrives for a while."""
        return partial(self._is_active, run_id)


async def run_status(storage: Storage, run_id: str) -> RunStatus | None:
    """The run's status by its row; None once it is gone."""
    try:
        return (await storage.get_run(None, run_id)).status
    except NotFound:
        return None

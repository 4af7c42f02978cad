"""A thread's stream: every run's events on one thread, in order, for as long as the client listens.

Runs on a thread execute one after another, so the thread's stream is their streams one after
another: the run in progress from now on (or, after `Last-Event-ID`, from where the client left
off), then each later run from its first event. Every run is announced with its stream the moment
it is queued (domain/run_streams.py), so even one that ends at once is not missed: at once by the
replica that created it, and with several replicas by a signal to every other, which follows it
through the relay. Signals can be lost, so a replicated thread stream also looks at the thread's
runs now and then while it is quiet. Event ids are `<run_id>:<n>`, so a reconnecting client
resumes in the right run.

A thread streaming session (domain/session_events.py) opens the stream with `replay`: the
thread's recent runs whose events are still kept, each from its first event, then every later run;
and it is told where each run starts and ends (RunFollowed, RunEnded), for its lifecycle events.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from graphdock.domain.run_streams import Announcement, RunStreams, Watcher
from graphdock.errors import InvalidRequest, NotFound
from graphdock.runtime.streams import Event, Followable
from graphdock.storage.base import Storage
from graphdock.storage.records import Json, Page, utc_now
from graphdock.storage.threads import Run, RunStatus

# With several replicas, how often a quiet thread's runs are looked at for one created elsewhere
# whose announcement Redis lost (pub/sub is at most once; this is the safety net, not the way runs
# are found, so it may be slow: one query per quiet stream every few seconds).
_LOOK_SECONDS = 2.0
# How many of a thread's newest runs a reconnecting client may have missed and still get.
_CATCH_UP = 100
# How many of a thread's newest runs a session replays (those whose events are still kept).
_REPLAY = 10


# A run to follow next: its stream if already known, and the event id to follow it after
# (None: from now on).
Next = tuple[Run, Followable | None, int | None]


@dataclass(frozen=True, slots=True)
class ThreadEvent:
    run_id: str
    event: Event

    @property
    def id(self) -> str:
        return f"{self.run_id}:{self.event.id}"


@dataclass(frozen=True, slots=True)
class RunFollowed:
    """A run's events follow (from its first kept one, or from now on)."""

    run: Run


@dataclass(frozen=True, slots=True)
class RunEnded:
    """The run's events have ended; `status` is its row's final status (None: it was deleted)."""

    run: Run
    status: RunStatus | None
    error: Json | None = None


Item = ThreadEvent | RunFollowed | RunEnded


class ThreadStreams:
    def __init__(self, storage: Storage, streams: RunStreams, *, replicated: bool) -> None:
        self._storage = storage
        self._streams = streams
        self._replicated = replicated

    async def open(self, thread_id: str, last_event_id: str | None) -> AsyncIterator[ThreadEvent]:
        """The thread's runs' events, from now on or after `last_event_id`, until the client leaves.

        A bad `last_event_id` is refused here, before anything is streamed."""
        announced = self._streams.watch(thread_id)  # first: no run created from now on is missed
        try:
            opened = utc_now()
            queue = await self._start(thread_id, last_event_id)
        except BaseException:
            self._streams.unwatch(thread_id, announced)
            raise
        since = queue[-1][0].created_at if queue else opened
        return _events_only(self._follow(thread_id, announced, queue, since, marked=False))

    async def replay(self, thread_id: str) -> AsyncGenerator[Item]:
        """The thread's recent runs whose events are kept, each from its first, then every later
        run, with where each starts and ends, until the client leaves."""
        announced = self._streams.watch(thread_id)
        try:
            opened = utc_now()
            recent = await self._storage.list_runs(thread_id, None, Page(limit=_REPLAY))
        except BaseException:
            self._streams.unwatch(thread_id, announced)
            raise
        queue: list[Next] = [(r, None, 0) for r in reversed(recent)]
        since = queue[-1][0].created_at if queue else opened
        return self._follow(thread_id, announced, queue, since, marked=True)

    async def _follow(
        self, thread_id: str, announced: Watcher, queue: list[Next], since: str, *, marked: bool
    ) -> AsyncGenerator[Item]:
        """`marked`: with where each run starts and ends (RunFollowed, RunEnded)."""
        try:
            seen: set[str] = set()
            while True:
                while queue:
                    run, stream, after = queue.pop(0)
                    seen.add(run.run_id)
                    stream = stream or await self._streams.live(run)
                    if stream is not None:
                        if marked:
                            yield RunFollowed(run)
                        async for event in stream.follow(after):
                            yield ThreadEvent(run.run_id, event)
                        if marked:
                            yield await self._ended(run)
                    since = max(since, run.created_at)
                queue = await self._next(thread_id, announced, seen, since)
                if not queue:
                    return  # the server is stopping
        finally:
            self._streams.unwatch(thread_id, announced)

    async def _ended(self, run: Run) -> RunEnded:
        # A run's stream ends after its row's final status is written (run_execution.py).
        try:
            final = await self._storage.get_run(None, run.run_id)
        except NotFound:
            return RunEnded(run, None)
        return RunEnded(run, final.status, final.error)

    async def _start(self, thread_id: str, last_event_id: str | None) -> list[Next]:
        if last_event_id is None:
            active = await self._storage.find_active_runs(thread_id=thread_id)
            # The run in progress from now on; those still waiting from their first event.
            return [(run, None, None if run.status == "running" else 0) for run in active]
        run_id, _, number = last_event_id.rpartition(":")
        if not run_id or not number.isdigit() or len(number) > 18:
            raise InvalidRequest(
                f"Last-Event-ID: expected an id this stream sent (<run_id>:<n>), got {last_event_id!r}"
            )
        try:
            last = await self._storage.get_run(thread_id, run_id)
        except NotFound:
            raise InvalidRequest(f"Last-Event-ID: run {run_id} is not a run of thread {thread_id}") from None
        later = await self._storage.list_runs(thread_id, None, Page(limit=_CATCH_UP))
        after: list[Next] = [(r, None, 0) for r in reversed(later) if r.created_at > last.created_at]
        return [(last, None, int(number)), *after]

    async def _next(self, thread_id: str, announced: Watcher, seen: set[str], since: str) -> list[Next]:
        """Wait for the thread's next runs: announced, or (with replicas) found in storage."""
        while True:
            timeout = _LOOK_SECONDS if self._replicated else None
            try:
                news = [await asyncio.wait_for(announced.get(), timeout)]
            except TimeoutError:
                recent = await self._storage.list_runs(thread_id, None, Page(limit=_CATCH_UP))
                found: list[Next] = [
                    (r, None, 0) for r in reversed(recent) if r.run_id not in seen and r.created_at >= since
                ]
                if found:
                    return found
                continue
            while not announced.empty():  # all those told meanwhile, to follow in their order
                news.append(announced.get_nowait())
            fresh: dict[str, Announcement] = {}
            for announcement in news:
                if announcement is None:
                    return []
                # A run created here is told here first, then heard back through Redis: the first
                # needs no read.
                if announcement.run_id not in seen:
                    fresh.setdefault(announcement.run_id, announcement)
            runs = [await self._announced(thread_id, a) for a in fresh.values()]
            if started := sorted((r for r in runs if r is not None), key=lambda n: n[0].created_at):
                return started

    async def _announced(self, thread_id: str, announcement: Announcement) -> Next | None:
        """The announced run, to follow from its first event; None if it is already gone."""
        run = announcement.run
        if run is None:  # announced by another replica
            try:
                run = await self._storage.get_run(thread_id, announcement.run_id)
            except NotFound:
                return None
        return (run, announcement.stream, 0)


async def _events_only(items: AsyncGenerator[Item]) -> AsyncIterator[ThreadEvent]:
    try:
        async for item in items:
            if isinstance(item, ThreadEvent):
                yield item
    finally:
        await items.aclose()  # now, not when collected: it stops watching the thread

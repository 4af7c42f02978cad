"""The event bus behind streaming: each run's events, numbered, for any number of listeners.

A run publishes into its RunStream; the HTTP stream that created the run, any join-stream, and a
reconnecting client (Last-Event-ID) all follow the same list from where they want to start. Events
are kept while the run lives; a resumable run's events are kept for a while after it ends so that
a client cut off at the very end can still fetch the tail.

What is kept is bounded: past `MAX_KEPT_BYTES` of event data, the oldest events every current
follower has already read are dropped (a 4 MB state in five stream modes makes every step's
events tens of MB, and twenty such background runs once took a server past a gigabyte). A live
follower never misses an event; a client reconnecting with a Last-Event-ID older than what is kept
resumes at the oldest kept event.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Event:
    id: int  # 1-based position in the run's stream: what Last-Event-ID names
    event: str
    data: bytes  # JSON


class Followable(Protocol):
    """A run's stream as its listeners see it, here or relayed from another replica."""

    def follow(self, after: int | None) -> AsyncIterator[Event]:
        """Events after id `after` (None: from now on), until the run ends."""
        ...

    async def outcome(self) -> dict[str, Any] | None:
        """Wait for the run's end: what runs.wait/join return, or None to read it from storage."""
        ...


# Event data one run's stream keeps beyond what its followers still have to read.
MAX_KEPT_BYTES = 8 * 1024 * 1024
_followers = itertools.count()


class RunStream:
    def __init__(self, max_kept_bytes: int = MAX_KEPT_BYTES) -> None:
        # The kept tail of the run's events; `_dropped` were published before it.
        self.events: deque[Event] = deque()
        self._dropped = 0
        self._kept_bytes = 0
        self._max_kept_bytes = max_kept_bytes
        # Each follower's next position (counted from the run's first event here).
        self._positions: dict[int, int] = {}
        self.done = asyncio.Event()
        # What runs.wait/join return, set just before the run's status is written.
        self.result: dict[str, Any] | None = None
        self._wake = asyncio.Event()
        # Ids continue where an earlier attempt of the run stopped (events relayed between replicas).
        self._offset = 0
        self._sink: Callable[[Event], None] | None = None

    def relay_to(self, sink: Callable[[Event], None], *, after: int) -> None:
        """Also hand every event to `sink`, numbered from after+1 (before the first publish)."""
        self._sink = sink
        self._offset = after

    def publish(self, event: str, data: bytes) -> None:
        if self.done.is_set():
            return
        item = Event(self._offset + self._dropped + len(self.events) + 1, event, data)
        self.events.append(item)
        self._kept_bytes += len(data)
        if self._sink is not None:
            self._sink(item)
        self._trim()
        self._wake.set()
        self._wake = asyncio.Event()

    def _trim(self) -> None:
        """Drop the oldest events past the budget, but none a current follower has yet to read,
        and never the last one."""
        if self._kept_bytes <= self._max_kept_bytes:
            return
        read_by_all = min(self._positions.values(), default=self._dropped + len(self.events))
        while (
            self._kept_bytes > self._max_kept_bytes and len(self.events) > 1 and self._dropped < read_by_all
        ):
            self._kept_bytes -= len(self.events.popleft().data)
            self._dropped += 1

    def close(self) -> None:
        self.done.set()
        self._wake.set()
        self._trim()

    async def outcome(self) -> dict[str, Any] | None:
        await self.done.wait()
        return self.result

    async def follow(self, after: int | None) -> AsyncIterator[Event]:
        """Events after id `after` (None: from now on), until the run ends."""
        end = self._dropped + len(self.events)
        position = end if after is None else max(0, after - self._offset)
        token = next(_followers)
        self._positions[token] = position
        try:
            while True:
                # Resume at the oldest kept event if what was asked for is no longer kept.
                position = max(position, self._dropped)
                while position < self._dropped + len(self.events):
                    event = self.events[position - self._dropped]
                    position += 1
                    self._positions[token] = position
                    yield event
                    position = max(position, self._dropped)
                if self.done.is_set():
                    return
                await self._wake.wait()
        finally:
            del self._positions[token]
            self._trim()


class StreamHub:
    """Every live run's stream in this process, by run id."""

    def __init__(self, retention_seconds: float = 60.0) -> None:
        self._streams: dict[str, RunStream] = {}
        self._retention = retention_seconds
        self._expiries: set[asyncio.TimerHandle] = set()

    def open(self, run_id: str) -> RunStream:
        stream = self._streams.get(run_id)
        if stream is None:
            stream = self._streams[run_id] = RunStream()
        return stream

    def find(self, run_id: str) -> RunStream | None:
        return self._streams.get(run_id)

    def close(self, run_id: str, *, keep: bool) -> None:
        """End the run's stream; keep its events for the retention period if asked to."""
        stream = self._streams.get(run_id)
        if stream is None:
            return
        stream.close()
        if not keep:
            del self._streams[run_id]
            return
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def expire() -> None:
            self._expiries.discard(handle)
            if self._streams.get(run_id) is stream:
                del self._streams[run_id]

        handle = loop.call_later(self._retention, expire)
        self._expiries.add(handle)

    def shutdown(self) -> None:
        for handle in self._expiries:
            handle.cancel()
        for stream in self._streams.values():
            stream.close()
        self._streams.clear()

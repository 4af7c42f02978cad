"""The event bus behind streaming: each run's events, numbered, for any number of listeners.

A run publishes into its RunStream; the HTTP stream that created the run, any join-stream, and a
reconnecting client (Last-Event-ID) all follow the same list from where they want to start. Events
are kept while the run lives; a resumable run's events are kept for a while after it ends so that
a client cut off at the very end can still fetch the tail.
"""

from __future__ import annotations

import asyncio
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


class RunStream:
    def __init__(self) -> None:
        self.events: list[Event] = []
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
        item = Event(self._offset + len(self.events) + 1, event, data)
        self.events.append(item)
        if self._sink is not None:
            self._sink(item)
        self._wake.set()
        self._wake = asyncio.Event()

    def close(self) -> None:
        self.done.set()
        self._wake.set()

    async def outcome(self) -> dict[str, Any] | None:
        await self.done.wait()
        return self.result

    async def follow(self, after: int | None) -> AsyncIterator[Event]:
        """Events after id `after` (None: from now on), until the run ends."""
        position = len(self.events) if after is None else max(0, after - self._offset)
        while True:
            while position < len(self.events):
                yield self.events[position]
                position += 1
            if self.done.is_set():
                return
            await self._wake.wait()


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

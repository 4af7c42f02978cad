"""Run events between replicas: each run's stream mirrored into a Redis Stream any replica can follow.

The replica executing a run appends every event under the same id the client sees (`<n>-0`, so
`Last-Event-ID: n` is `XREAD` from `n-0`), then an end entry carrying the run's result. A client
on any replica follows with a blocking `XREAD`; a reconnecting one replays from its last id. A
retried attempt on another replica continues the numbering. Keys expire a while after the end
(resumable streams are replayable that long), and a day after their last write at the latest,
so a replica killed mid-run leaves nothing behind for good.

Appends never wait on Redis in the executor: they queue, and one writer task sends them in
pipelines, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import orjson
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from graphdock.runtime.streams import Event, RunStream

log = structlog.get_logger("graphdock.relay")

_END = b"__end__"
_ABANDONED_TTL = 24 * 3600
# A stream nobody asked to keep still lives a few seconds past its end, for followers that are
# one read behind, and for thread streams on other replicas, which hear of a run by a signal
# (maybe only once it is over) and then read it from its first event.
_UNKEPT_TTL = 5
# A follower with nothing new for this long asks storage whether the run still lives: an end
# entry can be missing (Redis lost it, or the run ended before any replica wrote one).
_POLL_MS = 1000

# A follower that cannot read Redis for this long (or until the run ends) stops with an `error`
# event saying why, rather than leaving its client with a silent stream.
_UNREACHABLE_SECONDS = 10.0

StillActive = Callable[[], Awaitable[bool]]
# An entry as redis-py returns it (bytes, no decoding): (id, {field: value}).
Entry = tuple[bytes, dict[bytes, bytes]]


async def _latest(redis: Redis, key: str) -> Entry | None:
    entries = cast(list[Entry], await redis.xrevrange(key, count=1))
    return entries[0] if entries else None


class Relay:
    def __init__(self, redis: Redis, prefix: str, *, retention_seconds: int = 60) -> None:
        self._redis = redis
        self._prefix = f"{prefix}run:"
        self._retention = retention_seconds
        self._queue: asyncio.Queue[tuple[str, bytes, dict[bytes, bytes], int | None]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write(), name="graphdock-relay")

    async def close(self) -> None:
        """Send what is queued, then stop."""
        if self._writer is None:
            return
        await self._queue.join()
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)

    # -- the executing replica -------------------------------------------------------------------

    async def mirror(self, run_id: str, stream: RunStream) -> None:
        """Relay a run's events from now on, numbered after whatever earlier attempts published."""
        try:
            last = await self._last_id(run_id)
        except (RedisError, OSError) as exc:  # the run goes on; only its relay suffers
            log.warning("relay.unreachable", run_id=run_id, error=str(exc))
            last = 0
        key = self._key(run_id)
        stream.relay_to(
            lambda e: self._queue.put_nowait(
                (key, f"{e.id}-0".encode(), {b"event": e.event.encode(), b"data": e.data}, _ABANDONED_TTL)
            ),
            after=last,
        )

    def end(self, run_id: str, result: dict[str, Any] | None, *, keep: bool) -> None:
        """Mark the end of a run's stream, with its result when known (None: read storage).

        Queued behind the run's events, so followers see them all before the end."""
        fields = {b"event": _END, b"data": orjson.dumps(result) if result is not None else b""}
        # `*`: an id after the last one, whoever wrote it (also for runs that never started here).
        ttl = self._retention if keep else _UNKEPT_TTL
        self._queue.put_nowait((self._key(run_id), b"*", fields, ttl))

    async def exists(self, run_id: str) -> bool:
        """Whether the run's stream is still kept (a run that ended: for its retention period)."""
        try:
            return bool(await self._redis.exists(self._key(run_id)))
        except (RedisError, OSError) as exc:
            log.warning("relay.unreachable", run_id=run_id, error=str(exc))
            return False

    async def _write(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for key, entry_id, fields, ttl in batch:
                        pipe.xadd(key, fields, id=entry_id)  # type: ignore[arg-type]
                        if ttl is not None:
                            pipe.expire(key, ttl)
                    results = await pipe.execute(raise_on_error=False)
                for outcome in results:
                    if isinstance(outcome, Exception):
                        log.warning("relay.append_failed", error=str(outcome))
            except (RedisError, OSError) as exc:
                log.warning("relay.write_failed", error=str(exc), events=len(batch))
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _last_id(self, run_id: str) -> int:
        latest = await _latest(self._redis, self._key(run_id))
        return _number(latest[0]) if latest else 0

    # -- any replica -----------------------------------------------------------------------------

    def follower(self, run_id: str, still_active: StillActive) -> RelayedStream:
        return RelayedStream(self._redis, self._key(run_id), still_active)

    def _key(self, run_id: str) -> str:
        return self._prefix + run_id


class RelayedStream:
    """A run's stream read back from Redis: the same events and ids as on the executing replica."""

    def __init__(self, redis: Redis, key: str, still_active: StillActive) -> None:
        self._redis = redis
        self._key = key
        self._still_active = still_active
        self._result: dict[str, Any] | None = None

    async def outcome(self) -> dict[str, Any] | None:
        async for _ in self.follow(0):
            pass
        return self._result

    async def follow(self, after: int | None) -> AsyncIterator[Event]:
        cursor = f"{after}-0" if after is not None else await self._now()
        if cursor is None:  # ended already
            return
        last_look = False
        failing_since: float | None = None
        while True:
            reply: list[tuple[bytes, list[Entry]]]
            try:
                reply = cast(
                    list[tuple[bytes, list[Entry]]],
                    await self._redis.xread(
                        {self._key: cursor}, count=256, block=None if last_look else _POLL_MS
                    ),
                )
                failing_since = None
            except (RedisError, OSError) as exc:
                log.warning("relay.read_failed", error=str(exc))
                now = asyncio.get_running_loop().time()
                failing_since = now if failing_since is None else failing_since
                if last_look or now - failing_since >= _UNREACHABLE_SECONDS:
                    yield _unrelayed(_number(cursor.encode()) + 1, exc)
                    return
                await asyncio.sleep(_POLL_MS / 1000)
                reply = []
            for _key, entries in reply or []:
                for entry_id, fields in entries:
                    cursor = entry_id.decode()
                    if fields.get(b"event") == _END:
                        data = fields.get(b"data")
                        self._result = orjson.loads(data) if data else None
                        return
                    yield Event(_number(entry_id), fields[b"event"].decode(), fields[b"data"])
            if reply:
                continue
            if last_look:
                return  # the run is over and left no end entry: nothing more will come
            with contextlib.suppress(RedisError, OSError):
                last_look = not await self._still_active()

    async def _now(self) -> str | None:
        """The cursor for "from now on": the last entry's id, or None if that entry ends the run."""
        try:
            latest = await _latest(self._redis, self._key)
        except (RedisError, OSError) as exc:  # follow() waits for Redis, or for the run's end
            log.warning("relay.read_failed", error=str(exc))
            return "0-0"
        if latest is None:
            return "0-0"
        entry_id, fields = latest
        return None if fields.get(b"event") == _END else entry_id.decode()


def _unrelayed(event_id: int, exc: BaseException) -> Event:
    error = {
        "error": "StreamUnavailable",
        "message": (
            f"Redis, which relays run events between replicas, is unreachable ({exc}); the run "
            "itself goes on: join it or read the thread's state for its outcome"
        ),
    }
    return Event(event_id, "error", orjson.dumps(error))


def _number(entry_id: bytes) -> int:
    return int(entry_id.split(b"-", 1)[0])

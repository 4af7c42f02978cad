"""Signals between replicas over Redis pub/sub: "a run is waiting" (wake), "stop this run" (cancel)
and "a run was created on this thread" (announce).

Pub/sub delivers at most once, and only to replicas connected at that moment, so nothing relies
on a signal alone: a replica that misses a wake claims on its next lease tick anyway, a run
whose cancel is lost keeps its row's status for the canceller to wait on, and a thread stream
that misses an announcement still looks at its thread's runs now and then. Every replica hears
its own signals too, which keeps one code path for "the run executes here" and "elsewhere".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import orjson
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger("graphdock.signals")

OnWake = Callable[[], None]
OnCancel = Callable[[str, str], None]
OnRun = Callable[[str, str], None]  # (thread_id, run_id)

_RECONNECT_SECONDS = 0.5


class Signals:
    def __init__(
        self, redis: Redis, prefix: str, *, on_wake: OnWake, on_cancel: OnCancel, on_run: OnRun
    ) -> None:
        self._redis = redis
        self._channel = f"{prefix}signals"
        self._on_wake = on_wake
        self._on_cancel = on_cancel
        self._on_run = on_run
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="graphdock-signals")
        # Listening before the first run is accepted, so no signal sent to us is missed at start.
        await asyncio.wait_for(self._subscribed.wait(), timeout=10)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def wake(self) -> None:
        await self._publish({"t": "wake"})

    async def cancel(self, run_id: str, action: str) -> None:
        await self._publish({"t": "cancel", "run_id": run_id, "action": action})

    async def announce(self, thread_id: str, run_id: str) -> None:
        # Ids only: the message goes to every replica, and a run's input may weigh megabytes.
        await self._publish({"t": "run", "thread_id": thread_id, "run_id": run_id})

    async def _publish(self, message: dict[str, Any]) -> None:
        try:
            await self._redis.publish(self._channel, orjson.dumps(message))
        except RedisError as exc:  # the lease tick and status polling cover a lost signal
            log.warning("signals.publish_failed", error=str(exc))

    async def _listen(self) -> None:
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._subscribed.set()
                async for message in pubsub.listen():
                    self._dispatch(message.get("data"))
            except (RedisError, OSError) as exc:
                log.warning("signals.disconnected", error=str(exc))
                await asyncio.sleep(_RECONNECT_SECONDS)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed in newer redis-py

    def _dispatch(self, data: object) -> None:
        try:
            message = orjson.loads(data) if isinstance(data, bytes | str) else None
        except orjson.JSONDecodeError:
            message = None
        if not isinstance(message, dict):
            log.warning("signals.unreadable", data=repr(data)[:200])
            return
        if message.get("t") == "wake":
            self._on_wake()
        elif message.get("t") == "cancel":
            self._on_cancel(str(message.get("run_id")), str(message.get("action")))
        elif message.get("t") == "run":
            self._on_run(str(message.get("thread_id")), str(message.get("run_id")))

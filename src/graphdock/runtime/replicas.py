"""The other replicas of a deployment, as the run path sees them: shared run streams and signals.

Everything several replicas share goes through Redis: each run's events (the relay, so a client on
any replica can follow a run executing on another) and three signals (a run is waiting; stop this
run; a run was created on a thread, for the thread's streams). This class holds both behind one
interface, so the domain never touches Redis itself; without Redis (one replica) there is no
Replicas object at all, and runs stay in the process.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from graphdock.runtime.relay import Relay, RelayedStream, StillActive
from graphdock.runtime.signals import OnCancel, OnRun, OnWake, Signals
from graphdock.runtime.streams import RunStream


class Replicas:
    def __init__(self, redis: Redis, prefix: str) -> None:
        """`prefix` namespaces this deployment's keys and channels in a Redis others may share."""
        self._redis = redis
        self._prefix = prefix
        self._relay = Relay(redis, prefix)
        self._signals: Signals | None = None

    async def start(self, *, on_wake: OnWake, on_cancel: OnCancel, on_run: OnRun) -> None:
        """Relay events and listen for signals: `on_wake` when a run waits, `on_cancel(run_id,
        action)`, `on_run(thread_id, run_id)` when a run is created (here too)."""
        self._relay.start()
        self._signals = Signals(
            self._redis, self._prefix, on_wake=on_wake, on_cancel=on_cancel, on_run=on_run
        )
        await self._signals.start()

    async def close(self) -> None:
        if self._signals is not None:
            await self._signals.close()
        await self._relay.close()

    # -- signals ----------------------------------------------------------------------------------

    async def wake(self) -> None:
        """Tell every replica a run is waiting: any with a free slot may take it."""
        if self._signals is not None:
            await self._signals.wake()

    async def cancel(self, run_id: str, action: str) -> None:
        """Ask whichever replica executes (or is claiming) the run to stop it."""
        if self._signals is not None:
            await self._signals.cancel(run_id, action)

    async def announce(self, thread_id: str, run_id: str) -> None:
        """Tell every replica a run was created on the thread: its thread streams follow it."""
        if self._signals is not None:
            await self._signals.announce(thread_id, run_id)

    # -- run streams ------------------------------------------------------------------------------

    async def mirror(self, run_id: str, stream: RunStream) -> None:
        """Publish the run's events (executing here) for followers on every replica."""
        await self._relay.mirror(run_id, stream)

    def follower(self, run_id: str, still_active: StillActive) -> RelayedStream:
        """The run's stream as any replica reads it back."""
        return self._relay.follower(run_id, still_active)

    def end(self, run_id: str, result: dict[str, Any] | None, *, keep: bool) -> None:
        """End the run's stream for followers everywhere (`keep`: replayable for a while)."""
        self._relay.end(run_id, result, keep=keep)

    async def kept(self, run_id: str) -> bool:
        """Whether the run's stream is still kept (a run that ended: for its retention period)."""
        return await self._relay.exists(run_id)

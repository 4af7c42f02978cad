"""The scheduler: every tick, claim the crons that are due and start each one's run.

Each replica runs one. Claiming happens in the database (storage.claim_due_crons): a due cron's
next_run_date moves forward in the transaction that hands it out, so a firing goes to exactly one
scheduler, on one replica or many. The next date is counted from *now*, not from the missed one:
a server that was down while firings were due makes one catch-up run per cron, not a flood.
The run is created after the claim commits; a process killed between the two loses that one
firing (it never runs twice).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog

from graphdock.domain.schedules import next_firing
from graphdock.errors import GraphdockError
from graphdock.storage.base import Storage
from graphdock.storage.crons import Cron
from graphdock.storage.records import Json, utc_now

log = structlog.get_logger("graphdock.crons")

# Creates an ordinary run from a cron's payload: (thread_id or None for a new thread, payload) → run id.
StartRun = Callable[[str | None, Json], Awaitable[str]]

# Crons claimed per transaction; a tick keeps claiming while batches come back full.
_BATCH = 50


class Scheduler:
    def __init__(self, storage: Storage, start_run: StartRun, *, tick_seconds: float) -> None:
        self._storage = storage
        self._start_run = start_run
        self._tick_seconds = tick_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def tick(self) -> int:
        """Fire every cron due now; returns how many fired."""
        fired = 0
        while True:
            due = await self._storage.claim_due_crons(utc_now(), _following, _BATCH)
            for cron in due:
                await self._fire(cron)
            fired += len(due)
            if len(due) < _BATCH:
                return fired

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except GraphdockError as exc:  # the database is busy or away: try again next tick
                log.warning("crons.tick_failed", error=exc.detail)
            except Exception:
                log.exception("crons.tick_crashed")
            await asyncio.sleep(self._tick_seconds)

    async def _fire(self, cron: Cron) -> None:
        payload = dict(cron.payload)
        # The run's metadata: the cron's, the payload's, and which cron made it.
        payload["metadata"] = {**cron.metadata, **(payload.get("metadata") or {}), "cron_id": cron.cron_id}
        if cron.thread_id is None:
            payload["on_completion"] = cron.on_run_completed or "delete"
        try:
            run_id = await self._start_run(cron.thread_id, payload)
        except GraphdockError as exc:  # its assistant's graph is gone, its thread busy (reject)…
            log.warning("cron.run_refused", cron_id=cron.cron_id, error=exc.detail)
            return
        except Exception:  # one bad cron must not cost the others in its batch their firing
            log.exception("cron.fire_crashed", cron_id=cron.cron_id)
            return
        log.info("cron.fired", cron_id=cron.cron_id, run_id=run_id, due=cron.next_run_date)


def _following(cron: Cron, now: str) -> str | None:
    return next_firing(cron.schedule, cron.timezone, datetime.fromisoformat(now), cron.end_time)

"""The rows storage hands to the domain for crons: a schedule, the run it makes, when it fires next."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from graphdock.errors import NotFound
from graphdock.storage.records import Json

if TYPE_CHECKING:
    from graphdock.storage.visibility import Visibility

CronSortField = Literal[
    "cron_id", "assistant_id", "thread_id", "created_at", "updated_at", "next_run_date", "end_time"
]
OnRunCompleted = Literal["delete", "keep"]


@dataclass(frozen=True, slots=True)
class Cron:
    cron_id: str
    assistant_id: str
    # None for a stateless cron: each firing makes a run on a new thread.
    thread_id: str | None
    schedule: str
    # IANA name; None is UTC.
    timezone: str | None
    end_time: str | None
    enabled: bool
    # What a stateless cron does with each run's thread once the run ends; None on thread crons.
    on_run_completed: OnRunCompleted | None
    # The run each firing creates, as the client gave it (the SDK's RunCreate fields).
    payload: Json
    metadata: Json
    # When it fires next; None once it never will again (past its end_time).
    next_run_date: str | None
    created_at: str
    updated_at: str
    user_id: str | None = None

    def to_wire(self) -> Json:
        return {
            "cron_id": self.cron_id,
            "assistant_id": self.assistant_id,
            "thread_id": self.thread_id,
            "user_id": self.user_id,
            "end_time": self.end_time,
            "schedule": self.schedule,
            "timezone": self.timezone,
            "payload": self.payload,
            "next_run_date": self.next_run_date,
            "metadata": self.metadata,
            "on_run_completed": self.on_run_completed,
            "enabled": self.enabled,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class CronFilter:
    assistant_id: str | None = None
    thread_id: str | None = None
    enabled: bool | None = None
    # Containment, as for assistants and threads.
    metadata: Json | None = None
    # What the user may see (an auth handler's filter on the cron's metadata); None: everything.
    visible: Visibility | None = None


# Called inside the update transaction with the stored cron; returns the cron to store, or raises
# a GraphdockError (which rolls back). The domain's rules (schedule, next_run_date) live there.
ReviseCron = Callable[[Cron], Cron]
# The next firing after a claimed one, computed from `now` (never from the missed date, so a
# server that was down makes one catch-up run, not one per missed firing); None: it never fires again.
NextFiring = Callable[[Cron, str], str | None]


def cron_not_found(cron_id: str) -> NotFound:
    return NotFound(f"Cron {cron_id} not found")

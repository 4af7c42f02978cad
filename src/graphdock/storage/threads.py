"""The rows storage hands to the domain for threads and the runs on them.

A thread's checkpoints live in LangGraph's own saver (runtime/checkpoints.py); the row here is what
the API lists and filters on: metadata, status, and a copy of the latest values and interrupts,
written when a run ends so that search and GET never have to open the checkpointer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

from graphdock.storage.records import Json

ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
RunStatus = Literal["pending", "running", "error", "success", "timeout", "interrupted"]
MultitaskStrategy = Literal["reject", "interrupt", "rollback", "enqueue"]
ThreadSortField = Literal["thread_id", "status", "created_at", "updated_at"]

ACTIVE_RUN: tuple[RunStatus, ...] = ("pending", "running")
RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)


if TYPE_CHECKING:
    from graphdock.storage.visibility import Visibility


@dataclass(frozen=True, slots=True)
class Thread:
    thread_id: str
    created_at: str
    updated_at: str
    metadata: Json
    status: ThreadStatus
    values: Any
    interrupts: dict[str, list[Json]]

    def to_wire(self) -> Json:
        return {
            "thread_id": self.thread_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "metadata": self.metadata,
            "status": self.status,
            "values": self.values,
            "interrupts": self.interrupts,
        }


@dataclass(frozen=True, slots=True)
class ThreadOutcome:
    """What a finished run leaves on its thread: written with the run's status, in one transaction."""

    status: ThreadStatus
    values: Any
    interrupts: dict[str, list[Json]]


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    thread_id: str
    assistant_id: str
    created_at: str
    updated_at: str
    status: RunStatus
    metadata: Json
    multitask_strategy: MultitaskStrategy
    # Everything the executor needs to run it: input/command, config, context, stream modes…
    kwargs: Json
    # The version it was pinned to ("<assistant_id>@N"), or None to use the active one at start.
    pinned_version: int | None = None
    # The version that ran: set when the run starts.
    assistant_version: int | None = None
    # {"error": exception type, "message": text} for a run that failed.
    error: Json | None = None
    # Stateless runs live on a temporary thread, deleted when they end (on_completion=delete).
    temporary: bool = False
    # Not started before this time (after_seconds).
    not_before: str | None = None
    # How many times a worker has claimed it: 1 on its first execution, more after a retry
    # (its worker's lease expired). The executor's writes are fenced by it.
    attempt: int = 0

    def to_wire(self) -> Json:
        return {
            "run_id": self.run_id,
            "thread_id": self.thread_id,
            "assistant_id": self.assistant_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "status": self.status,
            "metadata": self.metadata,
            "multitask_strategy": self.multitask_strategy,
            "kwargs": self.kwargs,
            # Beyond the SDK's Run (clients ignore unknown keys): which version ran, and why it failed.
            "assistant_version": self.assistant_version,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Lease:
    """Who executes a claimed run, and until when it counts as alive unless renewed."""

    worker_id: str
    until: str


@dataclass(frozen=True, slots=True)
class ExpiredLeases:
    """Runs whose worker stopped renewing its lease: put back in the queue, or failed for good."""

    retried: list[Run]
    failed: list[Run]


@dataclass(frozen=True, slots=True)
class RunQueue:
    """What waits in the run queue, as the worker looks at it when it has claimed what it could."""

    waiting: bool  # any pending run, due or not, claimable or behind its thread's running run
    next_due: str | None  # the earliest not_before among pending runs, to wake the worker then


@dataclass(frozen=True, slots=True)
class ThreadFilter:
    metadata: Json = field(default_factory=dict)
    values: Json = field(default_factory=dict)
    status: ThreadStatus | None = None
    ids: tuple[str, ...] | None = None
    # What the user may see (an auth handler's filter on thread metadata); None: everything.
    visible: Visibility | None = None


@dataclass(frozen=True, slots=True)
class NewThread:
    """The thread a run creates when it names one that does not exist (if_not_exists=create)."""

    metadata: Json
    # Its id was just made for this run (a stateless run's): no thread can have it, so storage may
    # insert it without first looking for one (a thread that had it would fail the insert).
    fresh: bool = False

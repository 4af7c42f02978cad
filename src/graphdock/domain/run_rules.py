"""The rules of runs on a thread, written once and handed to storage, which applies them in its write.

Storage decides nothing about runs: it reads the rows a rule needs inside its transaction (the
thread's active runs, in the order they were created; the thread's status and whether other runs
still wait on it), calls the rule, and writes what the rule answers, in the same transaction, so
decision and write see the same rows on either backend. `Revise` and `Decide` do the same for
assistants.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphdock.errors import Conflict
from graphdock.storage.base import Admit
from graphdock.storage.records import Json
from graphdock.storage.threads import MultitaskStrategy, Run, ThreadStatus


def admission(strategy: MultitaskStrategy) -> Admit:
    """The multitask rule for a run created on a thread with `strategy`.

    The rule gets the thread's active runs, oldest first, and returns those the new run displaces:
    reject refuses a busy thread; interrupt and rollback displace every active run (storage marks
    the pending ones interrupted in the same transaction; the running ones are the executor's to
    stop); enqueue displaces nothing, and the new run waits its turn.
    """

    def admit(thread_id: str, active: Sequence[Run]) -> list[Run]:
        if not active or strategy == "enqueue":
            return []
        if strategy == "reject":
            raise refuse_busy_thread(thread_id)
        return list(active)

    return admit


def refuse_busy_thread(thread_id: str) -> Conflict:
    return Conflict(
        f"Thread {thread_id} is busy with another run; wait for it, cancel it, or choose "
        "multitask_strategy interrupt, rollback or enqueue"
    )


def thread_after_run(
    current: ThreadStatus, others_active: bool, outcome: ThreadStatus | None
) -> ThreadStatus:
    """The thread's status once a run ends.

    `current`: its status now; `others_active`: whether other runs are pending or running on it;
    `outcome`: the status the run's result asks for (idle, interrupted, error), or None when the
    run left no outcome (it was cancelled: its thread keeps what its checkpoints say). A thread
    stays busy while other runs wait on it, whatever the run that ended left behind.
    """
    if outcome is None:
        return "idle" if current == "busy" and not others_active else current
    return "busy" if others_active else outcome


def result_body(values: Any, interrupts: dict[str, list[Json]]) -> Json:
    """A run's result as runs.wait and join return it: the thread's values, and its interrupts."""
    body: Json = dict(values) if isinstance(values, dict) else {} if values is None else {"values": values}
    flat = [i for items in interrupts.values() for i in items]
    if flat:
        body["__interrupt__"] = flat
    return body

"""Storage contract, continued: threads, the runs on them, the run queue and its multitask rules.

Driven directly on every backend through the `storage` fixture (conftest.py), as the rest of the
contract. The queue's guarantee is checked under concurrency too: every run claimed exactly once,
never two running on one thread, on one store and (PostgreSQL) on two stores sharing a database.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from graphdock.domain.run_rules import admission, thread_after_run
from graphdock.errors import Conflict, NotFound
from graphdock.storage.base import Storage
from graphdock.storage.containment import contains
from graphdock.storage.postgres.store import PostgresStorage
from graphdock.storage.records import Json, Page, utc_now
from graphdock.storage.threads import (
    ExpiredLeases,
    Lease,
    MultitaskStrategy,
    NewThread,
    Run,
    RunQueue,
    ThreadFilter,
    ThreadOutcome,
    ThreadSortField,
)
from tests.postgres import postgres_url
from tests.storage.test_contract import BASE, OTHER, to

AID = "aaaaaaaa-0000-4000-8000-000000000001"
OTHER_AID = "aaaaaaaa-0000-4000-8000-000000000002"
MISSING = "dddddddd-0000-4000-8000-000000000404"


def tid(n: int) -> str:
    """Thread ids whose byte order is their number's order."""
    return f"00000000-0000-4000-8000-{n:012d}"


def rid(n: int) -> str:
    return f"11111111-0000-4000-8000-{n:012d}"


def ts(seconds: float) -> str:
    """A fixed-width UTC timestamp, as utc_now() writes them, `seconds` after a fixed moment."""
    return (datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)).isoformat(timespec="microseconds")


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def make_run(
    run_id: str,
    thread_id: str,
    *,
    created_at: str | None = None,
    assistant_id: str = AID,
    strategy: MultitaskStrategy = "enqueue",
    not_before: str | None = None,
    **fields: Any,
) -> Run:
    created = created_at or utc_now()
    return Run(
        run_id=run_id,
        thread_id=thread_id,
        assistant_id=assistant_id,
        created_at=created,
        updated_at=created,
        status="pending",
        metadata=fields.pop("metadata", {}),
        multitask_strategy=strategy,
        kwargs=fields.pop("kwargs", {"input": {"n": 1}}),
        not_before=not_before,
        **fields,
    )


async def add_run(
    storage: Storage, run: Run, strategy: MultitaskStrategy | None = None, *, create: bool = False
) -> list[Run]:
    new_thread = NewThread({}) if create else None
    _, displaced = await storage.create_run(
        run, new_thread=new_thread, admit=admission(strategy or run.multitask_strategy)
    )
    return displaced


async def claimed_id(storage: Storage, now: str) -> str | None:
    run = await storage.claim_run(now)
    return run.run_id if run else None


async def status_of(storage: Storage, thread_id: str) -> str:
    return (await storage.get_thread(thread_id)).status


async def run_statuses(storage: Storage, *run_ids: str) -> list[str]:
    return [(await storage.get_run(None, r)).status for r in run_ids]


async def found_ids(
    storage: Storage,
    where: ThreadFilter,
    sort_by: ThreadSortField = "thread_id",
    descending: bool = False,
    page: Page | None = None,
) -> list[str]:
    found, _ = await storage.search_threads(where, page or Page(limit=1000), sort_by, descending)
    return [t.thread_id for t in found]


OUTCOME = ThreadOutcome("idle", {"messages": ["hi"], "n": 1}, {})


# -- threads: create, get, update, delete ---------------------------------------------------------


async def test_create_thread_stores_an_idle_thread_that_get_returns(storage: Storage) -> None:
    metadata = {"owner": "ana", "emoji": "🚀", "nested": {"a": [1, 2.5, None, True]}}
    created = await storage.create_thread(tid(1), metadata, "raise")
    assert (created.thread_id, created.metadata, created.status) == (tid(1), metadata, "idle")
    assert (created.values, created.interrupts) == (None, {})
    assert created.created_at == created.updated_at
    assert at(created.created_at).utcoffset() == timedelta(0)
    assert await storage.get_thread(tid(1)) == created


async def test_create_thread_with_an_existing_id_is_a_conflict_or_returns_the_stored_one(
    storage: Storage,
) -> None:
    stored = await storage.create_thread(tid(1), {"v": 1}, "raise")
    with pytest.raises(Conflict, match=tid(1)):
        await storage.create_thread(tid(1), {"v": 2}, "raise")
    assert await storage.create_thread(tid(1), {"v": 3}, "do_nothing") == stored
    assert await storage.get_thread(tid(1)) == stored


async def test_unknown_threads_are_not_found(storage: Storage) -> None:
    with pytest.raises(NotFound, match=f"Thread {MISSING}"):
        await storage.get_thread(MISSING)
    with pytest.raises(NotFound, match=f"Thread {MISSING}"):
        await storage.update_thread(MISSING, {"a": 1})
    with pytest.raises(NotFound, match=f"Thread {MISSING}"):
        await storage.delete_thread(MISSING)
    with pytest.raises(NotFound, match=f"Thread {MISSING}"):
        await storage.set_thread_state(MISSING, OUTCOME)
    assert await storage.count_threads(ThreadFilter()) == 0


async def test_update_thread_merges_metadata_shallowly_and_touches_updated_at(storage: Storage) -> None:
    created = await storage.create_thread(tid(1), {"a": 1, "keep": "k", "nested": {"x": 1}}, "raise")
    await asyncio.sleep(0.002)
    updated = await storage.update_thread(tid(1), {"a": 2, "b": [1], "nested": {"y": 2}})
    assert updated.metadata == {"a": 2, "keep": "k", "b": [1], "nested": {"y": 2}}
    assert updated.created_at == created.created_at
    assert at(updated.updated_at) > at(created.updated_at)
    assert await storage.get_thread(tid(1)) == updated
    assert (await storage.update_thread(tid(1), {})).metadata == updated.metadata


async def test_concurrent_metadata_merges_keep_every_key(storage: Storage) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    await asyncio.gather(*(storage.update_thread(tid(1), {f"k{i}": i}) for i in range(24)))
    assert (await storage.get_thread(tid(1))).metadata == {f"k{i}": i for i in range(24)}


async def test_delete_thread_removes_it_and_its_runs(storage: Storage) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    await storage.create_thread(tid(2), {}, "raise")
    await add_run(storage, make_run(rid(1), tid(1)))
    await add_run(storage, make_run(rid(2), tid(2)))
    await storage.delete_thread(tid(1))
    with pytest.raises(NotFound):
        await storage.get_thread(tid(1))
    with pytest.raises(NotFound):
        await storage.get_run(None, rid(1))
    with pytest.raises(NotFound):
        await storage.delete_thread(tid(1))
    assert [r.run_id for r in await storage.find_active_runs()] == [rid(2)]
    assert await claimed_id(storage, utc_now()) == rid(2)


async def test_set_thread_state_writes_the_outcome_but_a_busy_thread_stays_busy(storage: Storage) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    interrupts = {"task": [{"value": "ask", "id": "i1"}]}
    state = await storage.set_thread_state(tid(1), ThreadOutcome("interrupted", {"v": 1}, interrupts))
    assert (state.status, state.values, state.interrupts) == ("interrupted", {"v": 1}, interrupts)
    assert await storage.get_thread(tid(1)) == state

    await add_run(storage, make_run(rid(1), tid(1)))
    state = await storage.set_thread_state(tid(1), ThreadOutcome("idle", [1, "two"], {}))
    assert (state.status, state.values, state.interrupts) == ("busy", [1, "two"], {})

    state = await storage.set_thread_state(tid(1), ThreadOutcome("busy", None, {}))
    assert state.values is None, "no values is stored as no values, not as JSON null"


# -- threads: search and count --------------------------------------------------------------------

METADATA: list[Json] = [
    {"owner": "ana", "tags": ["a", "b"], "deep": {"k": {"v": 1, "w": "x"}}, "n": 1},
    {"owner": "ana", "tags": ["b"], "deep": {"k": {"v": 2}}, "flag": True},
    {"owner": "ben", "tags": [], "deep": {"k": {}}, "n": 1.0, "flag": 1},
    {"owner": "Ana", "deep": {"other": {"v": 1}}, "none": None},
    {},
]


async def test_search_threads_by_metadata_is_jsonb_containment_nested_too(storage: Storage) -> None:
    for n, metadata in enumerate(METADATA):
        await storage.create_thread(tid(n), metadata, "raise")
    filters: list[Json] = [
        {"owner": "ana"},
        {"deep": {"k": {"v": 1}}},
        {"deep": {"k": {}}},
        {"deep": {"k": {"v": 1.0, "w": "x"}}},
        {"tags": ["b"]},
        {"tags": ["b", "a"]},
        {"tags": []},
        {"n": 1},
        {"flag": True},
        {"flag": 1},
        {"none": None},
        {"owner": "ana", "flag": True},
        {"deep": {"v": 1}},
        {"missing": "x"},
    ]
    for where in filters:
        expected = [tid(n) for n, metadata in enumerate(METADATA) if contains(metadata, where)]
        assert await found_ids(storage, ThreadFilter(metadata=where)) == expected, where
        assert await storage.count_threads(ThreadFilter(metadata=where)) == len(expected), where
    assert await found_ids(storage, ThreadFilter(metadata={"deep": {"k": {"v": 1}}})) == [tid(0)]
    assert await found_ids(storage, ThreadFilter()) == [tid(n) for n in range(len(METADATA))]


async def test_search_threads_by_values_matches_threads_whose_latest_values_contain_them(
    storage: Storage,
) -> None:
    values: list[Any] = [
        {"messages": [{"role": "ai", "text": "hi"}], "step": 2},
        {"messages": [{"role": "human", "text": "hi"}], "step": 2.0},
        {"step": 3},
        [1, 2],
        None,
    ]
    for n, value in enumerate(values):
        await storage.create_thread(tid(n), {}, "raise")
        await storage.set_thread_state(tid(n), ThreadOutcome("idle", value, {}))
    await storage.create_thread(tid(9), {}, "raise")  # never had values
    for where, expected in [
        ({"step": 2}, [tid(0), tid(1)]),
        ({"messages": [{"role": "ai"}]}, [tid(0)]),
        ({"messages": [{"text": "hi"}]}, [tid(0), tid(1)]),
        ({"step": 4}, []),
    ]:
        assert await found_ids(storage, ThreadFilter(values=where)) == expected, where
        assert await storage.count_threads(ThreadFilter(values=where)) == len(expected), where


async def test_search_threads_by_status_and_ids_and_all_filters_together(storage: Storage) -> None:
    for n in range(5):
        await storage.create_thread(tid(n), {"group": n % 2}, "raise")
    await add_run(storage, make_run(rid(1), tid(1)))
    await add_run(storage, make_run(rid(2), tid(2)))
    await storage.set_thread_state(tid(3), ThreadOutcome("error", {"ok": False}, {}))

    assert await found_ids(storage, ThreadFilter(status="busy")) == [tid(1), tid(2)]
    assert await found_ids(storage, ThreadFilter(status="error")) == [tid(3)]
    assert await found_ids(storage, ThreadFilter(status="interrupted")) == []
    assert await found_ids(storage, ThreadFilter(ids=(tid(4), tid(0), MISSING))) == [tid(0), tid(4)]
    assert await found_ids(storage, ThreadFilter(ids=())) == []
    assert await storage.count_threads(ThreadFilter(ids=())) == 0
    both = ThreadFilter(metadata={"group": 1}, status="busy", ids=(tid(1), tid(2), tid(3)))
    assert await found_ids(storage, both) == [tid(1)]
    assert await storage.count_threads(both) == 1
    assert await storage.count_threads(ThreadFilter(status="idle")) == 2


async def test_search_threads_sorts_by_each_field_both_ways_with_thread_id_breaking_ties(
    storage: Storage,
) -> None:
    for n in (3, 1, 2, 0):  # created in this order
        await storage.create_thread(tid(n), {}, "raise")
        await asyncio.sleep(0.002)
    await storage.update_thread(tid(1), {"touched": True})
    await add_run(storage, make_run(rid(1), tid(2)))  # busy
    await storage.set_thread_state(tid(3), ThreadOutcome("error", None, {}))
    everything = ThreadFilter()

    assert await found_ids(storage, everything, "thread_id") == [tid(0), tid(1), tid(2), tid(3)]
    assert await found_ids(storage, everything, "thread_id", True) == [tid(3), tid(2), tid(1), tid(0)]
    assert await found_ids(storage, everything, "created_at") == [tid(3), tid(1), tid(2), tid(0)]
    assert await found_ids(storage, everything, "created_at", True) == [tid(0), tid(2), tid(1), tid(3)]
    threads = {
        t.thread_id: t for t in (await storage.search_threads(everything, Page(10), "thread_id", False))[0]
    }
    by_update = sorted(threads, key=lambda t: (threads[t].updated_at, t))
    assert await found_ids(storage, everything, "updated_at") == by_update
    assert await found_ids(storage, everything, "updated_at", True) == by_update[::-1]
    # busy < error < idle; the two idle threads in thread_id order (reversed when descending).
    assert await found_ids(storage, everything, "status") == [tid(2), tid(3), tid(0), tid(1)]
    assert await found_ids(storage, everything, "status", True) == [tid(1), tid(0), tid(3), tid(2)]


async def test_search_threads_pages_say_whether_more_follow(storage: Storage) -> None:
    for n in range(5):
        await storage.create_thread(tid(n), {"all": True}, "raise")
    where = ThreadFilter(metadata={"all": True})
    pages = []
    for offset in (0, 2, 4, 6):
        found, more = await storage.search_threads(where, Page(limit=2, offset=offset), "thread_id", False)
        pages.append(([t.thread_id for t in found], more))
    assert pages == [
        ([tid(0), tid(1)], True),
        ([tid(2), tid(3)], True),
        ([tid(4)], False),
        ([], False),
    ]
    found, more = await storage.search_threads(where, Page(limit=5), "thread_id", False)
    assert (len(found), more) == (5, False), "a page that ends exactly at the last row has no more"
    found, more = await storage.search_threads(where, Page(limit=2, offset=3), "thread_id", True)
    assert ([t.thread_id for t in found], more) == ([tid(1), tid(0)], False)


# -- runs: create, and the multitask strategies ---------------------------------------------------


async def test_create_run_on_a_missing_thread_is_not_found_and_creates_nothing(storage: Storage) -> None:
    with pytest.raises(NotFound, match=f"Thread {MISSING}"):
        await add_run(storage, make_run(rid(1), MISSING))
    with pytest.raises(NotFound):
        await storage.get_thread(MISSING)
    with pytest.raises(NotFound):
        await storage.get_run(None, rid(1))
    assert await storage.find_active_runs() == []


async def test_create_run_with_new_thread_creates_the_thread_owned_by_its_assistant(storage: Storage) -> None:
    run = make_run(
        rid(1),
        tid(1),
        metadata={"run": "meta"},
        kwargs={"input": {"messages": ["ü"]}, "stream_mode": ["values"]},
        pinned_version=3,
        temporary=True,
        not_before=ts(10),
    )
    created, displaced = await storage.create_run(
        run, new_thread=NewThread({"graph_id": "agent", "k": [1]}), admit=admission("reject")
    )
    assert (created, displaced) == (run, [])
    assert await storage.get_run(tid(1), rid(1)) == run, "the run round-trips whole"
    thread = await storage.get_thread(tid(1))
    assert (thread.metadata, thread.status) == ({"graph_id": "agent", "k": [1]}, "busy")
    assert at(thread.updated_at) == at(run.created_at)
    assert await storage.assistant_thread_ids(AID) == [tid(1)]
    assert await storage.assistant_thread_ids(OTHER_AID) == []


async def test_create_run_with_new_thread_on_an_existing_thread_leaves_the_thread_as_it_was(
    storage: Storage,
) -> None:
    await storage.create_thread(tid(1), {"mine": True}, "raise")
    await storage.create_run(
        make_run(rid(1), tid(1)), new_thread=NewThread({"theirs": True}), admit=admission("reject")
    )
    assert (await storage.get_thread(tid(1))).metadata == {"mine": True}
    assert await storage.assistant_thread_ids(AID) == [tid(1)], "a run on a thread makes it its assistant's"


async def test_assistant_thread_ids_finds_threads_by_the_assistant_id_in_their_metadata(
    storage: Storage,
) -> None:
    await storage.create_thread(tid(1), {"assistant_id": AID}, "raise")
    await storage.create_thread(tid(2), {"assistant_id": OTHER_AID}, "raise")
    await storage.create_thread(tid(3), {}, "raise")
    await add_run(storage, make_run(rid(4), tid(4)), create=True)
    assert sorted(await storage.assistant_thread_ids(AID)) == [tid(1), tid(4)]
    assert await storage.assistant_thread_ids(OTHER_AID) == [tid(2)]
    assert await storage.assistant_thread_ids(MISSING) == []


async def test_create_run_makes_the_thread_busy(storage: Storage) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    await storage.set_thread_state(tid(1), ThreadOutcome("interrupted", {"v": 1}, {"t": [{"x": 1}]}))
    await add_run(storage, make_run(rid(1), tid(1)))
    thread = await storage.get_thread(tid(1))
    assert (thread.status, thread.values) == ("busy", {"v": 1}), "values stay until a run ends"


@pytest.mark.parametrize("active", ["pending", "running"])
async def test_reject_refuses_a_run_while_another_is_active_and_accepts_it_after(
    storage: Storage, active: str
) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    await add_run(storage, make_run(rid(1), tid(1)), "reject")
    if active == "running":
        await storage.claim_run(utc_now())
    with pytest.raises(Conflict, match=f"Thread {tid(1)} is busy"):
        await add_run(storage, make_run(rid(2), tid(1)), "reject")
    with pytest.raises(NotFound):
        await storage.get_run(None, rid(2))
    assert await run_statuses(storage, rid(1)) == [active]
    await storage.finish_run(rid(1), "success", error=None, outcome=OUTCOME, after=thread_after_run)
    assert await add_run(storage, make_run(rid(3), tid(1)), "reject") == []
    assert await status_of(storage, tid(1)) == "busy"


async def test_two_concurrent_creates_with_reject_on_an_idle_thread_let_exactly_one_in(
    storage: Storage,
) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    results = await asyncio.gather(
        *(add_run(storage, make_run(rid(n), tid(1)), "reject") for n in range(6)), return_exceptions=True
    )
    assert sum(r == [] for r in results) == 1, results
    assert all(isinstance(r, Conflict) for r in results if r != []), results
    assert len(await storage.find_active_runs(thread_id=tid(1))) == 1


@pytest.mark.parametrize("strategy", ["interrupt", "rollback"])
async def test_interrupt_and_rollback_interrupt_pending_runs_and_return_every_displaced_one(
    storage: Storage, strategy: MultitaskStrategy
) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    await storage.create_thread(tid(2), {}, "raise")
    first = make_run(rid(1), tid(1), created_at=ts(1))
    queued = make_run(rid(2), tid(1), created_at=ts(2))
    elsewhere = make_run(rid(9), tid(2), created_at=ts(3))
    for run in (first, queued, elsewhere):
        await add_run(storage, run)
    assert await claimed_id(storage, ts(5)) == rid(1)

    displaced = await add_run(storage, make_run(rid(3), tid(1), created_at=ts(6)), strategy)

    assert sorted((r.run_id, r.status) for r in displaced) == [(rid(1), "running"), (rid(2), "pending")]
    assert await run_statuses(storage, rid(1), rid(2), rid(3), rid(9)) == [
        "running",  # stopping it is the executor's work
        "interrupted",
        "pending",
        "pending",
    ]
    interrupted = await storage.get_run(None, rid(2))
    assert at(interrupted.updated_at) > at(queued.updated_at)
    assert await status_of(storage, tid(1)) == "busy"


async def test_interrupt_on_a_thread_with_nothing_active_displaces_nothing(storage: Storage) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    await add_run(storage, make_run(rid(1), tid(1)))
    await storage.interrupt_pending([rid(1)], after=thread_after_run)
    assert await add_run(storage, make_run(rid(2), tid(1)), "interrupt") == []
    assert await run_statuses(storage, rid(1), rid(2)) == ["interrupted", "pending"]


async def test_enqueue_leaves_the_active_runs_be(storage: Storage) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    await add_run(storage, make_run(rid(1), tid(1), created_at=ts(1)))
    await storage.claim_run(ts(5))
    await add_run(storage, make_run(rid(2), tid(1), created_at=ts(2)))
    assert await add_run(storage, make_run(rid(3), tid(1), created_at=ts(3)), "enqueue") == []
    assert await run_statuses(storage, rid(1), rid(2), rid(3)) == ["running", "pending", "pending"]


# -- runs: the queue ------------------------------------------------------------------------------


async def test_claim_takes_the_oldest_pending_run_and_marks_it_running(storage: Storage) -> None:
    for n, created in [(1, ts(3)), (2, ts(1)), (3, ts(2))]:
        await add_run(storage, make_run(rid(n), tid(n), created_at=created), create=True)
    claimed = await storage.claim_run(ts(10))
    assert claimed is not None
    assert (claimed.run_id, claimed.status, claimed.updated_at) == (rid(2), "running", ts(10))
    assert await storage.get_run(tid(2), rid(2)) == claimed
    assert [await claimed_id(storage, ts(10)) for _ in range(2)] == [rid(3), rid(1)]
    assert await storage.claim_run(ts(10)) is None


async def test_claim_breaks_created_at_ties_in_insertion_order(storage: Storage) -> None:
    for n in (5, 2, 8):
        await add_run(storage, make_run(rid(n), tid(n), created_at=ts(1)), create=True)
    assert [await claimed_id(storage, ts(10)) for _ in range(3)] == [rid(5), rid(2), rid(8)]


async def test_claim_never_starts_a_second_run_on_a_thread_with_one_running(storage: Storage) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    await storage.create_thread(tid(2), {}, "raise")
    await add_run(storage, make_run(rid(1), tid(1), created_at=ts(1)))
    await add_run(storage, make_run(rid(2), tid(1), created_at=ts(2)))
    await add_run(storage, make_run(rid(3), tid(2), created_at=ts(3)))
    assert [await claimed_id(storage, ts(10)) for _ in range(3)] == [rid(1), rid(3), None]
    await storage.finish_run(rid(1), "success", error=None, outcome=OUTCOME, after=thread_after_run)
    assert await claimed_id(storage, ts(10)) == rid(2)


async def test_claim_respects_not_before_and_the_queue_names_the_earliest(storage: Storage) -> None:
    assert await storage.run_queue() == RunQueue(waiting=False, next_due=None)
    await add_run(storage, make_run(rid(1), tid(1), created_at=ts(1), not_before=ts(100)), create=True)
    await add_run(storage, make_run(rid(2), tid(2), created_at=ts(2), not_before=ts(50)), create=True)
    await add_run(storage, make_run(rid(3), tid(3), created_at=ts(3)), create=True)
    assert await storage.run_queue() == RunQueue(waiting=True, next_due=ts(50))

    assert await claimed_id(storage, ts(10)) == rid(3), "a due run goes before older ones not yet due"
    assert await storage.claim_run(ts(49.999999)) is None
    assert await claimed_id(storage, ts(50)) == rid(2), "due at exactly not_before"
    assert await storage.run_queue() == RunQueue(True, ts(100)), "running runs are not waited for"
    await storage.interrupt_pending([rid(1)], after=thread_after_run)
    assert await storage.run_queue() == RunQueue(False, None), "nor are finished ones"


async def test_the_queue_counts_a_run_waiting_behind_its_threads_running_run(storage: Storage) -> None:
    await add_run(storage, make_run(rid(1), tid(1), created_at=ts(1)), create=True)
    assert await claimed_id(storage, ts(10)) == rid(1)
    assert await storage.run_queue() == RunQueue(waiting=False, next_due=None)
    await add_run(storage, make_run(rid(2), tid(1), created_at=ts(2)))
    assert await storage.claim_run(ts(10)) is None, "its thread is busy"
    assert await storage.run_queue() == RunQueue(waiting=True, next_due=None)


async def test_the_claim_records_the_version_the_run_executes(storage: Storage) -> None:
    """Pinned, else an earlier attempt's, else the assistant's active version; none if it is gone."""
    await storage.create_assistant(AID, BASE, "raise")
    await storage.revise_assistant(AID, to(OTHER))  # version 2 is active
    runs = [
        make_run(rid(1), tid(1), created_at=ts(1)),
        make_run(rid(2), tid(2), created_at=ts(2), pinned_version=1),
        make_run(rid(3), tid(3), created_at=ts(3), assistant_version=1),  # a retry of a run that ran 1
        make_run(rid(4), tid(4), created_at=ts(4), assistant_id=OTHER_AID),  # no such assistant
    ]
    for run in runs:
        await add_run(storage, run, create=True)
    versions = {}
    for _ in runs:
        claimed = await storage.claim_run(utc_now())
        assert claimed is not None
        assert await storage.get_run(claimed.thread_id, claimed.run_id) == claimed
        versions[claimed.run_id] = claimed.assistant_version
    assert versions == {rid(1): 2, rid(2): 1, rid(3): 1, rid(4): None}
    await storage.set_active_version(AID, 1)
    await add_run(storage, make_run(rid(5), tid(5)), create=True)
    claimed = await storage.claim_run(utc_now())
    assert claimed is not None
    assert claimed.assistant_version == 1, "the version active when the run starts, not when it was made"


async def test_create_run_hands_the_multitask_rule_the_threads_active_runs_oldest_first(
    storage: Storage,
) -> None:
    # Inserted newest first: the rule must still see them in the order they were created.
    await add_run(storage, make_run(rid(1), tid(1), created_at=ts(5)), create=True)
    await add_run(storage, make_run(rid(2), tid(1), created_at=ts(3)))
    seen: list[tuple[str, list[str]]] = []

    def admit(thread_id: str, active: Sequence[Run]) -> list[Run]:
        seen.append((thread_id, [r.run_id for r in active]))
        return [r for r in active if r.run_id == rid(2)]

    _, displaced = await storage.create_run(
        make_run(rid(3), tid(1), created_at=ts(7)), new_thread=None, admit=admit
    )
    assert seen == [(tid(1), [rid(2), rid(1)])]
    assert [r.run_id for r in displaced] == [rid(2)]
    # Only the displaced pending run is interrupted; the other waits its turn.
    statuses = {r: (await storage.get_run(tid(1), r)).status for r in (rid(1), rid(2), rid(3))}
    assert statuses == {rid(1): "pending", rid(2): "interrupted", rid(3): "pending"}


async def test_finish_run_writes_the_run_status_error_and_thread_outcome(storage: Storage) -> None:
    await add_run(storage, make_run(rid(1), tid(1)), create=True)
    await storage.claim_run(utc_now())
    error = {"error": "ValueError", "message": "bad ü"}
    interrupts = {"t1": [{"value": {"ask": "?"}, "id": "x"}]}
    finished = await storage.finish_run(
        rid(1),
        "error",
        error=error,
        outcome=ThreadOutcome("error", {"partial": [1]}, interrupts),
        after=thread_after_run,
    )
    assert (finished.status, finished.error) == ("error", error)
    assert await storage.get_run(tid(1), rid(1)) == finished
    thread = await storage.get_thread(tid(1))
    assert (thread.status, thread.values, thread.interrupts) == ("error", {"partial": [1]}, interrupts)

    with pytest.raises(NotFound, match=f"Run {MISSING}"):
        await storage.finish_run(MISSING, "success", error=None, outcome=None, after=thread_after_run)


async def test_finish_run_keeps_the_thread_busy_while_another_run_waits(storage: Storage) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    await add_run(storage, make_run(rid(1), tid(1), created_at=ts(1)))
    await add_run(storage, make_run(rid(2), tid(1), created_at=ts(2)))
    await storage.claim_run(ts(10))

    done = await storage.finish_run(rid(1), "success", error=None, outcome=OUTCOME, after=thread_after_run)
    assert (done.status, done.error) == ("success", None)
    thread = await storage.get_thread(tid(1))
    assert (thread.status, thread.values) == ("busy", OUTCOME.values), "values are written all the same"

    await storage.claim_run(ts(10))
    await storage.finish_run(
        rid(2),
        "interrupted",
        error=None,
        outcome=ThreadOutcome("interrupted", {"n": 2}, {}),
        after=thread_after_run,
    )
    thread = await storage.get_thread(tid(1))
    assert (thread.status, thread.values) == ("interrupted", {"n": 2}), "the last run's outcome stands"


async def test_finish_run_without_an_outcome_settles_a_busy_thread_and_keeps_its_values(
    storage: Storage,
) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    await storage.set_thread_state(tid(1), ThreadOutcome("idle", {"kept": True}, {}))
    await add_run(storage, make_run(rid(1), tid(1), created_at=ts(1)))
    await add_run(storage, make_run(rid(2), tid(1), created_at=ts(2)))
    await storage.claim_run(ts(10))
    await storage.finish_run(rid(1), "timeout", error=None, outcome=None, after=thread_after_run)
    assert await status_of(storage, tid(1)) == "busy", "a run still waits"
    await storage.claim_run(ts(10))
    await storage.finish_run(rid(2), "success", error=None, outcome=None, after=thread_after_run)
    thread = await storage.get_thread(tid(1))
    assert (thread.status, thread.values) == ("idle", {"kept": True})


async def test_finish_run_discarding_deletes_the_thread_with_its_runs_in_the_same_write(
    storage: Storage,
) -> None:
    await add_run(storage, make_run(rid(1), tid(1)), create=True)
    claimed = await storage.claim_run(utc_now(), lease("w1", 10**9))
    assert claimed is not None
    with pytest.raises(NotFound):  # another attempt's finish changes nothing
        await storage.finish_run(
            rid(1), "success", error=None, outcome=OUTCOME, after=thread_after_run, attempt=2, discard=True
        )
    assert await status_of(storage, tid(1)) == "busy"
    done = await storage.finish_run(
        rid(1),
        "error",
        error={"error": "E"},
        outcome=OUTCOME,
        after=thread_after_run,
        attempt=1,
        discard=True,
    )
    assert done == replace(claimed, status="error", error={"error": "E"}, updated_at=done.updated_at)
    assert at(done.updated_at) >= at(claimed.updated_at)
    with pytest.raises(NotFound):
        await storage.get_thread(tid(1))
    with pytest.raises(NotFound):
        await storage.get_run(None, rid(1))


async def test_finish_run_on_a_deleted_run_is_not_found(storage: Storage) -> None:
    await add_run(storage, make_run(rid(1), tid(1)), create=True)
    await storage.claim_run(utc_now())
    await storage.delete_run(tid(1), rid(1), after=thread_after_run)
    with pytest.raises(NotFound, match=f"Run {rid(1)}"):
        await storage.finish_run(rid(1), "success", error=None, outcome=OUTCOME, after=thread_after_run)
    assert await status_of(storage, tid(1)) == "idle"


# -- runs: reads ----------------------------------------------------------------------------------


async def test_list_runs_is_newest_first_filtered_by_status_and_paged(storage: Storage) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    await storage.create_thread(tid(2), {}, "raise")
    for n in range(1, 6):
        await add_run(storage, make_run(rid(n), tid(1), created_at=ts(n)))
    await add_run(storage, make_run(rid(9), tid(2), created_at=ts(9)))
    await storage.claim_run(ts(10))
    await storage.finish_run(rid(1), "success", error=None, outcome=None, after=thread_after_run)
    await storage.claim_run(ts(10))

    async def listed(status: Any = None, page: Page | None = None) -> list[str]:
        return [r.run_id for r in await storage.list_runs(tid(1), status, page or Page(limit=100))]

    assert await listed() == [rid(5), rid(4), rid(3), rid(2), rid(1)]
    assert await listed("pending") == [rid(5), rid(4), rid(3)]
    assert await listed("running") == [rid(2)]
    assert await listed("success") == [rid(1)]
    assert await listed("error") == []
    assert await listed(page=Page(limit=2, offset=1)) == [rid(4), rid(3)]
    assert await listed(page=Page(limit=2, offset=10)) == []
    with pytest.raises(NotFound, match=f"Thread {MISSING}"):
        await storage.list_runs(MISSING, None, Page())
    await storage.create_thread(tid(3), {}, "raise")
    assert await storage.list_runs(tid(3), None, Page()) == []


async def test_list_runs_breaks_created_at_ties_newest_inserted_first(storage: Storage) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    for n in (3, 1, 2):
        await add_run(storage, make_run(rid(n), tid(1), created_at=ts(1)))
    assert [r.run_id for r in await storage.list_runs(tid(1), None, Page())] == [rid(2), rid(1), rid(3)]


async def test_get_run_is_not_found_on_another_thread_or_when_absent(storage: Storage) -> None:
    await storage.create_thread(tid(2), {}, "raise")
    run = make_run(rid(1), tid(1))
    await add_run(storage, run, create=True)
    assert await storage.get_run(None, rid(1)) == run
    assert await storage.get_run(tid(1), rid(1)) == run
    with pytest.raises(NotFound, match=f"Run {rid(1)}"):
        await storage.get_run(tid(2), rid(1))
    with pytest.raises(NotFound, match=f"Run {rid(1)}"):
        await storage.get_run(MISSING, rid(1))
    with pytest.raises(NotFound, match=f"Run {MISSING}"):
        await storage.get_run(None, MISSING)


async def test_find_active_runs_lists_pending_and_running_oldest_first_narrowed_as_asked(
    storage: Storage,
) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    await storage.create_thread(tid(2), {}, "raise")
    for n, thread in [(1, tid(1)), (2, tid(2)), (3, tid(1)), (4, tid(2)), (5, tid(1))]:
        await add_run(storage, make_run(rid(n), thread, created_at=ts(n)))
    await storage.claim_run(ts(10))  # 1 runs
    await storage.claim_run(ts(10))  # 2 runs
    await storage.finish_run(rid(2), "success", error=None, outcome=None, after=thread_after_run)
    await storage.interrupt_pending([rid(5)], after=thread_after_run)

    async def active(**narrow: Any) -> list[tuple[str, str]]:
        return [(r.run_id, r.status) for r in await storage.find_active_runs(**narrow)]

    assert await active() == [(rid(1), "running"), (rid(3), "pending"), (rid(4), "pending")]
    assert await active(thread_id=tid(1)) == [(rid(1), "running"), (rid(3), "pending")]
    assert await active(run_ids=[rid(4), rid(2), rid(5), MISSING]) == [(rid(4), "pending")]
    assert await active(thread_id=tid(1), run_ids=[rid(3), rid(4)]) == [(rid(3), "pending")]
    assert await active(run_ids=[]) == []
    assert await active(thread_id=MISSING) == []


# -- runs: interrupt, delete, abandon ---------------------------------------------------------------


async def test_interrupt_pending_changes_only_pending_runs_and_settles_their_threads(
    storage: Storage,
) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    await storage.create_thread(tid(2), {}, "raise")
    await add_run(storage, make_run(rid(1), tid(1), created_at=ts(1)))
    await add_run(storage, make_run(rid(2), tid(1), created_at=ts(2)))
    await add_run(storage, make_run(rid(3), tid(2), created_at=ts(3)))
    await storage.claim_run(ts(10))  # 1 runs

    assert await storage.interrupt_pending([], after=thread_after_run) == []
    changed = await storage.interrupt_pending([rid(1), rid(2), rid(3), MISSING], after=thread_after_run)
    assert sorted((r.run_id, r.status) for r in changed) == [(rid(2), "interrupted"), (rid(3), "interrupted")]
    assert await run_statuses(storage, rid(1), rid(2), rid(3)) == ["running", "interrupted", "interrupted"]
    assert await status_of(storage, tid(1)) == "busy", "its running run is still active"
    assert await status_of(storage, tid(2)) == "idle", "nothing is left to run on it"
    assert await storage.interrupt_pending([rid(2), rid(3)], after=thread_after_run) == [], (
        "interrupting twice changes nothing"
    )


async def test_delete_run_removes_it_and_settles_its_thread(storage: Storage) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    await storage.create_thread(tid(2), {}, "raise")
    first = make_run(rid(1), tid(1), created_at=ts(1))
    await add_run(storage, first)
    await add_run(storage, make_run(rid(2), tid(1), created_at=ts(2)))

    with pytest.raises(NotFound, match=f"Run {rid(1)}"):
        await storage.delete_run(tid(2), rid(1), after=thread_after_run)
    with pytest.raises(NotFound, match=f"Run {MISSING}"):
        await storage.delete_run(None, MISSING, after=thread_after_run)
    assert await storage.delete_run(tid(1), rid(1), after=thread_after_run) == first
    with pytest.raises(NotFound):
        await storage.get_run(None, rid(1))
    assert await status_of(storage, tid(1)) == "busy", "another run still waits"
    await storage.delete_run(None, rid(2), after=thread_after_run)
    assert await status_of(storage, tid(1)) == "idle"
    assert await storage.list_runs(tid(1), None, Page()) == []


async def test_delete_run_leaves_a_thread_that_is_not_busy_as_it_is(storage: Storage) -> None:
    await add_run(storage, make_run(rid(1), tid(1)), create=True)
    await storage.claim_run(utc_now())
    await storage.finish_run(
        rid(1),
        "error",
        error={"error": "E"},
        outcome=ThreadOutcome("error", None, {}),
        after=thread_after_run,
    )
    await storage.delete_run(tid(1), rid(1), after=thread_after_run)
    assert await status_of(storage, tid(1)) == "error"


ABANDONED = {"error": "RunAbandoned", "message": "its replica died"}


def lease(worker: str, seconds: float) -> Lease:
    return Lease(worker, ts(seconds))


async def test_a_claim_counts_the_attempt_and_holds_a_lease(storage: Storage) -> None:
    await add_run(storage, make_run(rid(1), tid(1)), create=True)
    claimed = await storage.claim_run(ts(10), lease("w1", 40))
    assert claimed is not None
    assert (claimed.run_id, claimed.status, claimed.attempt) == (rid(1), "running", 1)
    assert (await storage.get_run(None, rid(1))).attempt == 1


async def test_renewing_extends_only_the_workers_own_running_runs(storage: Storage) -> None:
    for n in (1, 2, 3):
        await add_run(storage, make_run(rid(n), tid(n), created_at=ts(n)), create=True)
    await storage.claim_run(ts(10), lease("w1", 40))
    await storage.claim_run(ts(10), lease("w2", 40))
    await storage.claim_run(ts(10), lease("w1", 40))
    assert sorted(await storage.renew_leases(lease("w1", 100))) == [rid(1), rid(3)]
    # w2's lease ended at 40, w1's now ends at 100.
    expired = await storage.expire_leases(ts(50), max_attempts=3, error=ABANDONED, after=thread_after_run)
    assert [r.run_id for r in expired.retried] == [rid(2)]
    assert expired.failed == []
    assert await storage.renew_leases(lease("w2", 200)) == [], "w2 lost its run"


async def test_an_expired_lease_puts_the_run_back_first_in_line_until_its_attempts_are_used(
    storage: Storage,
) -> None:
    await storage.create_thread(tid(1), {}, "raise")
    await add_run(storage, make_run(rid(1), tid(1), created_at=ts(1)))
    await add_run(storage, make_run(rid(2), tid(1), created_at=ts(2)))  # waits behind 1
    await storage.claim_run(ts(10), lease("w1", 20))
    assert await storage.expire_leases(
        ts(19), max_attempts=2, error=ABANDONED, after=thread_after_run
    ) == ExpiredLeases([], [])

    expired = await storage.expire_leases(ts(21), max_attempts=2, error=ABANDONED, after=thread_after_run)
    assert [(r.run_id, r.status, r.attempt) for r in expired.retried] == [(rid(1), "pending", 1)]
    assert await status_of(storage, tid(1)) == "busy"
    again = await storage.claim_run(ts(22), lease("w2", 30))
    assert again is not None
    assert (again.run_id, again.attempt) == (rid(1), 2), "the retried run goes before the one behind it"

    expired = await storage.expire_leases(ts(31), max_attempts=2, error=ABANDONED, after=thread_after_run)
    assert expired.retried == []
    assert [(r.run_id, r.status, r.error) for r in expired.failed] == [(rid(1), "error", ABANDONED)]
    assert (await storage.get_run(None, rid(1))).error == ABANDONED
    assert await status_of(storage, tid(1)) == "busy", "a run still waits on it"
    assert await claimed_id(storage, ts(40)) == rid(2), "the waiting run is claimable at once"


async def test_a_failed_run_with_nothing_behind_it_leaves_its_thread_in_error(storage: Storage) -> None:
    await add_run(storage, make_run(rid(1), tid(1)), create=True)
    await storage.claim_run(ts(10), lease("w1", 20))
    expired = await storage.expire_leases(ts(21), max_attempts=1, error=ABANDONED, after=thread_after_run)
    assert [r.run_id for r in expired.failed] == [rid(1)]
    assert await status_of(storage, tid(1)) == "error"


async def test_a_run_claimed_without_a_lease_counts_as_expired(storage: Storage) -> None:
    # Rows a version without leases left running: the first sweep takes them.
    await add_run(storage, make_run(rid(1), tid(1)), create=True)
    await storage.claim_run(ts(10))
    expired = await storage.expire_leases(ts(11), max_attempts=1, error=ABANDONED, after=thread_after_run)
    assert [r.run_id for r in expired.failed] == [rid(1)]


async def test_only_the_attempt_that_holds_the_run_may_finish_it(storage: Storage) -> None:
    await add_run(storage, make_run(rid(1), tid(1)), create=True)
    await storage.claim_run(ts(10), lease("w1", 20))
    await storage.expire_leases(ts(21), max_attempts=2, error=ABANDONED, after=thread_after_run)
    await storage.claim_run(ts(22), lease("w2", 40))  # attempt 2
    with pytest.raises(NotFound):
        await storage.finish_run(
            rid(1), "success", error=None, outcome=OUTCOME, after=thread_after_run, attempt=1
        )
    assert await run_statuses(storage, rid(1)) == ["running"]
    done = await storage.finish_run(
        rid(1), "success", error=None, outcome=OUTCOME, after=thread_after_run, attempt=2
    )
    assert (done.status, done.attempt) == ("success", 2)
    assert await storage.renew_leases(lease("w2", 50)) == [], "a finished run holds no lease"


# -- runs: claimed by the transaction that creates them --------------------------------------------


async def test_create_run_on_a_fresh_thread_inserts_it_stamped_and_busy_and_refuses_a_taken_id(
    storage: Storage,
) -> None:
    await storage.create_assistant(AID, BASE, "raise")
    stamp = {"graph_id": "agent", "assistant_id": AID}
    created, displaced = await storage.create_run(
        make_run(rid(1), tid(1), metadata=stamp),
        new_thread=NewThread({"owner": "alice"}, fresh=True),
        admit=admission("reject"),
        start=lease("w1", 40),
    )
    assert (created.status, created.attempt, created.assistant_version, displaced) == ("running", 1, 1, [])
    assert await storage.get_run(tid(1), rid(1)) == created
    thread = await storage.get_thread(tid(1))
    assert (thread.status, thread.metadata) == ("busy", {"owner": "alice", **stamp})
    assert thread.updated_at == created.created_at
    queued, _ = await storage.create_run(
        make_run(rid(2), tid(2)), new_thread=NewThread({}, fresh=True), admit=admission("enqueue")
    )
    behind, _ = await storage.create_run(
        make_run(rid(3), tid(3)),
        new_thread=NewThread({}, fresh=True),
        admit=admission("enqueue"),
        start=lease("w1", 40),
    )
    assert (queued.status, behind.status) == ("pending", "pending"), "an older due run goes first"

    with pytest.raises(Conflict):
        await storage.create_run(
            make_run(rid(4), tid(1)),
            new_thread=NewThread({"owner": "eve"}, fresh=True),
            admit=admission("enqueue"),
        )
    with pytest.raises(NotFound):
        await storage.get_run(None, rid(4))
    assert (await storage.get_thread(tid(1))) == thread, "the thread that had the id is untouched"


async def test_create_run_with_a_lease_claims_the_run_as_a_claim_would_and_the_lease_works_alike(
    storage: Storage,
) -> None:
    await storage.create_assistant(AID, BASE, "raise")
    await storage.revise_assistant(AID, to(OTHER))  # version 2 is active
    created, displaced = await storage.create_run(
        make_run(rid(1), tid(1)), new_thread=NewThread({}), admit=admission("reject"), start=lease("w1", 40)
    )
    assert (created.status, created.attempt, created.assistant_version, displaced) == ("running", 1, 2, [])
    assert await storage.get_run(tid(1), rid(1)) == created
    assert await status_of(storage, tid(1)) == "busy"
    assert await storage.claim_run(utc_now()) is None, "nothing left for a worker to claim"
    pinned, _ = await storage.create_run(
        make_run(rid(2), tid(2), pinned_version=1),
        new_thread=NewThread({}),
        admit=admission("enqueue"),
        start=lease("w1", 40),
    )
    assert (pinned.status, pinned.assistant_version) == ("running", 1)
    # Its lease is renewed, expires and is retried exactly as a worker's claim's.
    assert sorted(await storage.renew_leases(lease("w1", 45))) == [rid(1), rid(2)]
    expired = await storage.expire_leases(ts(50), max_attempts=3, error=ABANDONED, after=thread_after_run)
    assert sorted(r.run_id for r in expired.retried) == [rid(1), rid(2)]
    retried = await storage.claim_run(ts(51), lease("w2", 100))
    assert retried is not None
    assert (retried.run_id, retried.attempt, retried.assistant_version) == (rid(1), 2, 2)
    with pytest.raises(NotFound):
        await storage.finish_run(
            rid(1), "success", error=None, outcome=OUTCOME, after=thread_after_run, attempt=1
        )
    done = await storage.finish_run(
        rid(1), "success", error=None, outcome=OUTCOME, after=thread_after_run, attempt=2
    )
    assert (done.status, done.attempt) == ("success", 2)


async def _run_then(storage: Storage, n: int, thread: int, *, running: bool, **fields: Any) -> None:
    await add_run(storage, make_run(rid(n), tid(thread), created_at=ts(n), **fields), create=True)
    if running:
        claimed = await storage.claim_run(ts(n))
        assert claimed is not None
        assert claimed.run_id == rid(n)


# Before the new run 9 on thread 1: what is on the queue, its strategy, whether it starts at once.
FIRST_IN_LINE: dict[str, tuple[list[tuple[int, int, bool, str | None]], MultitaskStrategy, bool]] = {
    "an idle queue": ([], "reject", True),
    "a run running on its thread": ([(1, 1, True, None)], "enqueue", False),
    "a run waiting on its thread": ([(1, 1, False, None)], "enqueue", False),
    "an older run waiting on another thread": ([(1, 2, False, None)], "enqueue", False),
    "a running run it displaces (interrupt)": ([(1, 1, True, None)], "interrupt", False),
    "a waiting run it displaces (interrupt)": ([(1, 1, False, None)], "interrupt", True),
    "a waiting run it displaces (rollback)": ([(1, 1, False, None)], "rollback", True),
    "an older run on another thread, not due yet": ([(1, 2, False, ts(2 * 10**9))], "enqueue", True),
    "an older run waiting behind a running one": ([(1, 2, True, None), (2, 2, False, None)], "enqueue", True),
}


@pytest.mark.parametrize("situation", FIRST_IN_LINE)
async def test_create_run_with_a_lease_claims_the_run_only_when_it_is_first_in_line(
    storage: Storage, situation: str
) -> None:
    """The claim's own rule: the oldest due pending run whose thread has nothing running. A run
    that must wait (its thread is busy, or older runs wait elsewhere) stays pending, never jumps
    the queue; the multitask rule is applied first."""
    before, strategy, starts = FIRST_IN_LINE[situation]
    for n, thread, running, not_before in before:
        await _run_then(storage, n, thread, running=running, not_before=not_before)
    await storage.create_thread(tid(1), {}, "do_nothing")
    created, _ = await storage.create_run(
        make_run(rid(9), tid(1), strategy=strategy),
        new_thread=None,
        admit=admission(strategy),
        start=lease("w1", 10**6),
    )
    assert created.status == ("running" if starts else "pending")
    assert await storage.get_run(tid(1), rid(9)) == created
    if not starts:
        assert created.attempt == 0
    running = [r for r in await storage.find_active_runs(thread_id=tid(1)) if r.status == "running"]
    assert len(running) <= 1


async def test_create_run_with_a_lease_on_a_missing_or_hidden_thread_claims_nothing(storage: Storage) -> None:
    with pytest.raises(NotFound):
        await storage.create_run(
            make_run(rid(1), tid(1)), new_thread=None, admit=admission("enqueue"), start=lease("w1", 40)
        )
    assert await storage.claim_run(utc_now()) is None
    await _run_then(storage, 2, 2, running=False)
    with pytest.raises(Conflict):
        await storage.create_run(
            make_run(rid(3), tid(2), strategy="reject"),
            new_thread=None,
            admit=admission("reject"),
            start=lease("w1", 40),
        )
    assert await run_statuses(storage, rid(2)) == ["pending"]
    assert [r.run_id for r in await storage.find_active_runs()] == [rid(2)]


# -- the queue under concurrency ------------------------------------------------------------------


async def _drain_concurrently(stores: list[Storage], claimers: int) -> None:
    """20 runs on 5 threads, claimed by `claimers` concurrent loops spread over `stores`."""
    runs = [make_run(rid(n), tid(n % 5), created_at=ts(n)) for n in range(20)]
    for run in runs:
        await add_run(stores[0], run, create=True)
    claimed: list[Run] = []
    running: set[str] = set()
    finished = 0

    async def claimer(store: Storage) -> None:
        nonlocal finished
        while finished < len(runs):
            run = await store.claim_run(utc_now())
            if run is None:
                await asyncio.sleep(0.001)
                continue
            assert run.thread_id not in running, f"two runs running on thread {run.thread_id}"
            running.add(run.thread_id)
            claimed.append(run)
            active = await store.find_active_runs(thread_id=run.thread_id)
            assert [r.run_id for r in active if r.status == "running"] == [run.run_id]
            await asyncio.sleep(0.002)
            running.discard(run.thread_id)  # before finishing: the store may start the next at once
            await store.finish_run(run.run_id, "success", error=None, outcome=OUTCOME, after=thread_after_run)
            finished += 1

    async def all_claimers() -> None:
        # A TaskGroup, so that one failing claimer stops the others instead of leaving them looping.
        async with asyncio.TaskGroup() as group:
            for store in itertools.islice(itertools.cycle(stores), claimers):
                group.create_task(claimer(store))

    await asyncio.wait_for(all_claimers(), 60)

    assert sorted(r.run_id for r in claimed) == sorted(r.run_id for r in runs), "claimed exactly once each"
    for thread in {r.thread_id for r in runs}:
        order = [r.run_id for r in claimed if r.thread_id == thread]
        assert order == [r.run_id for r in runs if r.thread_id == thread], "a thread's runs start in order"
        assert await status_of(stores[0], thread) == "idle"
    assert await stores[0].find_active_runs() == []


async def test_concurrent_claimers_claim_every_run_once_and_one_per_thread_at_a_time(
    storage: Storage,
) -> None:
    await _drain_concurrently([storage], claimers=8)


async def test_claimers_in_two_processes_on_one_database_never_run_two_runs_on_a_thread(
    storage: Storage,
) -> None:
    if not isinstance(storage, PostgresStorage):
        pytest.skip("two stores on one database: a PostgreSQL deployment with replicas")
    other = PostgresStorage(postgres_url())
    await other.open()
    try:
        await _drain_concurrently([storage, other], claimers=8)
    finally:
        await other.close()


async def _create_and_drain(stores: list[Storage]) -> None:
    """40 runs on 5 threads made by 4 concurrent creators, each asking to claim what it creates,
    while 4 claimers claim the rest, over `stores`: each run starts once, one per thread at a time."""
    for t in range(5):
        await stores[0].create_thread(tid(t), {}, "raise")
    started: list[str] = []
    running: set[str] = set()
    finished = 0

    async def execute(store: Storage, run: Run) -> None:
        nonlocal finished
        assert run.thread_id not in running, f"two runs running on thread {run.thread_id}"
        running.add(run.thread_id)
        started.append(run.run_id)
        await asyncio.sleep(0.002)
        running.discard(run.thread_id)
        await store.finish_run(
            run.run_id, "success", error=None, outcome=OUTCOME, after=thread_after_run, attempt=run.attempt
        )
        finished += 1

    async def creator(store: Storage, numbers: range) -> None:
        for n in numbers:
            created, _ = await store.create_run(
                make_run(rid(n), tid(n % 5)),
                new_thread=None,
                admit=admission("enqueue"),
                start=Lease("creator", ts(10**9)),
            )
            if created.status == "running":
                await execute(store, created)

    async def claimer(store: Storage) -> None:
        while finished < 40:
            run = await store.claim_run(utc_now(), Lease("claimer", ts(10**9)))
            if run is None:
                await asyncio.sleep(0.001)
                continue
            await execute(store, run)

    async def everyone() -> None:
        async with asyncio.TaskGroup() as group:
            for i, store in zip(range(4), itertools.cycle(stores), strict=False):
                group.create_task(creator(store, range(i * 10, i * 10 + 10)))
                group.create_task(claimer(store))

    await asyncio.wait_for(everyone(), 60)
    assert sorted(started) == sorted(rid(n) for n in range(40)), "started exactly once each"
    assert await stores[0].find_active_runs() == []


async def test_creates_that_claim_and_claimers_together_start_every_run_once_one_per_thread(
    storage: Storage,
) -> None:
    await _create_and_drain([storage])


async def test_creates_that_claim_and_claimers_in_two_processes_start_every_run_once(
    storage: Storage,
) -> None:
    if not isinstance(storage, PostgresStorage):
        pytest.skip("two stores on one database: a PostgreSQL deployment with replicas")
    other = PostgresStorage(postgres_url())
    await other.open()
    try:
        await _create_and_drain([storage, other])
    finally:
        await other.close()


async def test_claim_waits_for_a_thread_another_write_holds_instead_of_skipping_its_run(
    storage: Storage,
) -> None:
    if not isinstance(storage, PostgresStorage):
        pytest.skip("row locks held by another connection: PostgreSQL")
    await add_run(storage, make_run(rid(1), tid(1)), create=True)
    async with await psycopg.AsyncConnection.connect(postgres_url()) as conn:
        # Another connection in the middle of a write to the thread's row (a metadata update).
        await conn.execute("UPDATE threads SET metadata = metadata WHERE thread_id = %s", (tid(1),))
        claim = asyncio.create_task(storage.claim_run(utc_now()))
        await asyncio.sleep(0.3)
        assert not claim.done(), "the claim did not wait for the thread's lock"
        await conn.commit()
    claimed = await asyncio.wait_for(claim, 10)
    assert claimed is not None
    assert claimed.run_id == rid(1)

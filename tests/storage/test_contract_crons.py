"""Storage contract, continued: crons — their rows, search, and the claim that fires each once.

Driven directly on every backend through the `storage` fixture (conftest.py). The claim is checked
under concurrency too: many schedulers claiming at once (on PostgreSQL, on separate stores sharing
one database, as replicas do) hand each due firing out exactly once.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from graphdock.errors import NotFound
from graphdock.storage.base import Storage
from graphdock.storage.crons import Cron, CronFilter
from graphdock.storage.records import Page, Snapshot, utc_now
from graphdock.storage.visibility import Visibility
from tests.storage.conftest import as_replicas
from tests.storage.test_contract_threads import add_run, make_run, ts

AID = "aaaaaaaa-0000-4000-8000-000000000001"
OTHER_AID = "aaaaaaaa-0000-4000-8000-000000000002"
TID = "00000000-0000-4000-8000-000000000001"


def cid(n: int) -> str:
    return f"cccccccc-0000-4000-8000-{n:012d}"


def make_cron(n: int, *, assistant_id: str = AID, thread_id: str | None = None, **fields: object) -> Cron:
    now = utc_now()
    base = Cron(
        cron_id=cid(n),
        assistant_id=assistant_id,
        thread_id=thread_id,
        schedule="* * * * *",
        timezone=None,
        end_time=None,
        enabled=True,
        on_run_completed="delete" if thread_id is None else None,
        payload={"input": {"n": n}, "assistant_id": assistant_id},
        metadata={"n": n},
        next_run_date=ts(60 * n),
        created_at=now,
        updated_at=now,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


async def with_assistants(storage: Storage) -> None:
    for aid in (AID, OTHER_AID):
        await storage.create_assistant(aid, Snapshot("agent", {}, {}, {}, "a", None), "raise")


async def test_a_cron_reads_back_as_written(storage: Storage) -> None:
    await with_assistants(storage)
    cron = make_cron(1, end_time=ts(10_000), timezone="Europe/Paris", metadata={"deep": {"x": [1, 2]}})
    assert await storage.create_cron(cron) == cron
    assert await storage.get_cron(cron.cron_id) == cron


async def test_a_cron_needs_its_assistant_and_thread(storage: Storage) -> None:
    with pytest.raises(NotFound, match="Assistant"):
        await storage.create_cron(make_cron(1))
    await with_assistants(storage)
    with pytest.raises(NotFound, match="Thread"):
        await storage.create_cron(make_cron(1, thread_id=TID))
    assert await storage.count_crons(CronFilter()) == 0


async def test_crons_go_with_their_assistant_and_their_thread(storage: Storage) -> None:
    await with_assistants(storage)
    await storage.create_thread(TID, {}, "raise")
    await storage.create_cron(make_cron(1))
    await storage.create_cron(make_cron(2, thread_id=TID, assistant_id=OTHER_AID))
    await storage.create_cron(make_cron(3, assistant_id=OTHER_AID))
    await storage.delete_assistant(AID)
    assert [c.cron_id for c in (await storage.search_crons(CronFilter(), Page(), "cron_id", False))[0]] == [
        cid(2),
        cid(3),
    ]
    await storage.delete_thread(TID)
    assert [c.cron_id for c in (await storage.search_crons(CronFilter(), Page(), "cron_id", False))[0]] == [
        cid(3)
    ]


async def test_update_writes_what_revise_returns_and_delete_removes(storage: Storage) -> None:
    await with_assistants(storage)
    await storage.create_cron(make_cron(1))
    updated = await storage.update_cron(cid(1), lambda c: replace(c, enabled=False, schedule="0 9 * * *"))
    assert (await storage.get_cron(cid(1))) == updated
    assert updated.enabled is False
    assert updated.schedule == "0 9 * * *"
    await storage.delete_cron(cid(1))
    for call in (storage.get_cron(cid(1)), storage.delete_cron(cid(1))):
        with pytest.raises(NotFound, match="Cron"):
            await call
    with pytest.raises(NotFound):
        await storage.update_cron(cid(1), lambda c: c)


async def test_search_filters_sorts_and_pages(storage: Storage) -> None:
    await with_assistants(storage)
    await storage.create_thread(TID, {}, "raise")
    await storage.create_cron(make_cron(1, metadata={"team": "a"}))
    await storage.create_cron(make_cron(2, enabled=False, metadata={"team": "b"}))
    await storage.create_cron(make_cron(3, assistant_id=OTHER_AID, thread_id=TID, metadata={"team": "a"}))
    await storage.create_cron(make_cron(4, next_run_date=None, end_time=ts(1)))

    async def ids(
        where: CronFilter, sort: str = "cron_id", desc: bool = False, page: Page | None = None
    ) -> list[str]:
        found, _ = await storage.search_crons(where, page or Page(), sort, desc)  # type: ignore[arg-type]
        return [c.cron_id[-1] for c in found]

    assert await ids(CronFilter(assistant_id=AID)) == ["1", "2", "4"]
    assert await ids(CronFilter(thread_id=TID)) == ["3"]
    assert await ids(CronFilter(enabled=False)) == ["2"]
    assert await ids(CronFilter(metadata={"team": "a"})) == ["1", "3"]
    assert await ids(CronFilter(visible=Visibility.parse({"team": "b"}))) == ["2"]
    # NULLs first ascending, last descending, on both backends.
    assert await ids(CronFilter(), "next_run_date") == ["4", "1", "2", "3"]
    assert await ids(CronFilter(), "next_run_date", desc=True) == ["3", "2", "1", "4"]
    assert await ids(CronFilter(), "cron_id", page=Page(limit=2, offset=1)) == ["2", "3"]
    _, more = await storage.search_crons(CronFilter(), Page(limit=3), "cron_id", False)
    assert more
    assert await storage.count_crons(CronFilter(assistant_id=AID, enabled=True)) == 2
    assert await storage.count_crons(CronFilter(metadata={"team": "a"})) == 2


async def test_a_due_cron_is_claimed_once_and_moved_on(storage: Storage) -> None:
    await with_assistants(storage)
    await storage.create_cron(make_cron(1))  # due at ts(60)
    await storage.create_cron(make_cron(2))  # due at ts(120)
    await storage.create_cron(make_cron(3, enabled=False))  # disabled: never claimed
    await storage.create_cron(make_cron(4, next_run_date=None))  # finished: never claimed
    asked: list[tuple[str, str]] = []

    def following(cron: Cron, now: str) -> str | None:
        asked.append((cron.cron_id, now))
        return ts(1_000)

    claimed = await storage.claim_due_crons(ts(90), following, 10)
    assert [c.cron_id for c in claimed] == [cid(1)]
    assert claimed[0].next_run_date == ts(60)  # as it was when due
    assert asked == [(cid(1), ts(90))]
    assert (await storage.get_cron(cid(1))).next_run_date == ts(1_000)
    assert await storage.claim_due_crons(ts(90), following, 10) == []
    claimed = await storage.claim_due_crons(ts(2_000), lambda c, now: None, 10)
    assert [c.cron_id for c in claimed] == [cid(2), cid(1)]  # in the order they fell due
    assert await storage.claim_due_crons(ts(1_000_000), following, 10) == []  # None: never again


async def test_concurrent_claims_hand_each_firing_out_once(storage: Storage) -> None:
    await with_assistants(storage)
    for n in range(1, 21):
        await storage.create_cron(make_cron(n))
    async with as_replicas(storage) as stores:
        results = await asyncio.gather(
            *(s.claim_due_crons(ts(10_000), lambda c, now: ts(99_999), 3) for s in stores for _ in range(8))
        )
    claimed = [c.cron_id for batch in results for c in batch]
    assert len(claimed) == len(set(claimed))
    # Whatever a batch skipped, the next round takes; nothing is claimed twice across rounds either.
    rest = [c.cron_id for c in await storage.claim_due_crons(ts(10_000), lambda c, now: ts(99_999), 100)]
    assert sorted(claimed + rest) == [cid(n) for n in range(1, 21)]


async def test_a_crons_history_is_the_runs_it_made_newest_first(storage: Storage) -> None:
    await with_assistants(storage)
    await storage.create_thread(TID, {}, "raise")
    await storage.create_cron(make_cron(1, thread_id=TID))
    await storage.create_cron(make_cron(2))
    for n, cron in ((1, cid(1)), (2, cid(2)), (3, cid(1)), (4, None)):
        metadata = {"cron_id": cron} if cron else {}
        run = make_run(f"11111111-0000-4000-8000-{n:012d}", TID, created_at=ts(n), metadata=metadata)
        await add_run(storage, run)
    runs = await storage.list_cron_runs(cid(1), Page())
    assert [r.run_id[-1] for r in runs] == ["3", "1"]
    assert [r.run_id[-1] for r in await storage.list_cron_runs(cid(1), Page(limit=1, offset=1))] == ["1"]
    assert [r.run_id[-1] for r in await storage.list_cron_runs(cid(2), Page())] == ["2"]
    with pytest.raises(NotFound):
        await storage.list_cron_runs(cid(9), Page())

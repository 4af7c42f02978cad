"""Storage contract, retention: threads' own TTLs, the sweep's claim, and which threads a sweep
takes — on every backend. `now` is passed in, so expiry is tested without waiting."""

from __future__ import annotations

import asyncio

import pytest

from graphdock.domain.run_rules import thread_after_run
from graphdock.errors import NotFound
from graphdock.storage.base import Storage
from graphdock.storage.records import utc_now
from graphdock.storage.retention import THREAD_SWEEP, Expiry, ThreadTtl, TtlStrategy, shift
from tests.storage.conftest import as_replicas
from tests.storage.test_contract_threads import add_run, make_run

T = [f"eeeeeeee-0000-4000-8000-00000000000{i}" for i in range(6)]


def later(minutes: float) -> str:
    return shift(utc_now(), minutes)


def expiry(strategy: TtlStrategy, now: str, default: float | None = None, limit: int = 100) -> Expiry:
    return Expiry(strategy, now, default, "delete", limit)


async def test_a_sweep_is_claimed_by_one_holder_until_its_next_time(storage: Storage) -> None:
    now = utc_now()
    assert await storage.claim_sweep(THREAD_SWEEP, "a", now, shift(now, 1))
    assert not await storage.claim_sweep(THREAD_SWEEP, "b", now, shift(now, 1))
    assert not await storage.claim_sweep(THREAD_SWEEP, "a", shift(now, 0.5), shift(now, 1.5))
    assert await storage.claim_sweep(THREAD_SWEEP, "b", shift(now, 1), shift(now, 2))


async def test_racing_claims_of_one_sweep_let_exactly_one_holder_in(storage: Storage) -> None:
    now = utc_now()
    async with as_replicas(storage) as stores:
        for interval in range(3):  # each interval's first claim, raced by 16 holders
            at = shift(now, interval)
            won = await asyncio.gather(
                *(
                    s.claim_sweep(THREAD_SWEEP, f"{n}/{h}", at, shift(at, 1))
                    for n, s in enumerate(stores)
                    for h in range(16 // len(stores))
                )
            )
            assert won.count(True) == 1, f"interval {interval}: {won.count(True)} holders swept"


async def test_a_threads_ttl_is_stored_on_create_and_replaced_on_update(storage: Storage) -> None:
    await storage.create_thread(T[0], {}, "raise", ttl=ThreadTtl(1.5, "keep_latest"))
    await storage.create_thread(T[1], {}, "raise")
    assert await storage.get_thread_ttl(T[0]) == ThreadTtl(1.5, "keep_latest")
    assert await storage.get_thread_ttl(T[1]) == ThreadTtl(None, None)
    # do_nothing on an existing thread leaves its TTL as it was
    await storage.create_thread(T[0], {}, "do_nothing", ttl=ThreadTtl(9, "delete"))
    assert await storage.get_thread_ttl(T[0]) == ThreadTtl(1.5, "keep_latest")
    await storage.update_thread(T[1], {"k": 1}, ttl=ThreadTtl(2, None))
    assert await storage.get_thread_ttl(T[1]) == ThreadTtl(2, None)
    with pytest.raises(NotFound):
        await storage.get_thread_ttl("dddddddd-0000-4000-8000-000000000404")


async def test_delete_takes_idle_threads_past_their_own_or_the_default_ttl_with_their_runs(
    storage: Storage,
) -> None:
    await storage.create_thread(T[0], {}, "raise", ttl=ThreadTtl(1, None))
    await storage.create_thread(T[1], {}, "raise")
    await storage.create_thread(T[2], {}, "raise", ttl=ThreadTtl(1, "keep_latest"))
    await storage.create_thread(T[3], {}, "raise", ttl=ThreadTtl(60, None))
    await storage.create_thread(T[4], {}, "raise", ttl=ThreadTtl(1, None))
    await add_run(storage, make_run("r4", T[4]))  # pending: the thread is busy
    await storage.create_thread(T[5], {}, "raise", ttl=ThreadTtl(1, None))
    done = make_run("r5", T[5])
    await add_run(storage, done)
    await storage.finish_run("r5", "success", error=None, outcome=None, after=thread_after_run)

    # Only a thread's own TTL: no default; nothing has expired yet a minute early.
    assert await storage.expire_threads(expiry("delete", later(0.5))) == []
    taken = await storage.expire_threads(expiry("delete", later(3)))
    assert sorted(taken) == [T[0], T[5]]
    with pytest.raises(NotFound):
        await storage.get_run(None, "r5")
    # With a default of 2 minutes the thread without a TTL goes too; 60 minutes is not up.
    assert await storage.expire_threads(expiry("delete", later(3), default=2)) == [T[1]]
    for kept in (T[2], T[3], T[4]):
        await storage.get_thread(kept)


async def test_keep_latest_takes_a_thread_once_until_it_is_used_again(storage: Storage) -> None:
    await storage.create_thread(T[0], {}, "raise", ttl=ThreadTtl(1, "keep_latest"))
    assert await storage.expire_threads(expiry("keep_latest", later(2))) == [T[0]]
    assert await storage.expire_threads(expiry("keep_latest", later(3))) == []
    await storage.get_thread(T[0])
    await storage.update_thread(T[0], {"used": True})  # its clock restarts
    assert await storage.expire_threads(expiry("keep_latest", later(0.5))) == []
    assert await storage.expire_threads(expiry("keep_latest", later(2))) == [T[0]]


async def test_a_sweep_takes_at_most_its_limit_least_recently_used_first(storage: Storage) -> None:
    for thread_id in T:
        await storage.create_thread(thread_id, {}, "raise")
    await storage.update_thread(T[0], {"used": True})
    # T[0] was used last, so it is not among the first four (the order rows come back in is free).
    first = await storage.expire_threads(expiry("delete", later(5), default=1, limit=4))
    assert sorted(first) == T[1:5]
    second = await storage.expire_threads(expiry("delete", later(5), default=1, limit=4))
    assert sorted(second) == [T[0], T[5]]

"""Storage contract: an assistant's runs across threads, each version's run stats, version tallies.

On every backend (the `storage` fixture). Runs are driven through the real queue (create, claim,
start with a version, finish), with creation times set far in the past so that each run's duration
is known to within seconds whatever the machine's speed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from graphdock.domain.run_rules import admission, thread_after_run
from graphdock.domain.run_stats import RULE, nearest_rank
from graphdock.errors import NotFound
from graphdock.storage.assistant_runs import AssistantRunFilter
from graphdock.storage.base import Storage
from graphdock.storage.records import Page, Snapshot
from graphdock.storage.threads import NewThread, Run, RunStatus
from graphdock.storage.visibility import Visibility
from tests.storage.test_contract_threads import AID, OTHER_AID, make_run, rid, tid

HOUR = 3600.0
MISSING_AID = "aaaaaaaa-0000-4000-8000-0000000000ff"


def ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="microseconds")


async def ran(
    storage: Storage,
    n: int,
    *,
    version: int | None,
    status: RunStatus,
    seconds_ago: float,
    assistant_id: str = AID,
    owner: str = "alice",
) -> Run:
    """Run `n` on a thread of its own (metadata owner), started on `version`, finished as `status`.

    Its duration is about `seconds_ago`: created then, finished now. version None: still pending.
    """
    run = make_run(
        rid(n), tid(n), created_at=ago(seconds_ago), assistant_id=assistant_id, pinned_version=version
    )
    await storage.create_run(run, new_thread=NewThread({"owner": owner}), admit=admission("enqueue"))
    if version is None:
        return run
    claimed = await storage.claim_run(datetime.now(UTC).isoformat(timespec="microseconds"))
    assert claimed is not None
    assert (claimed.run_id, claimed.assistant_version) == (run.run_id, version)  # the claim records it
    error = {"error": "ValueError", "message": "x"} if status == "error" else None
    return await storage.finish_run(run.run_id, status, error=error, outcome=None, after=thread_after_run)


async def ids(storage: Storage, where: AssistantRunFilter, page: Page | None = None) -> list[str]:
    found, _ = await storage.search_assistant_runs(where, page or Page(limit=100))
    return [r.run_id for r in found]


async def test_assistant_runs_are_listed_newest_first_across_threads_and_filtered(storage: Storage) -> None:
    await ran(storage, 1, version=1, status="success", seconds_ago=50)
    await ran(storage, 2, version=2, status="error", seconds_ago=40)
    await ran(storage, 3, version=2, status="success", seconds_ago=30, owner="bob")
    await ran(storage, 4, version=1, status="success", seconds_ago=20, assistant_id=OTHER_AID)
    await ran(storage, 5, version=None, status="pending", seconds_ago=10)

    assert await ids(storage, AssistantRunFilter(AID)) == [rid(5), rid(3), rid(2), rid(1)]
    assert await ids(storage, AssistantRunFilter(AID, version=2)) == [rid(3), rid(2)]
    assert await ids(storage, AssistantRunFilter(AID, status="success")) == [rid(3), rid(1)]
    assert await ids(storage, AssistantRunFilter(AID, version=2, status="error")) == [rid(2)]
    assert await ids(storage, AssistantRunFilter(AID, status="pending")) == [rid(5)]
    assert await ids(storage, AssistantRunFilter(AID, version=7)) == []
    # Runs on threads the caller may not see are not there at all.
    alice = Visibility.parse({"owner": "alice"})
    assert await ids(storage, AssistantRunFilter(AID, visible=alice)) == [rid(5), rid(2), rid(1)]

    # Pages, and whether more follow.
    first, more = await storage.search_assistant_runs(AssistantRunFilter(AID), Page(limit=3))
    assert [r.run_id for r in first] == [rid(5), rid(3), rid(2)]
    assert more
    last, more = await storage.search_assistant_runs(AssistantRunFilter(AID), Page(limit=3, offset=3))
    assert [r.run_id for r in last] == [rid(1)]
    assert not more
    assert last[0].assistant_version == 1
    assert last[0].status == "success"


async def test_version_run_stats_count_errors_and_hand_back_recent_durations(storage: Storage) -> None:
    # Version 1: twenty runs of 20..1 hours, oldest first; two fail (error, timeout), one was interrupted.
    for n in range(1, 21):
        status: RunStatus = {3: "error", 7: "timeout", 11: "interrupted"}.get(n, "success")
        await ran(storage, n, version=1, status=status, seconds_ago=(21 - n) * HOUR)
    # Version 2: one run on a thread only bob may see, one still pending (no version yet).
    await ran(storage, 30, version=2, status="success", seconds_ago=HOUR / 2, owner="bob")
    await ran(storage, 31, version=None, status="pending", seconds_ago=1)

    stats = await storage.version_run_stats(AID, [1, 2, 3], RULE)
    assert set(stats) == {1, 2}  # nothing ran version 3
    v1 = stats[1]
    assert (v1.runs, v1.errors) == (20, 2)
    # Every ended run's duration (interrupted ones included), to within the seconds finishing took.
    hours = sorted(round(ms / 1000 / HOUR) for ms in v1.durations_ms)
    assert hours == list(range(1, 21))
    page, _ = await storage.search_assistant_runs(AssistantRunFilter(AID, version=1), Page(limit=1))
    assert v1.last_run_at == page[0].created_at
    assert (stats[2].runs, stats[2].errors) == (1, 0)
    assert [round(ms / 1000 / 60) for ms in stats[2].durations_ms] == [30]

    # Only the newest `sample` ended runs give durations: the five most recent, 1..5 hours.
    recent = await storage.version_run_stats(AID, [1], replace(RULE, sample=5))
    assert sorted(round(ms / 1000 / HOUR) for ms in recent[1].durations_ms) == [1, 2, 3, 4, 5]
    assert recent[1].runs == 20  # the counts are over every run

    # alice sees none of version 2's runs: the version has no stats for her.
    seen = await storage.version_run_stats(AID, [1, 2], RULE, visible=Visibility.parse({"owner": "alice"}))
    assert set(seen) == {1}
    assert seen[1].runs == 20
    assert await storage.version_run_stats(AID, [], RULE) == {}
    assert await storage.version_run_stats(OTHER_AID, [1], RULE) == {}


async def test_a_version_whose_runs_have_not_ended_has_counts_but_no_durations(storage: Storage) -> None:
    run = make_run(rid(1), tid(1), created_at=ago(60), pinned_version=1)
    await storage.create_run(run, new_thread=NewThread({}), admit=admission("enqueue"))
    await storage.claim_run(datetime.now(UTC).isoformat(timespec="microseconds"))  # running, on version 1
    stats = (await storage.version_run_stats(AID, [1], RULE))[1]
    assert (stats.runs, stats.errors, stats.durations_ms) == (1, 0, ())


@pytest.mark.parametrize(
    ("values", "p50", "p95"),
    [
        ([], None, None),
        ([7.0], 7.0, 7.0),
        ([2.0, 1.0], 1.0, 2.0),
        ([float(n) for n in range(20, 0, -1)], 10.0, 19.0),
    ],
)
def test_percentiles_are_nearest_rank(values: list[float], p50: float | None, p95: float | None) -> None:
    assert (nearest_rank(values, 50), nearest_rank(values, 95)) == (p50, p95)


async def test_version_tallies_count_kept_versions_and_never_reuse_numbers(storage: Storage) -> None:
    snapshot = Snapshot("agent", {}, {}, {}, "a", None)
    await storage.create_assistant(AID, snapshot, "raise")
    for name in ("b", "c"):
        await storage.revise_assistant(AID, lambda cur, n=name: Snapshot("agent", {}, {}, {}, n, None))
    await storage.set_active_version(AID, 2)
    await storage.delete_version(AID, 3)  # the newest, not active

    tallies = await storage.version_tallies([AID, OTHER_AID])
    assert set(tallies) == {AID}
    t = tallies[AID]
    assert (t.active_version, t.version_count, t.next_version) == (2, 2, 4)
    assert await storage.version_tallies([]) == {}


async def test_versions_with_run_stats_page_the_versions_and_tally_each_as_version_run_stats_does(
    storage: Storage,
) -> None:
    for n in range(1, 4):  # versions 1..3, metadata {"n": n}; 3 is active
        snapshot = Snapshot("agent", {}, {}, {"owner": "alice", "n": n}, f"v{n}", None)
        if n == 1:
            await storage.create_assistant(AID, snapshot, "raise")
        else:
            await storage.revise_assistant(AID, lambda _cur, s=snapshot: s)
    await storage.create_assistant(OTHER_AID, Snapshot("agent", {}, {}, {"owner": "bob"}, "x", None), "raise")
    await ran(storage, 1, version=1, status="success", seconds_ago=2 * HOUR)
    await ran(storage, 2, version=1, status="error", seconds_ago=HOUR)
    await ran(storage, 3, version=2, status="success", seconds_ago=HOUR, owner="bob")
    await storage.create_run(  # claimed on version 3 and left running: counted, no duration
        make_run(rid(5), tid(5), created_at=ago(5), pinned_version=3),
        new_thread=NewThread({"owner": "alice"}),
        admit=admission("enqueue"),
    )
    await storage.claim_run(datetime.now(UTC).isoformat(timespec="microseconds"))

    async def listed(
        metadata: dict[str, object] | None = None,
        page: Page | None = None,
        *,
        visible: Visibility | None = None,
        threads_visible: Visibility | None = None,
    ) -> list[tuple[int, tuple[int, int, str | None, list[int]] | None]]:
        found = await storage.list_versions_with_run_stats(
            AID, metadata or {}, page or Page(), RULE, visible=visible, threads_visible=threads_visible
        )
        plain = await storage.list_versions(AID, metadata or {}, page or Page(), visible=visible)
        assert [v for v, _ in found] == plain  # the same versions as list_versions, in its order
        stats = await storage.version_run_stats(
            AID, [v.version for v in plain], RULE, visible=threads_visible
        )
        assert {v.version: s for v, s in found if s is not None} == stats  # and version_run_stats' tallies
        return [
            (
                v.version,
                None
                if s is None
                else (
                    s.runs,
                    s.errors,
                    s.last_run_at,
                    sorted(round(ms / 1000 / 60) for ms in s.durations_ms),
                ),
            )
            for v, s in found
        ]

    everything = await listed()
    assert [(version, s and s[:2]) for version, s in everything] == [(3, (1, 0)), (2, (1, 0)), (1, (2, 1))]
    assert [s and s[3] for _, s in everything] == [[], [60], [60, 120]]
    assert [version for version, _ in await listed(page=Page(limit=1, offset=1))] == [2]
    assert [version for version, _ in await listed({"n": 1})] == [1]
    assert await listed({"n": 9}) == []
    assert await listed(page=Page(offset=3)) == []
    # Runs on threads the caller may not see do not count: alice sees none of version 2's.
    alice = Visibility.parse({"owner": "alice"})
    assert [(version, s and s[0]) for version, s in await listed(threads_visible=alice)] == [
        (3, 1),
        (2, None),
        (1, 2),
    ]
    assert len(await listed(visible=alice)) == 3
    # A missing assistant, or one the caller may not see, is not found, even for an empty page.
    for missing, visible in [(MISSING_AID, None), (AID, Visibility.parse({"owner": "bob"}))]:
        for metadata in ({}, {"n": 9}):
            with pytest.raises(NotFound):
                await storage.list_versions_with_run_stats(missing, metadata, Page(), RULE, visible=visible)

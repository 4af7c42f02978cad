"""Storage contract, continued: one version at a time, If-Match inside the transaction, export/import."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

import pytest

from graphdock.domain.transfer import decide_import
from graphdock.errors import Conflict, InvalidRequest, NotFound, PreconditionFailed
from graphdock.storage.base import Edit, Storage
from graphdock.storage.records import Assistant, AssistantFilter, Change, Page, Snapshot

AID = "00000000-0000-4000-8000-00000000000a"
OTHER = "00000000-0000-4000-8000-00000000000b"


def snap(name: str, **metadata: object) -> Snapshot:
    return Snapshot("agent", {"configurable": {"p": name}}, {"p": name}, dict(metadata), name, None)


def renamed(name: str) -> Callable[[Assistant], Snapshot]:
    def revise(current: Assistant) -> Snapshot:
        return dataclasses.replace(current.snapshot, name=name)

    return revise


async def _history(storage: Storage, aid: str = AID) -> list[tuple[int, str, int | None]]:
    return [
        (v.version, v.change.kind, v.change.restored_from)
        for v in await storage.list_versions(aid, {}, Page(1000))
    ]


async def test_versions_record_the_change_that_made_them(storage: Storage) -> None:
    await storage.create_assistant(AID, snap("one"), "raise")
    await storage.revise_assistant(AID, renamed("two"), change=Change("update", "alice"))
    await storage.revise_assistant(
        AID, lambda _: snap("one"), change=Change("restore", None, restored_from=1)
    )
    versions = await storage.list_versions(AID, {}, Page(10))
    assert [(v.version, v.change) for v in versions] == [
        (3, Change("restore", None, 1)),
        (2, Change("update", "alice", None)),
        (1, Change("create", None, None)),
    ]
    assert (await storage.get_version(AID, 2)).change.by == "alice"


async def test_get_version_is_not_found_for_unknown_assistant_or_version(storage: Storage) -> None:
    await storage.create_assistant(AID, snap("one"), "raise")
    with pytest.raises(NotFound, match="Version 2"):
        await storage.get_version(AID, 2)
    with pytest.raises(NotFound, match=f"Assistant {OTHER}"):
        await storage.get_version(OTHER, 1)


async def test_delete_version_refuses_the_active_one_and_never_frees_its_number(storage: Storage) -> None:
    await storage.create_assistant(AID, snap("one"), "raise")
    await storage.revise_assistant(AID, renamed("two"))
    with pytest.raises(Conflict, match="active"):
        await storage.delete_version(AID, 2)
    await storage.delete_version(AID, 1)
    with pytest.raises(NotFound):
        await storage.delete_version(AID, 1)
    assert await _history(storage) == [(2, "update", None)]
    assert (await storage.revise_assistant(AID, renamed("three"))).version == 3
    await storage.set_active_version(AID, 2)
    await storage.delete_version(AID, 3)
    assert (await storage.revise_assistant(AID, renamed("four"))).version == 4


async def test_an_edit_writes_the_snapshot_calling_it_gives_to_the_row_and_a_new_version(
    storage: Storage,
) -> None:
    first = await storage.create_assistant(
        AID, dataclasses.replace(snap("one", a=1, b=2), description="d"), "raise"
    )
    await storage.revise_assistant(AID, renamed("two"))
    await storage.delete_version(AID, 1)
    await storage.revise_assistant(AID, renamed("three"))
    await storage.set_active_version(AID, 2)
    await storage.delete_version(AID, 3)  # the highest number given is 3: the next is 4
    edits = [
        Edit({"b": 3, "c": {"nested": [1, 2.5, None, "ü"]}}, name="edited"),
        Edit({}, description="described"),
        Edit({"a": None}, name="", description=""),
    ]
    for n, edit in enumerate(edits, start=4):
        current = await storage.get_assistant(AID)
        answer = await storage.revise_assistant(AID, edit, change=Change("update", "alice"))
        expected = edit(current)
        assert (answer.version, answer.snapshot, answer.created_at) == (n, expected, first.created_at)
        stored = await storage.get_assistant(AID)
        assert (stored.version, stored.snapshot, stored.updated_at) == (n, expected, answer.updated_at)
        version = await storage.get_version(AID, n)
        assert (version.snapshot, version.created_at, version.change) == (
            expected,
            answer.updated_at,
            Change("update", "alice"),
        )
    assert (await storage.get_assistant(AID)).snapshot.metadata == {
        "a": None,
        "b": 3,
        "c": {"nested": [1, 2.5, None, "ü"]},
    }
    with pytest.raises(NotFound):
        await storage.revise_assistant(OTHER, Edit({"x": 1}))


@pytest.mark.parametrize("kind", ["callable", "edit"])
async def test_concurrent_revisions_of_one_assistant_each_build_on_the_last(
    storage: Storage, kind: str
) -> None:
    # Each revision adds one key to what the locked row holds: a revision computed from a stale
    # row would drop another's key.
    await storage.create_assistant(AID, snap("one"), "raise")

    def add(key: str) -> Callable[[Assistant], Snapshot]:
        if kind == "edit":
            return Edit({key: True})
        return lambda current: dataclasses.replace(
            current.snapshot, metadata={**current.snapshot.metadata, key: True}
        )

    results = await asyncio.gather(*(storage.revise_assistant(AID, add(f"k{i}")) for i in range(8)))
    assert sorted(r.version for r in results) == list(range(2, 10))
    active = await storage.get_assistant(AID)
    assert (active.version, active.snapshot.metadata) == (9, {f"k{i}": True for i in range(8)})
    versions = {v.version: v.snapshot for v in await storage.list_versions(AID, {}, Page(1000))}
    assert sorted(versions) == list(range(1, 10))
    assert versions[9] == active.snapshot
    for r in results:
        assert versions[r.version] == r.snapshot, "the answer is what was stored"


@pytest.mark.parametrize("operation", ["revise", "edit", "set_active", "delete", "delete_version"])
async def test_if_version_is_checked_inside_the_write(storage: Storage, operation: str) -> None:
    await storage.create_assistant(AID, snap("one"), "raise")
    await storage.revise_assistant(AID, renamed("two"))
    stale = frozenset({1})
    calls = {
        "revise": lambda v: storage.revise_assistant(AID, renamed("x"), if_version=v),
        "edit": lambda v: storage.revise_assistant(AID, Edit({"x": 1}), if_version=v),
        "set_active": lambda v: storage.set_active_version(AID, 1, if_version=v),
        "delete": lambda v: storage.delete_assistant(AID, if_version=v),
        "delete_version": lambda v: storage.delete_version(AID, 1, if_version=v),
    }
    with pytest.raises(PreconditionFailed, match="version 2"):
        await calls[operation](stale)
    assert (await storage.get_assistant(AID)).version == 2
    assert len(await _history(storage)) == 2
    await calls[operation](frozenset({2}))  # the current version lets it through


@pytest.mark.parametrize("kind", ["callable", "edit"])
async def test_concurrent_revisions_with_one_if_version_let_exactly_one_through(
    storage: Storage, kind: str
) -> None:
    await storage.create_assistant(AID, snap("one"), "raise")
    revise = renamed if kind == "callable" else lambda name: Edit({}, name=name)
    results = await asyncio.gather(
        *(storage.revise_assistant(AID, revise(f"e{i}"), if_version=frozenset({1})) for i in range(8)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Assistant) for r in results) == 1
    assert all(isinstance(r, Assistant | PreconditionFailed) for r in results)
    assert [v for v, _, _ in await _history(storage)] == [2, 1]


async def test_concurrent_set_latest_and_version_deletes_neither_deadlock_nor_activate_a_deleted_version(
    storage: Storage,
) -> None:
    # Both lock the assistant's row before the version's: each request wins or is refused as
    # NotFound (the version went first) or Conflict (it is active), never Unavailable (a deadlock),
    # and whatever ends active still exists, with its own snapshot.
    await storage.create_assistant(AID, snap("v1"), "raise")
    for i in range(2, 13):
        await storage.revise_assistant(AID, renamed(f"v{i}"))
    for _ in range(3):
        live = [v.version for v in await storage.list_versions(AID, {}, Page(1000))]
        results = await asyncio.gather(
            *(
                op
                for v in live
                for op in (storage.set_active_version(AID, v), storage.delete_version(AID, v))
            ),
            return_exceptions=True,
        )
        assert all(r is None or isinstance(r, Assistant | NotFound | Conflict) for r in results), results
        active = await storage.get_assistant(AID)
        versions = {v.version: v.snapshot for v in await storage.list_versions(AID, {}, Page(1000))}
        assert versions.get(active.version) == active.snapshot, "the active version was deleted"
        await storage.revise_assistant(AID, renamed("more"))  # something to delete next round
        await storage.revise_assistant(AID, renamed("more"))


async def test_export_then_import_reproduces_every_version_and_is_idempotent(storage: Storage) -> None:
    await storage.create_assistant(AID, snap("one", team="a"), "raise")
    await storage.revise_assistant(AID, renamed("two"))
    await storage.revise_assistant(AID, renamed("three"))
    await storage.set_active_version(AID, 2)
    await storage.delete_version(AID, 1)
    await storage.create_assistant(OTHER, snap("other"), "raise")
    exported, more = await storage.export_assistants(None, Page(10))
    assert not more
    assert [h.assistant.assistant_id for h in exported] == [AID, OTHER], "oldest first"
    first = exported[0]
    assert (first.assistant.version, first.last_version, [v.version for v in first.versions]) == (
        2,
        3,
        [2, 3],
    )

    await storage.delete_assistant(AID)
    report = await storage.import_assistants(exported, dry_run=False, decide=decide_import)
    assert (report.created, report.unchanged) == ((AID,), (OTHER,))
    again, _ = await storage.export_assistants(None, Page(10))
    assert again == exported
    assert (await storage.import_assistants(exported, dry_run=False, decide=decide_import)).unchanged == (
        AID,
        OTHER,
    )
    # The number after the highest ever given, not after the highest left.
    assert (await storage.revise_assistant(AID, renamed("next"))).version == 4
    # Search sees the imported active row through the metadata index.
    found, _ = await storage.search_assistants(
        AssistantFilter(metadata={"team": "a"}), Page(), "created_at", True
    )
    assert [a.assistant_id for a in found] == [AID]


async def test_import_with_any_conflict_writes_nothing(storage: Storage) -> None:
    await storage.create_assistant(AID, snap("one"), "raise")
    await storage.create_assistant(OTHER, snap("other"), "raise")
    exported, _ = await storage.export_assistants(None, Page(10))
    await storage.delete_assistant(OTHER)
    await storage.revise_assistant(AID, renamed("diverged"))
    with pytest.raises(Conflict, match=AID):
        await storage.import_assistants(exported, dry_run=False, decide=decide_import)
    with pytest.raises(NotFound):
        await storage.get_assistant(OTHER)
    report = await storage.import_assistants(exported[1:], dry_run=True, decide=decide_import)
    assert report.created == (OTHER,)
    with pytest.raises(NotFound):
        await storage.get_assistant(OTHER)


async def test_a_get_after_each_write_reads_that_write(storage: Storage) -> None:
    """Every get here follows another get of the same row, so a backend that keeps rows it has
    read (SQLite's storage does) must notice each kind of write: none may answer the row as it was."""

    async def active() -> tuple[int, str | None]:
        got = await storage.get_assistant(AID)
        return got.version, got.snapshot.name

    await storage.create_assistant(AID, snap("one"), "raise")
    assert await active() == (1, "one")
    await storage.revise_assistant(AID, renamed("two"))
    assert await active() == (2, "two")
    await storage.set_active_version(AID, 1)
    assert await active() == (1, "one")
    await storage.set_active_version(AID, 2)
    assert await active() == (2, "two")
    await storage.delete_version(AID, 1)
    assert await active() == (2, "two")
    exported, _ = await storage.export_assistants([AID], Page(10))
    await storage.delete_assistant(AID)
    with pytest.raises(NotFound):
        await storage.get_assistant(AID)
    await storage.import_assistants(exported, dry_run=False, decide=decide_import)
    assert await active() == (2, "two")
    # A write that fails changes nothing, and the next get still reads the stored row.
    with pytest.raises(PreconditionFailed):
        await storage.revise_assistant(AID, renamed("three"), if_version={1})
    assert await active() == (2, "two")


async def test_what_a_get_hands_out_is_the_callers_to_change(storage: Storage) -> None:
    await storage.create_assistant(AID, snap("one", team="a"), "raise")
    first = await storage.get_assistant(AID)
    first.snapshot.config["configurable"]["p"] = "changed"
    first.snapshot.metadata["team"] = "b"
    again = await storage.get_assistant(AID)
    assert (again.snapshot.config, again.snapshot.metadata) == ({"configurable": {"p": "one"}}, {"team": "a"})


async def test_the_version_count_a_search_answers_follows_every_write_and_no_refused_one(
    storage: Storage,
) -> None:
    # PostgreSQL keeps the count on the assistant's row (migration 0014): each writer of a version
    # keeps it, and a write that is refused leaves it as it was.
    async def counted() -> tuple[int | None, int]:
        found, _ = await storage.search_assistants_with_tallies(AssistantFilter(), Page(), "created_at", True)
        (tally,) = [t for a, t in found if a.assistant_id == AID]
        kept = len(await storage.list_versions(AID, {}, Page(1000)))
        assert tally is not None
        assert (await storage.version_tallies([AID]))[AID] == tally
        return tally.version_count, kept

    await storage.create_assistant(AID, snap("one"), "raise")
    assert await counted() == (1, 1)
    await storage.revise_assistant(AID, Edit({"k": 1}))  # PostgreSQL applies an Edit in SQL
    await storage.revise_assistant(AID, renamed("three"))
    await storage.set_active_version(AID, 1)
    assert await counted() == (3, 3)
    with pytest.raises(PreconditionFailed):
        await storage.revise_assistant(AID, Edit({"k": 2}), if_version=frozenset({3}))
    with pytest.raises(Conflict):
        await storage.delete_version(AID, 1)  # the active one
    with pytest.raises(NotFound):
        await storage.delete_version(AID, 9)
    assert await counted() == (3, 3)
    await storage.delete_version(AID, 2)
    assert await counted() == (2, 2)

    exported, _ = await storage.export_assistants([AID], Page(10))
    await storage.delete_assistant(AID)
    await storage.import_assistants(exported, dry_run=False, decide=decide_import)
    assert await counted() == (2, 2)


async def test_an_edit_of_config_and_context_writes_only_on_a_graph_it_was_checked_for(
    storage: Storage,
) -> None:
    await storage.create_assistant(AID, snap("one"), "raise")
    refused: list[Snapshot] = []

    def refuse(snapshot: Snapshot) -> None:
        refused.append(snapshot)
        raise InvalidRequest("config.configurable.p: not for this graph")

    values = {"config": {"configurable": {"p": "two"}, "tags": ["t"]}, "context": {"p": "two"}}
    elsewhere = Edit(
        {"k": 1}, config=values["config"], context=values["context"], graphs=frozenset({"other"})
    )
    with pytest.raises(InvalidRequest, match="not for this graph"):
        await storage.revise_assistant(AID, dataclasses.replace(elsewhere, refuse=refuse))
    assert [(s.config, s.context, s.metadata) for s in refused] == [
        (values["config"], values["context"], {"k": 1})
    ]
    assert await _history(storage) == [(1, "create", None)], "a refused edit writes nothing"
    assert (await storage.get_assistant(AID)).snapshot == snap("one")

    here = dataclasses.replace(elsewhere, graphs=frozenset({"other", "agent"}), refuse=refuse)
    written = await storage.revise_assistant(AID, here)
    expected = dataclasses.replace(snap("one"), **values, metadata={"k": 1})
    assert (written.version, written.snapshot) == (2, expected)
    assert (await storage.get_assistant(AID)).snapshot == expected
    assert (await storage.get_version(AID, 2)).snapshot == expected
    assert len(refused) == 1

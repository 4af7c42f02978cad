"""The contract for auth filters (`Visibility`): applied inside every backend's queries, the same
answers on SQLite and PostgreSQL, and a row a user may not see is NotFound like a missing one."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from graphdock.errors import Conflict, Forbidden, NotFound
from graphdock.storage.base import Edit, Storage
from graphdock.storage.records import AssistantFilter, Page, Snapshot
from graphdock.storage.threads import ThreadFilter
from graphdock.storage.visibility import InvalidFilter, Visibility

ROWS: dict[str, dict[str, Any]] = {
    "alice": {"owner": "alice", "members": ["alice", "bob"], "n": 1},
    "bob": {"owner": "bob", "members": ["bob"], "n": 1.0},
    "tagged": {"owner": ["alice"], "members": "alice", "n": True},
    "bare": {},
}

# filter -> the rows it lets through, as PostgreSQL's jsonb operators decide
CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"owner": "alice"}, {"alice"}),
    ({"owner": {"$eq": "alice"}}, {"alice"}),
    ({"members": {"$contains": "alice"}}, {"alice"}),
    ({"members": {"$contains": ["alice", "bob"]}}, {"alice"}),
    ({"members": {"$contains": "bob"}}, {"alice", "bob"}),
    ({"n": 1}, {"alice", "bob"}),  # 1 and 1.0 are the same JSON number; true is not 1
    ({"$or": [{"owner": "alice"}, {"owner": "bob"}]}, {"alice", "bob"}),
    ({"$and": [{"members": {"$contains": "bob"}}, {"owner": "bob"}]}, {"bob"}),
    ({"owner": "alice", "n": 1}, {"alice"}),
    ({"missing": "x"}, set()),
]


def _snapshot(metadata: dict[str, Any]) -> Snapshot:
    return Snapshot("g", {}, {}, metadata, "n", None)


@pytest.mark.parametrize(("raw", "expected"), CASES)
async def test_a_filter_selects_the_same_rows_in_every_query(
    storage: Storage, raw: dict[str, Any], expected: set[str]
) -> None:
    ids = {name: str(uuid.uuid4()) for name in ROWS}
    for name, metadata in ROWS.items():
        await storage.create_assistant(ids[name], _snapshot(metadata), "raise")
        await storage.create_thread(ids[name], metadata, "raise")
    visible = Visibility.parse(raw)
    assert {n for n, m in ROWS.items() if visible.allows(m)} == expected  # the Python evaluator agrees

    found, _ = await storage.search_assistants(
        AssistantFilter(visible=visible), Page(limit=100), "name", False
    )
    assert {a.assistant_id for a in found} == {ids[n] for n in expected}
    assert await storage.count_assistants(AssistantFilter(visible=visible)) == len(expected)
    threads, _ = await storage.search_threads(
        ThreadFilter(visible=visible), Page(limit=100), "created_at", False
    )
    assert {t.thread_id for t in threads} == {ids[n] for n in expected}
    for name in ROWS:
        if name in expected:
            assert (await storage.get_assistant(ids[name], visible=visible)).assistant_id == ids[name]
            assert (await storage.get_thread(ids[name], visible=visible)).thread_id == ids[name]
        else:
            with pytest.raises(NotFound):
                await storage.get_assistant(ids[name], visible=visible)
            with pytest.raises(NotFound):
                await storage.get_thread(ids[name], visible=visible)


async def test_writes_to_an_invisible_row_are_not_found_and_change_nothing(storage: Storage) -> None:
    theirs = str(uuid.uuid4())
    await storage.create_assistant(theirs, _snapshot({"owner": "bob"}), "raise")
    await storage.create_thread(theirs, {"owner": "bob"}, "raise")
    mine = Visibility.parse({"owner": "alice"})
    attempts = [
        storage.revise_assistant(theirs, lambda a: a.snapshot, visible=mine),
        storage.revise_assistant(theirs, Edit({"owner": "alice"}), visible=mine),
        storage.set_active_version(theirs, 1, visible=mine),
        storage.delete_version(theirs, 1, visible=mine),
        storage.get_version(theirs, 1, visible=mine),
        storage.list_versions(theirs, {}, Page(), visible=mine),
        storage.delete_assistant(theirs, visible=mine),
        storage.update_thread(theirs, {"owner": "alice"}, visible=mine),
        storage.delete_thread(theirs, visible=mine),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            await attempt
    with pytest.raises(Conflict):  # do_nothing never hands another user's row back
        await storage.create_assistant(theirs, _snapshot({"owner": "alice"}), "do_nothing", visible=mine)
    with pytest.raises(Conflict):
        await storage.create_thread(theirs, {"owner": "alice"}, "do_nothing", visible=mine)
    assistant = await storage.get_assistant(theirs)
    assert (assistant.version, assistant.snapshot.metadata) == (1, {"owner": "bob"})
    assert (await storage.get_thread(theirs)).metadata == {"owner": "bob"}


async def test_a_write_that_would_move_a_row_outside_its_writers_filter_is_refused(
    storage: Storage,
) -> None:
    # A filter whose equalities cannot be stamped: the merged row itself is checked, and
    # refusing it changes nothing (the version is not allocated, the thread keeps its metadata).
    mine = Visibility.parse({"members": {"$contains": "bob"}})
    ids = str(uuid.uuid4()), str(uuid.uuid4())
    await storage.create_assistant(ids[0], _snapshot({"members": ["bob"]}), "raise")
    await storage.create_assistant(ids[1], _snapshot({"members": ["alice"]}), "raise")
    await storage.revise_assistant(ids[1], lambda a: _snapshot({"members": ["alice", "bob"]}))
    await storage.create_thread(ids[0], {"members": ["bob"]}, "raise")
    with pytest.raises(Forbidden):
        await storage.revise_assistant(ids[0], lambda a: _snapshot({"members": ["alice"]}), visible=mine)
    with pytest.raises(Forbidden):  # an Edit's merged metadata is checked too
        await storage.revise_assistant(ids[0], Edit({"members": ["alice"]}), visible=mine)
    await storage.revise_assistant(ids[1], Edit({"team": "x"}, name="renamed"), visible=mine)  # still bob's
    await storage.set_active_version(ids[1], 2)
    with pytest.raises(Forbidden):  # reverting to a version the writer could not see
        await storage.set_active_version(ids[1], 1, visible=mine)
    with pytest.raises(Forbidden):
        await storage.update_thread(ids[0], {"members": ["alice"]}, visible=mine)
    assistant = await storage.get_assistant(ids[0])
    assert (assistant.version, assistant.snapshot.metadata) == (1, {"members": ["bob"]})
    assert [v.version for v in await storage.list_versions(ids[0], {}, Page())] == [1]
    assert (await storage.get_assistant(ids[1])).version == 2
    assert [v.version for v in await storage.list_versions(ids[1], {}, Page())] == [3, 2, 1]
    assert (await storage.get_thread(ids[0])).metadata == {"members": ["bob"]}
    # What stays within the filter is written.
    kept = await storage.update_thread(ids[0], {"members": ["bob", "carol"]}, visible=mine)
    assert kept.metadata == {"members": ["bob", "carol"]}


@pytest.mark.parametrize(
    "raw",
    [
        {},
        [],
        "owner",
        {"$or": [{"a": 1}]},
        {"$nor": [{"a": 1}, {"b": 2}]},
        {"a": {"$gt": 1}},
        {"$or": [{"$or": [{"$or": [{"a": 1}, {"b": 1}]}, {"c": 1}]}, {"d": 1}]},
    ],
)
def test_a_handler_returning_something_else_is_refused(raw: Any) -> None:
    with pytest.raises(InvalidFilter):
        Visibility.parse(raw)


def test_only_equalities_are_stamped_on_what_a_user_creates() -> None:
    visible = Visibility.parse({"owner": "alice", "org": {"$eq": 7}, "members": {"$contains": "alice"}})
    assert visible.stamp() == {"owner": "alice", "org": 7}

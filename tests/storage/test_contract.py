"""The storage contract: what every backend's `Storage` must do, driven directly, on every backend.

The `storage` fixture (conftest.py) yields one open, empty store per test for each database URL;
these tests know nothing of the backend behind it. Search semantics are PostgreSQL's: metadata
matches as `jsonb @>` and names as a case-insensitive substring, whatever the backend.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from graphdock.errors import Conflict, ConflictingInput, InvalidRequest, NotFound
from graphdock.storage.base import Revise, Storage
from graphdock.storage.containment import contains
from graphdock.storage.records import Assistant, AssistantFilter, Page, Snapshot, SortField

A = "aaaaaaaa-0000-4000-8000-000000000001"
B = "bbbbbbbb-0000-4000-8000-000000000002"
MISSING = "dddddddd-0000-4000-8000-000000000404"

BASE = Snapshot(
    graph_id="agent",
    config={
        "configurable": {"model": "ü", "n": 1.5, "deep": {"list": [1, {"x": None}]}},
        "tags": ["t"],
        "recursion_limit": 5,
        "custom": True,
    },
    context={"model": "ü", "n": 1.5, "deep": {"list": [1, {"x": None}]}},
    metadata={"owner": "ana", "emoji": "🚀", "nested": {"a": [1, 2]}},
    name="Ünïcode name",
    description="described",
)
OTHER = Snapshot("plain", {"tags": ["other"]}, {}, {"owner": "ben"}, "other", None)
THIRD = Snapshot("nested", {}, {"k": 3}, {"owner": "cat"}, "third", "3")


def to(snapshot: Snapshot) -> Revise:
    return lambda current: snapshot


def at(timestamp: str) -> datetime:
    moment = datetime.fromisoformat(timestamp)
    assert moment.utcoffset() is not None, f"timestamp {timestamp!r} has no UTC offset"
    return moment


async def version_numbers(
    storage: Storage, assistant_id: str, metadata: dict[str, Any] | None = None
) -> list[int]:
    return [v.version for v in await storage.list_versions(assistant_id, metadata or {}, Page(limit=1000))]


async def ids_found(storage: Storage, where: AssistantFilter) -> list[str]:
    found, _ = await storage.search_assistants(where, Page(limit=1000), "assistant_id", False)
    return [a.assistant_id for a in found]


# -- create and get ---------------------------------------------------------------------------------


async def test_create_stores_version_1_as_both_the_active_row_and_the_first_version(storage: Storage) -> None:
    created = await storage.create_assistant(A, BASE, "raise")
    assert (created.assistant_id, created.version, created.snapshot) == (A, 1, BASE)
    assert at(created.created_at) == at(created.updated_at), "a new assistant was updated when it was created"
    assert await storage.get_assistant(A) == created, "get returns what create returned, JSON round-tripped"
    versions = await storage.list_versions(A, {}, Page())
    assert [(v.assistant_id, v.version, v.snapshot) for v in versions] == [(A, 1, BASE)]
    assert at(versions[0].created_at) == at(created.created_at)


async def test_create_with_an_existing_id_and_if_exists_raise_is_a_conflict_that_changes_nothing(
    storage: Storage,
) -> None:
    first = await storage.create_assistant(A, BASE, "raise")
    with pytest.raises(Conflict):
        await storage.create_assistant(A, OTHER, "raise")
    assert await storage.get_assistant(A) == first
    assert await version_numbers(storage, A) == [1]


async def test_create_with_if_exists_do_nothing_returns_the_existing_active_row_unchanged(
    storage: Storage,
) -> None:
    await storage.create_assistant(A, BASE, "raise")
    active = await storage.revise_assistant(A, to(OTHER))
    again = await storage.create_assistant(A, THIRD, "do_nothing")
    assert again == active, "do_nothing must return the existing (active) row, not the snapshot it was given"
    assert await storage.get_assistant(A) == active
    assert await version_numbers(storage, A) == [2, 1], "do_nothing must not append a version"


async def test_create_with_if_exists_do_nothing_creates_an_assistant_that_does_not_exist(
    storage: Storage,
) -> None:
    created = await storage.create_assistant(A, BASE, "do_nothing")
    assert (created.version, created.snapshot) == (1, BASE)
    assert await version_numbers(storage, A) == [1]


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(lambda s: s.get_assistant(MISSING), id="get_assistant"),
        pytest.param(lambda s: s.revise_assistant(MISSING, to(OTHER)), id="revise_assistant"),
        pytest.param(lambda s: s.set_active_version(MISSING, 1), id="set_active_version"),
        pytest.param(lambda s: s.delete_assistant(MISSING), id="delete_assistant"),
        pytest.param(lambda s: s.list_versions(MISSING, {}, Page()), id="list_versions"),
        pytest.param(
            lambda s: s.list_versions(MISSING, {"owner": "ana"}, Page(offset=5)), id="list_versions page"
        ),
    ],
)
async def test_every_operation_on_an_unknown_assistant_raises_not_found(
    storage: Storage, operation: Any
) -> None:
    await storage.create_assistant(A, BASE, "raise")
    with pytest.raises(NotFound):
        await operation(storage)
    assert await ids_found(storage, AssistantFilter()) == [A], (
        "the failed operation created or removed something"
    )


# -- revise -------------------------------------------------------------------------------------------


async def test_revise_appends_the_next_version_built_from_the_active_row_and_makes_it_active(
    storage: Storage,
) -> None:
    created = await storage.create_assistant(A, BASE, "raise")
    seen: list[Assistant] = []

    def revise(current: Assistant) -> Snapshot:
        seen.append(current)
        return OTHER

    revised = await storage.revise_assistant(A, revise)
    assert seen == [created], "revise must be called once, with the current active row"
    assert (revised.assistant_id, revised.version, revised.snapshot) == (A, 2, OTHER)
    assert revised.created_at == created.created_at, "created_at belongs to the assistant, not the version"
    assert at(revised.updated_at) >= at(created.updated_at)
    assert await storage.get_assistant(A) == revised
    versions = await storage.list_versions(A, {}, Page())
    assert [(v.version, v.snapshot) for v in versions] == [(2, OTHER), (1, BASE)]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(InvalidRequest("context.model: bad value"), id="domain error"),
        pytest.param(ConflictingInput("configurable and context"), id="domain error subclass"),
        pytest.param(RuntimeError("a bug inside revise"), id="any other exception"),
    ],
)
async def test_a_revise_that_raises_appends_no_version_and_leaves_the_active_row_unchanged(
    storage: Storage, error: Exception
) -> None:
    await storage.create_assistant(A, BASE, "raise")
    active = await storage.revise_assistant(A, to(OTHER))

    def revise(current: Assistant) -> Snapshot:
        raise error

    with pytest.raises(type(error)):
        await storage.revise_assistant(A, revise)
    assert await storage.get_assistant(A) == active
    assert await version_numbers(storage, A) == [2, 1], "a failed revise left a version behind"
    assert (await storage.revise_assistant(A, to(THIRD))).version == 3, (
        "a failed revise used up a version number"
    )


async def test_a_revise_after_a_rollback_takes_the_next_unused_number_not_active_plus_one(
    storage: Storage,
) -> None:
    await storage.create_assistant(A, BASE, "raise")
    await storage.revise_assistant(A, to(OTHER))
    await storage.revise_assistant(A, to(THIRD))
    await storage.set_active_version(A, 1)
    revised = await storage.revise_assistant(A, to(OTHER))
    assert revised.version == 4
    assert await version_numbers(storage, A) == [4, 3, 2, 1]
    versions = await storage.list_versions(A, {}, Page())
    assert versions[-1].snapshot == BASE, "version 1 must be untouched by the later revise"


# -- set_active_version ---------------------------------------------------------------------------

CHANGED: dict[str, Any] = {
    "graph_id": "plain",
    "config": {"configurable": {"model": "other"}, "tags": ["v2"]},
    "context": {"model": "other"},
    "metadata": {"owner": "ben", "stage": "v2"},
    "name": "renamed",
    "description": None,
}


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(Snapshot)])
async def test_set_active_version_restores_each_field_of_that_versions_snapshot(
    storage: Storage, field: str
) -> None:
    newer = replace(BASE, **{field: CHANGED[field]})
    created = await storage.create_assistant(A, BASE, "raise")
    await storage.revise_assistant(A, to(newer))

    back = await storage.set_active_version(A, 1)
    assert (back.version, getattr(back.snapshot, field)) == (1, getattr(BASE, field)), f"{field} not restored"
    assert back.snapshot == BASE
    assert back.created_at == created.created_at
    assert await storage.get_assistant(A) == back, "the rollback was not stored"

    forward = await storage.set_active_version(A, 2)
    assert (forward.version, forward.snapshot) == (2, newer), "a newer version can be made active again"
    assert await version_numbers(storage, A) == [2, 1], "set_active_version must not append versions"


async def test_set_active_version_to_the_active_version_keeps_its_snapshot(storage: Storage) -> None:
    await storage.create_assistant(A, BASE, "raise")
    await storage.revise_assistant(A, to(OTHER))
    again = await storage.set_active_version(A, 2)
    assert (again.version, again.snapshot) == (2, OTHER)
    assert await version_numbers(storage, A) == [2, 1]


@pytest.mark.parametrize("version", [0, -1, 3, 99])
async def test_set_active_version_of_a_version_that_does_not_exist_is_not_found_and_changes_nothing(
    storage: Storage, version: int
) -> None:
    await storage.create_assistant(A, BASE, "raise")
    active = await storage.revise_assistant(A, to(OTHER))
    with pytest.raises(NotFound):
        await storage.set_active_version(A, version)
    assert await storage.get_assistant(A) == active


# -- delete ---------------------------------------------------------------------------------------


async def test_delete_removes_the_assistant_and_every_version_and_nothing_else(storage: Storage) -> None:
    await storage.create_assistant(A, BASE, "raise")
    await storage.revise_assistant(A, to(OTHER))
    other = await storage.create_assistant(B, BASE, "raise")

    await storage.delete_assistant(A)
    with pytest.raises(NotFound):
        await storage.get_assistant(A)
    with pytest.raises(NotFound):
        await storage.list_versions(A, {}, Page())
    with pytest.raises(NotFound):
        await storage.set_active_version(A, 1)
    with pytest.raises(NotFound):
        await storage.delete_assistant(A)
    assert await ids_found(storage, AssistantFilter()) == [B]
    assert await ids_found(storage, AssistantFilter(metadata={"owner": "ben"})) == [], "metadata index kept A"
    assert await storage.count_assistants(AssistantFilter()) == 1
    assert await storage.get_assistant(B) == other
    assert await version_numbers(storage, B) == [1]


async def test_an_id_created_again_after_delete_starts_over_without_the_old_versions(
    storage: Storage,
) -> None:
    await storage.create_assistant(A, BASE, "raise")
    await storage.revise_assistant(A, to(OTHER))
    await storage.delete_assistant(A)
    again = await storage.create_assistant(A, THIRD, "raise")
    assert (again.version, again.snapshot) == (1, THIRD)
    versions = await storage.list_versions(A, {}, Page())
    assert [(v.version, v.snapshot) for v in versions] == [(1, THIRD)]


# -- list_versions --------------------------------------------------------------------------------

VERSION_METADATA: list[dict[str, Any]] = [
    {"env": "dev", "n": 1},
    {"env": "prod", "n": 2, "tags": ["a", "b"]},
    {"env": "dev", "n": 3, "tags": ["b"]},
    {"env": "dev", "nested": {"x": 1, "y": 2}},
    {},
]


async def with_versions(storage: Storage, assistant_id: str) -> None:
    """Versions 1..5 of one assistant, version n carrying VERSION_METADATA[n - 1]."""
    first, *rest = VERSION_METADATA
    await storage.create_assistant(assistant_id, replace(BASE, metadata=first), "raise")
    for metadata in rest:
        await storage.revise_assistant(assistant_id, to(replace(BASE, metadata=metadata)))


@pytest.mark.parametrize(
    ("limit", "offset", "expected"),
    [
        (10, 0, [5, 4, 3, 2, 1]),
        (1000, 0, [5, 4, 3, 2, 1]),
        (2, 0, [5, 4]),
        (2, 2, [3, 2]),
        (2, 4, [1]),
        (1, 4, [1]),
        pytest.param(2, 5, [], id="2-5-empty page"),
        pytest.param(1, 100, [], id="1-100-far past the end"),
    ],
)
async def test_list_versions_pages_newest_first(
    storage: Storage, limit: int, offset: int, expected: list[int]
) -> None:
    await with_versions(storage, A)
    versions = await storage.list_versions(A, {}, Page(limit=limit, offset=offset))
    assert [v.version for v in versions] == expected


@pytest.mark.parametrize(
    ("metadata", "page", "expected"),
    [
        pytest.param({}, Page(), [5, 4, 3, 2, 1], id="empty query matches all"),
        pytest.param({"env": "dev"}, Page(), [4, 3, 1], id="scalar"),
        pytest.param({"env": "prod"}, Page(), [2], id="other scalar"),
        pytest.param({"n": 1.0}, Page(), [1], id="1.0 equals 1"),
        pytest.param({"tags": ["b"]}, Page(), [3, 2], id="array subset"),
        pytest.param({"tags": ["b", "a"]}, Page(), [2], id="array in any order"),
        pytest.param({"nested": {"y": 2}}, Page(), [4], id="nested object"),
        pytest.param({"env": "dev", "n": 3}, Page(), [3], id="every key must match"),
        pytest.param({"env": "staging"}, Page(), [], id="no version matches"),
        pytest.param({"env": "dev"}, Page(limit=2, offset=1), [3, 1], id="paging applies after the filter"),
    ],
)
async def test_list_versions_filters_by_metadata_containment(
    storage: Storage, metadata: dict[str, Any], page: Page, expected: list[int]
) -> None:
    await with_versions(storage, A)
    versions = await storage.list_versions(A, metadata, page)
    assert [v.version for v in versions] == expected, f"versions whose metadata contains {metadata}"


async def test_an_empty_page_of_versions_is_an_empty_list_but_an_unknown_assistant_is_not_found(
    storage: Storage,
) -> None:
    await storage.create_assistant(A, BASE, "raise")
    assert await storage.list_versions(A, {"owner": "nobody"}, Page()) == []
    assert await storage.list_versions(A, {}, Page(offset=1)) == []
    with pytest.raises(NotFound):
        await storage.list_versions(MISSING, {"owner": "nobody"}, Page())


# -- search and count: filters --------------------------------------------------------------------

SEARCHABLE: dict[str, Snapshot] = {
    "alpha": replace(
        BASE,
        graph_id="agent",
        name="Über Alpha",
        metadata={
            "owner": "ana",
            "tier": 1,
            "nested": {"team": {"name": "core", "size": 3}},
            "tags": ["x", "y", "z"],
            "active": True,
            "big": 10**16,
        },
    ),
    "bravo": replace(
        BASE,
        graph_id="agent",
        name="bravo 50% off",
        metadata={
            "owner": "ben",
            "tier": 2.0,
            "nested": {"team": {"name": "core"}},
            "tags": ["y"],
            "active": 1,
        },
    ),
    "charlie": replace(
        BASE,
        graph_id="plain",
        name="charlie_underscore",
        metadata={
            "owner": "ana",
            "tier": 1.0,
            "nested": {"team": {"name": "edge"}},
            "tags": [],
            "active": False,
            "extra": None,
        },
    ),
    "delta": replace(
        BASE,
        graph_id="plain",
        name="Straße",
        metadata={"owner": "dora", "objects": [{"k": 1, "v": "a"}, {"k": 2}], "tags": [["nested"]]},
    ),
    "echo": replace(BASE, graph_id="nested", name="echo", metadata={}),
}
LABEL = {str(uuid.uuid5(uuid.NAMESPACE_URL, label)): label for label in SEARCHABLE}
ALL = sorted(SEARCHABLE)


def case(case_id: str, found: str, /, **where: Any) -> Any:
    """One search filter and the labels of the assistants it finds (space-separated)."""
    return pytest.param(AssistantFilter(**where), found.split(), id=case_id)


FILTERS = [
    case("no filter", " ".join(ALL)),
    case("graph_id", "alpha bravo", graph_id="agent"),
    case("graph_id without assistants", "", graph_id="functional"),
    case("name is case-insensitive", "alpha", name="ALPHA"),
    case("name folds non-ASCII case (Ü)", "alpha", name="über"),
    case("name upper-case non-ASCII", "alpha", name="ÜBER"),
    case("name is a substring", "alpha bravo charlie delta", name="a"),
    case("name percent is literal", "bravo", name="%"),
    case("name underscore is literal", "charlie", name="_"),
    # PostgreSQL's ILIKE (and lower()) keep ß as ß; full Unicode case folding would make it "ss".
    case("name does not fold ß into ss, as PostgreSQL", "", name="SS"),
    case("name matching nothing", "", name="zulu"),
    case("metadata scalar", "alpha charlie", metadata={"owner": "ana"}),
    case("metadata strings are case-sensitive", "", metadata={"owner": "ANA"}),
    case("metadata 1 matches 1.0", "alpha charlie", metadata={"tier": 1}),
    case("metadata 1.0 matches 1", "alpha charlie", metadata={"tier": 1.0}),
    case("metadata 2 matches stored 2.0", "bravo", metadata={"tier": 2}),
    case("metadata 1e16 matches 10000000000000000", "alpha", metadata={"big": 1e16}),
    case("metadata true is not 1", "alpha", metadata={"active": True}),
    case("metadata 1 is not true", "bravo", metadata={"active": 1}),
    case("metadata false", "charlie", metadata={"active": False}),
    case("metadata null is a value", "charlie", metadata={"extra": None}),
    case("metadata nested object subset", "alpha bravo", metadata={"nested": {"team": {"name": "core"}}}),
    case("metadata deep key", "alpha", metadata={"nested": {"team": {"size": 3}}}),
    case("metadata empty object matches any object", "alpha bravo charlie", metadata={"nested": {}}),
    case("metadata does not search deep", "", metadata={"team": {"name": "core"}}),
    case("metadata array subset", "alpha bravo", metadata={"tags": ["y"]}),
    case("metadata array in any order", "alpha", metadata={"tags": ["z", "x"]}),
    case("metadata empty array matches any array", "alpha bravo charlie delta", metadata={"tags": []}),
    case("metadata nested array does not contain a scalar", "", metadata={"tags": "y"}),
    case("metadata array of arrays", "delta", metadata={"tags": [["nested"]]}),
    case("metadata array of objects", "delta", metadata={"objects": [{"k": 2}]}),
    case("metadata one element must hold the whole object", "", metadata={"objects": [{"k": 2, "v": "a"}]}),
    case("metadata two keys", "alpha charlie", metadata={"owner": "ana", "tier": 1}),
    case(
        "metadata scalar and object keys",
        "charlie",
        metadata={"owner": "ana", "nested": {"team": {"name": "edge"}}},
    ),
    case("metadata key absent", "", metadata={"missing": "x"}),
    case("metadata one key absent", "", metadata={"owner": "ana", "missing": "x"}),
    case("graph_id and metadata", "alpha", graph_id="agent", metadata={"owner": "ana"}),
    case("graph_id and name", "charlie delta", graph_id="plain", name="A"),
    case("all three", "delta", graph_id="plain", name="a", metadata={"owner": "dora"}),
]


async def seed_searchable(storage: Storage) -> None:
    for assistant_id, label in LABEL.items():
        await storage.create_assistant(assistant_id, SEARCHABLE[label], "raise")


@pytest.mark.parametrize(("where", "expected"), FILTERS)
async def test_search_finds_exactly_the_assistants_the_filter_matches(
    storage: Storage, where: AssistantFilter, expected: list[str]
) -> None:
    await seed_searchable(storage)
    found = sorted(LABEL[i] for i in await ids_found(storage, where))
    assert found == expected, f"search {where}"


@pytest.mark.parametrize(("where", "expected"), FILTERS)
async def test_count_matches_the_assistants_search_finds(
    storage: Storage, where: AssistantFilter, expected: list[str]
) -> None:
    await seed_searchable(storage)
    assert await storage.count_assistants(where) == len(expected), f"count {where}"


# -- search: sorting and pages ----------------------------------------------------------------------

# (id rank, graph_id, name) in creation order; ranks, graph ids and names all disagree with it,
# and names and graph ids repeat, so each sort and its tie-break show.
SORTABLE = [
    (4, "plain", "bravo"),
    (1, "agent", "alpha"),
    (6, "agent", "bravo"),
    (3, "nested", "alpha"),
    (5, "plain", "charlie"),
    (2, "agent", "alpha"),
]
UPDATE_ORDER = [3, 5, 2, 1, 6, 4]
SORT_FIELDS: list[SortField] = ["assistant_id", "created_at", "updated_at", "name", "graph_id"]


def rank_id(rank: int) -> str:
    return str(uuid.UUID(int=rank))


def sort_key(a: Assistant, field: SortField) -> tuple[Any, str]:
    value: Any
    if field in ("created_at", "updated_at"):
        value = at(getattr(a, field))
    elif field == "assistant_id":
        value = a.assistant_id
    else:
        value = getattr(a.snapshot, field)
    return value, a.assistant_id


async def seed_sortable(storage: Storage) -> list[Assistant]:
    for rank, graph_id, name in SORTABLE:
        await storage.create_assistant(rank_id(rank), replace(BASE, graph_id=graph_id, name=name), "raise")
    for rank in UPDATE_ORDER:
        await storage.revise_assistant(rank_id(rank), lambda current: current.snapshot)
    return [await storage.get_assistant(rank_id(rank)) for rank, _, _ in SORTABLE]


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("sort_by", SORT_FIELDS)
async def test_search_sorts_by_each_field_with_ties_broken_by_assistant_id_in_the_same_direction(
    storage: Storage, sort_by: SortField, descending: bool
) -> None:
    rows = await seed_sortable(storage)
    expected = [a.assistant_id for a in sorted(rows, key=lambda a: sort_key(a, sort_by), reverse=descending)]
    found, more = await storage.search_assistants(AssistantFilter(), Page(limit=100), sort_by, descending)
    assert [a.assistant_id for a in found] == expected
    assert not more
    assert found == sorted(rows, key=lambda a: sort_key(a, sort_by), reverse=descending), "rows as stored"


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("sort_by", SORT_FIELDS)
async def test_search_pages_concatenate_to_the_full_sorted_listing(
    storage: Storage, sort_by: SortField, descending: bool
) -> None:
    await seed_sortable(storage)
    full, _ = await storage.search_assistants(AssistantFilter(), Page(limit=100), sort_by, descending)
    paged: list[str] = []
    for offset in range(0, len(SORTABLE), 2):
        page, _ = await storage.search_assistants(
            AssistantFilter(), Page(limit=2, offset=offset), sort_by, descending
        )
        paged += [a.assistant_id for a in page]
    assert paged == [a.assistant_id for a in full], "pages overlap or skip rows: the order is not total"


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("sort_by", SORT_FIELDS)
async def test_search_with_tallies_pages_as_search_does_each_row_with_its_version_tally(
    storage: Storage, sort_by: SortField, descending: bool
) -> None:
    await seed_sortable(storage)
    some = rank_id(SORTABLE[0][0])
    for _ in range(3):
        await storage.revise_assistant(some, lambda current: current.snapshot)
    await storage.delete_version(some, 2)  # kept versions and the next number now differ
    graph = AssistantFilter(graph_id=SORTABLE[0][1])
    for where in (AssistantFilter(), graph):
        for offset in range(0, len(SORTABLE) + 1, 2):
            page = Page(limit=2, offset=offset)
            found, more = await storage.search_assistants_with_tallies(where, page, sort_by, descending)
            plain, plain_more = await storage.search_assistants(where, page, sort_by, descending)
            assert ([a for a, _ in found], more) == (plain, plain_more)
            tallies = await storage.version_tallies([a.assistant_id for a in plain])
            assert [t for _, t in found] == [tallies[a.assistant_id] for a in plain]
    (tally,) = [
        t
        for a, t in (
            await storage.search_assistants_with_tallies(
                AssistantFilter(), Page(limit=100), sort_by, descending
            )
        )[0]
        if a.assistant_id == some
    ]
    assert tally is not None
    assert (tally.version_count, tally.next_version) == (4, 6)


@pytest.mark.parametrize(
    ("limit", "offset", "size", "more"),
    [
        (2, 0, 2, True),
        (2, 2, 2, True),
        (2, 4, 1, False),
        pytest.param(5, 0, 5, False, id="5-0-exactly all rows"),
        (4, 0, 4, True),
        (4, 1, 4, False),
        pytest.param(1, 5, 0, False, id="1-5-just past the end"),
        pytest.param(10, 100, 0, False, id="10-100-far past the end"),
    ],
)
async def test_search_says_whether_more_matching_rows_follow_the_page(
    storage: Storage, limit: int, offset: int, size: int, more: bool
) -> None:
    for i in range(5):
        await storage.create_assistant(rank_id(10 + i), replace(BASE, graph_id="agent"), "raise")
    for i in range(3):  # do not match the filter, so must not count towards `more`
        await storage.create_assistant(rank_id(20 + i), replace(BASE, graph_id="plain"), "raise")
    found, more_found = await storage.search_assistants(
        AssistantFilter(graph_id="agent"), Page(limit=limit, offset=offset), "assistant_id", False
    )
    assert [a.assistant_id for a in found] == [rank_id(10 + i) for i in range(offset, min(offset + limit, 5))]
    assert (len(found), more_found) == (size, more)


# -- search sees only the active row ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "old", "new"),
    [
        ("graph_id", "agent", "plain"),
        ("name", "alpha", "bravo"),
        pytest.param("metadata", {"stage": "old"}, {"stage": "new"}, id="metadata scalar value"),
        pytest.param("metadata", {"a": 1}, {"b": 1}, id="metadata key"),
        pytest.param("metadata", {"v": 1}, {"v": "1"}, id="metadata value type"),
        pytest.param("metadata", {"v": True}, {"v": 1}, id="metadata true to 1"),
        pytest.param("metadata", {"v": 0}, {"v": False}, id="metadata 0 to false"),
        pytest.param("metadata", {"cfg": {"a": 1}}, {"cfg": {"a": 2}}, id="metadata nested object"),
        pytest.param("metadata", {"tags": ["x"]}, {"tags": ["y"]}, id="metadata array"),
        pytest.param("metadata", {"v": {"a": 1}}, {"v": "{"}, id="metadata object to a string"),
    ],
)
async def test_search_and_count_follow_the_active_row_through_revise_and_set_active_version(
    storage: Storage, field: str, old: Any, new: Any
) -> None:
    old_only, new_only = AssistantFilter(**{field: old}), AssistantFilter(**{field: new})

    async def findable() -> tuple[bool, bool]:
        found = (await ids_found(storage, old_only) == [A], await ids_found(storage, new_only) == [A])
        counted = (
            await storage.count_assistants(old_only) == 1,
            await storage.count_assistants(new_only) == 1,
        )
        assert counted == found, "count disagrees with search"
        return found

    await storage.create_assistant(A, replace(BASE, **{field: old}), "raise")
    await storage.create_assistant(B, THIRD, "raise")  # never matches either filter
    assert await findable() == (True, False), "after create"
    await storage.revise_assistant(A, to(replace(BASE, **{field: new})))
    assert await findable() == (False, True), "after revise: search still sees the old version"
    await storage.set_active_version(A, 1)
    assert await findable() == (True, False), "after set_active_version(1): search still sees version 2"
    await storage.set_active_version(A, 2)
    assert await findable() == (False, True), "after set_active_version(2)"


async def test_a_revise_that_keeps_the_metadata_keeps_the_assistant_findable_by_it(storage: Storage) -> None:
    await storage.create_assistant(A, replace(BASE, metadata={"stage": "kept"}), "raise")
    await storage.revise_assistant(A, lambda current: replace(current.snapshot, name="renamed"))
    assert await ids_found(storage, AssistantFilter(metadata={"stage": "kept"})) == [A]
    await storage.set_active_version(A, 1)
    assert await ids_found(storage, AssistantFilter(metadata={"stage": "kept"})) == [A]


# -- concurrent writers ---------------------------------------------------------------------------


def record_predecessor(writer: int) -> Revise:
    def revise(current: Assistant) -> Snapshot:
        return replace(
            current.snapshot, name=f"writer {writer}", metadata={"writer": writer, "saw": current.version}
        )

    return revise


async def test_64_concurrent_revisions_get_consecutive_versions_each_built_on_the_one_before(
    storage: Storage,
) -> None:
    await storage.create_assistant(A, BASE, "raise")
    results = await asyncio.gather(*(storage.revise_assistant(A, record_predecessor(i)) for i in range(64)))

    assert sorted(r.version for r in results) == list(range(2, 66))
    versions = await storage.list_versions(A, {}, Page(limit=1000))
    assert [v.version for v in versions] == list(range(65, 0, -1)), "versions are not consecutive"
    revised = versions[:-1]
    assert [v.snapshot.metadata["saw"] for v in revised] == [v.version - 1 for v in revised], (
        "two writers built on the same active row: an update was lost"
    )
    assert sorted(v.snapshot.metadata["writer"] for v in revised) == list(range(64))
    snapshots = {v.version: v.snapshot for v in versions}
    assert all(r.snapshot == snapshots[r.version] for r in results), "a writer was told a different snapshot"
    active = await storage.get_assistant(A)
    assert (active.version, active.snapshot) == (65, snapshots[65])
    last_writer = active.snapshot.metadata["writer"]
    assert await ids_found(storage, AssistantFilter(metadata={"writer": last_writer})) == [A]
    assert await storage.count_assistants(AssistantFilter(metadata={"saw": 64})) == 1


async def test_concurrent_revisions_and_rollbacks_leave_the_active_row_equal_to_its_version(
    storage: Storage,
) -> None:
    await storage.create_assistant(A, BASE, "raise")
    writes = [storage.revise_assistant(A, record_predecessor(i)) for i in range(32)]
    rollbacks = [storage.set_active_version(A, 1) for _ in range(32)]
    await asyncio.gather(*(op for pair in zip(writes, rollbacks, strict=True) for op in pair))

    assert await version_numbers(storage, A) == list(range(33, 0, -1))
    active = await storage.get_assistant(A)
    snapshots = {v.version: v.snapshot for v in await storage.list_versions(A, {}, Page(limit=1000))}
    assert active.snapshot == snapshots[active.version], "the active row mixes two versions"
    assert await ids_found(storage, AssistantFilter(metadata=active.snapshot.metadata)) == [A]


# -- containment: PostgreSQL's jsonb @> ---------------------------------------------------------------

# (target, query, target @> query) as JSON text. Checked once against PostgreSQL 15 with
# `SELECT '<target>'::jsonb @> '<query>'::jsonb`; every row agreed.
JSONB_CONTAINS = [
    ("{}", "{}", True),
    ('{"a": 1}', "{}", True),
    ("{}", '{"a": 1}', False),
    ('{"a": 1, "b": 2}', '{"a": 1}', True),
    ('{"a": 1}', '{"a": 1, "b": 2}', False),
    ('{"a": 1}', '{"a": 2}', False),
    ('{"a": 1}', '{"a": 1.0}', True),
    ('{"a": 1.0}', '{"a": 1}', True),
    ('{"a": 100}', '{"a": 1e2}', True),
    ('{"a": 1.5}', '{"a": 1.5}', True),
    ('{"a": 10000000000000000}', '{"a": 1e16}', True),
    ('{"a": true}', '{"a": 1}', False),
    ('{"a": 1}', '{"a": true}', False),
    ('{"a": false}', '{"a": 0}', False),
    ('{"a": 0}', '{"a": false}', False),
    ('{"a": true}', '{"a": true}', True),
    ('{"a": "1"}', '{"a": 1}', False),
    ('{"a": 1}', '{"a": "1"}', False),
    ('{"a": null}', '{"a": null}', True),
    ("{}", '{"a": null}', False),
    ('{"a": null}', '{"a": false}', False),
    ('{"a": "x"}', '{"a": "X"}', False),
    ('{"a": "Ü"}', '{"a": "Ü"}', True),
    ('{"a": "Ü"}', '{"a": "ü"}', False),
    ('{"a": {"b": 1, "c": 2}}', '{"a": {"b": 1}}', True),
    ('{"a": {"b": 1}}', '{"a": {"b": 1, "c": 2}}', False),
    ('{"a": {"b": {"c": [1, 2]}}}', '{"a": {"b": {"c": [2]}}}', True),
    ('{"a": {"b": 1}}', '{"b": 1}', False),
    ('{"a": {}}', '{"a": {}}', True),
    ('{"a": {"b": 1}}', '{"a": {}}', True),
    ('{"a": []}', '{"a": {}}', False),
    ('{"a": {}}', '{"a": []}', False),
    ('{"a": [1, 2, 3]}', '{"a": [3, 1]}', True),
    ('{"a": [1, 2]}', '{"a": [1, 1]}', True),
    ('{"a": [1]}', '{"a": [1, 2]}', False),
    ('{"a": [1, 2]}', '{"a": []}', True),
    ('{"a": []}', '{"a": []}', True),
    ('{"a": [1, 2]}', '{"a": 1}', False),
    ('{"a": 1}', '{"a": [1]}', False),
    ('{"a": [[1, 2], [3]]}', '{"a": [[2]]}', True),
    ('{"a": [[1, 2]]}', '{"a": [1]}', False),
    ('{"a": [1, [2]]}', '{"a": [[2], 1]}', True),
    ('{"a": [{"x": 1, "y": 2}, {"z": 3}]}', '{"a": [{"x": 1}]}', True),
    ('{"a": [{"x": 1}, {"y": 2}]}', '{"a": [{"x": 1, "y": 2}]}', False),
    ('{"a": [1.0]}', '{"a": [1]}', True),
    ('{"a": [true]}', '{"a": [1]}', False),
    ('{"a": [1]}', '{"a": [true]}', False),
    ('{"a": [null]}', '{"a": [null]}', True),
    # Top level only: an array contains a bare scalar; nowhere else does.
    ("[1, 2]", "1", True),
    ("[1, 2]", "[1]", True),
    ("[1, 2]", '"1"', False),
    ("[[1]]", "1", False),
    ("1", "[1]", False),
    ("1", "1", True),
    ("1", "1.0", True),
    ('"a"', '"a"', True),
    ('{"a": 1}', "[]", False),
    ("[]", "{}", False),
    ('[{"a": 1}]', '{"a": 1}', False),
    ('[{"a": 1, "b": 2}]', '[{"a": 1}]', True),
]


@pytest.mark.parametrize(
    ("target", "query", "expected"), JSONB_CONTAINS, ids=[f"{t} @> {q}" for t, q, _ in JSONB_CONTAINS]
)
def test_contains_agrees_with_postgresql_jsonb_containment(target: str, query: str, expected: bool) -> None:
    assert contains(json.loads(target), json.loads(query)) is expected, (
        f"'{target}'::jsonb @> '{query}'::jsonb"
    )

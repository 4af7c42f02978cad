"""Name search on every backend: the trigram indexes narrow it, never change it.

A search by name is a case-insensitive substring match (`lower()` on both sides). The indexes
(SQLite FTS5 trigrams, PostgreSQL pg_trgm) only pick candidates: these tests hold the answers to
that predicate for needles full of LIKE and FTS5 syntax, for short needles, and across every write
that changes a live name.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace

import pytest

from graphdock.storage.base import Storage
from graphdock.storage.records import AssistantFilter, Page, Snapshot, SortField

BASE = Snapshot("agent", {}, {}, {}, "", None)

NAMES = [
    'say "hi" AND bye',
    "OR NOT NEAR(x, y)",
    "star* power",
    "col:umn ^caret",
    "50% off",
    "50 percent off",
    "a_b under_score",
    "aXb underXscore",
    "it's (quoted)",
    "back\\slash",
    "Über Straße",
    "ÜBER STRASSE",
    "Crème brûlée",
    "Ελληνικό ΟΝΟΜΑ",  # noqa: RUF001 (Greek capitals, on purpose)
    "日本語の名前",
    "emoji 🚀 rocket",
    "plain name",
]

NEEDLES = [
    '"hi" AND',  # an FTS5 phrase, an operator
    '"',
    "AND",
    "and bye",
    "or not",
    "near(x",
    "star*",
    "r* p",
    "col:umn",
    "^caret",
    "50%",
    "% o",
    "a_b",
    "_b ",
    "it's (",
    "back\\s",
    "\\",
    "über",
    "ÜBER",
    "straße",
    "strasse",
    "ss",
    "CRÈME",
    "ελληνικό",
    "όνομα",
    "日本語",
    "の名",
    "🚀 r",
    "name",
    "na",  # two characters: no trigram
    "a",
    "zzz",
]


async def fill(storage: Storage, names: list[str]) -> dict[str, str]:
    ids = {}
    for name in names:
        aid = str(uuid.uuid4())
        await storage.create_assistant(aid, replace(BASE, name=name), "raise")
        ids[aid] = name
    return ids


async def found(storage: Storage, needle: str) -> set[str]:
    where = AssistantFilter(name=needle)
    page, more = await storage.search_assistants(where, Page(limit=100), "created_at", True)
    assert not more
    ids = {a.assistant_id for a in page}
    assert await storage.count_assistants(where) == len(ids)
    return ids


async def test_a_name_search_matches_exactly_the_lowered_substring_whatever_the_needle_holds(
    storage: Storage,
) -> None:
    ids = await fill(storage, NAMES)
    for needle in NEEDLES:
        expected = {aid for aid, name in ids.items() if needle.lower() in name.lower()}
        assert await found(storage, needle) == expected, needle


async def test_a_name_search_pages_in_order_through_the_index(storage: Storage) -> None:
    ids = list(await fill(storage, [f"robot {i}" for i in range(25)] + ["other"] * 5))
    pages = []
    for offset in range(0, 30, 10):
        page, _ = await storage.search_assistants(
            AssistantFilter(name="ROBOT"), Page(limit=10, offset=offset), "created_at", True
        )
        pages += [a.assistant_id for a in page]
    assert pages == ids[:25][::-1]
    by_name, more = await storage.search_assistants(
        AssistantFilter(name="bot 1"), Page(limit=3), "name", False
    )
    assert [a.snapshot.name for a in by_name] == ["robot 1", "robot 10", "robot 11"]
    assert more


async def test_renames_rollbacks_and_deletes_keep_the_name_index_in_sync(storage: Storage) -> None:
    aid = str(uuid.uuid4())
    await storage.create_assistant(aid, replace(BASE, name="alpha bravo"), "raise")
    assert await found(storage, "bravo") == {aid}

    await storage.revise_assistant(aid, lambda current: replace(current.snapshot, name="Charlie Delta"))
    assert await found(storage, "bravo") == set()
    assert await found(storage, "charlie d") == {aid}

    # set_latest back to version 1 makes its name the live one again
    await storage.set_active_version(aid, 1)
    assert await found(storage, "alpha br") == {aid}
    assert await found(storage, "charlie") == set()

    # A change of case only is a change of name too.
    await storage.revise_assistant(aid, lambda current: replace(current.snapshot, name="ALPHA BRAVO"))
    assert await found(storage, "alpha bravo") == {aid}

    await storage.delete_assistant(aid)
    assert await found(storage, "alpha") == set()
    assert await found(storage, "bravo") == set()


async def test_a_name_search_with_other_filters_applies_them_all(storage: Storage) -> None:
    keep = str(uuid.uuid4())
    await storage.create_assistant(keep, replace(BASE, name="shared name", metadata={"k": 1}), "raise")
    await storage.create_assistant(
        str(uuid.uuid4()), replace(BASE, name="shared name", metadata={"k": 2}), "raise"
    )
    await storage.create_assistant(
        str(uuid.uuid4()), replace(BASE, graph_id="other", name="shared name", metadata={"k": 1}), "raise"
    )
    where = AssistantFilter(graph_id="agent", name="RED NA", metadata={"k": 1})
    page, _ = await storage.search_assistants(where, Page(), "created_at", True)
    assert [a.assistant_id for a in page] == [keep]
    assert await storage.count_assistants(where) == 1


@pytest.mark.parametrize("matches", [5, 2005])
async def test_a_name_with_more_candidates_than_the_index_sorts_is_walked_with_the_same_answer(
    storage: Storage, matches: int
) -> None:
    # Over name_search.CANDIDATES matches, the search walks the page order instead.
    names = [f"common {i}" for i in range(matches)] + ["rare one"]
    for start in range(0, len(names), 500):
        await fill(storage, names[start : start + 500])
    page, more = await storage.search_assistants(
        AssistantFilter(name="common"), Page(limit=3), "created_at", True
    )
    assert [a.snapshot.name for a in page] == [
        f"common {matches - 1}",
        f"common {matches - 2}",
        f"common {matches - 3}",
    ]
    assert more
    assert await storage.count_assistants(AssistantFilter(name="mon ")) == matches


@pytest.mark.parametrize("sort_by", ["created_at", "name", "graph_id"])
async def test_a_name_search_answers_the_same_whether_the_first_rows_fill_the_page_or_not(
    storage: Storage, sort_by: SortField
) -> None:
    # Before asking an index, a search tests the first rows in page order (name_search.head_rows,
    # 88 for a first page of 10): needles matching every row, every third, only the oldest, and
    # exactly the 11 newest fill that head, fall short of it, or fill it on its last match.
    names = [
        f"n{i:03d} every"
        + (" third" if i % 3 == 0 else "")
        + (" old" if i < 20 else "")
        + (" new" if i >= 189 else "")
        for i in range(200)
    ]
    for start in range(0, len(names), 50):
        for i, name in enumerate(names[start : start + 50], start):
            graph = "agent" if i % 2 else "Bagent"
            await storage.create_assistant(
                str(uuid.uuid4()), replace(BASE, graph_id=graph, name=name, metadata={"k": i % 2}), "raise"
            )
    for descending in (True, False):
        everyone, _ = await storage.search_assistants(
            AssistantFilter(), Page(limit=1000), sort_by, descending
        )
        for needle, metadata in itertools.product(["EVERY", "third", "old", "new"], [{}, {"k": 1}]):
            where = AssistantFilter(name=needle, metadata=metadata)
            matching = [
                a.assistant_id
                for a in everyone
                if needle.lower() in a.snapshot.name.lower()
                and a.snapshot.metadata.items() >= metadata.items()
            ]
            for page in (Page(10, 0), Page(10, 5), Page(5, 30), Page(3, 0)):
                got, more = await storage.search_assistants(where, page, sort_by, descending)
                expected = matching[page.offset : page.offset + page.limit]
                assert [a.assistant_id for a in got] == expected, (needle, metadata, page, descending)
                assert more == (len(matching) > page.offset + page.limit), (needle, metadata, page)

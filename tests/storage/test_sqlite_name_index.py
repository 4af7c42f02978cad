"""SQLite: the FTS5 trigram index of names is used, matches what lower() matches, and is built for
databases that had assistants before it (migration 0012)."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path

import yoyo

from graphdock.storage.columns import ASSISTANT
from graphdock.storage.migrations import apply_pending
from graphdock.storage.records import Assistant, AssistantFilter, Page, Snapshot
from graphdock.storage.sqlite.name_index import FTS, MAX_TRIGRAMS, fold_gaps, match_query
from graphdock.storage.sqlite.rows import register_functions
from graphdock.storage.sqlite.store import MIGRATIONS, SqliteStorage

# Characters where FTS5's case folding and Python's lower() part ways ("İ".lower() is "i" + U+0307;
# the Cherokee, Georgian Mtavruli and Latin letters below got a lower case after FTS5's tables),
# beside ones where they agree.
TRICKY = [
    "İstanbul bot",
    "kebİ",
    "Ꭰᏹ agent Ꮳ",
    "ᲐᲑᲒ agent",
    "Ꟑx agent",
    "Σίσυφος ΣΟΦΟΣ",
    "ǅungla",
    "Kelvin \u212a",
]
TRICKY_NEEDLES = [
    "i̇stanbul",  # lower("İstanbul"): "i" and a combining dot
    "stanbul",
    "kebi",  # "kebİ".lower() == "kebi̇": it holds "kebi"
    "ebi",
    "ꭰᏹ ag",
    "ᏹ agent ꮳ",
    "აბგ",
    "ꟑx a",
    "σίσυφος",
    "σοφος",
    "σοφοσ",  # lower("ΣΟΦΟΣ") ends in a final sigma: no match, on the index as without it
    "ǆungla",
    "ǅung",
    "lvin k",
]


async def _open(path: Path) -> SqliteStorage:
    storage = SqliteStorage(f"sqlite:///{path}")
    await storage.open()
    return storage


async def test_names_whose_case_fts5_folds_unlike_lower_are_still_found(tmp_path: Path) -> None:
    storage = await _open(tmp_path / "s.sqlite3")
    try:
        ids = {}
        for name in TRICKY:
            aid = str(uuid.uuid4())
            await storage.create_assistant(aid, Snapshot("agent", {}, {}, {}, name, None), "raise")
            ids[aid] = name
        for needle in TRICKY_NEEDLES:
            expected = {aid for aid, name in ids.items() if needle.lower() in name.lower()}
            page, _ = await storage.search_assistants(
                AssistantFilter(name=needle), Page(100), "created_at", True
            )
            assert {a.assistant_id for a in page} == expected, needle
    finally:
        await storage.close()


def test_fold_gaps_name_the_characters_fts5_folds_unlike_lower() -> None:
    anywhere, at_end = fold_gaps()
    assert {"\u0307", "ꭰ"} <= anywhere
    assert not {"a", "i", "ü", "\u03c3"} & anywhere
    assert at_end == {"i": frozenset({"İ"})}
    # Each trigram once, quoted (FTS5's operators and quotes are literal); the last one may also end
    # in a character whose lower() begins with the needle's last character.
    assert match_query("gemini") == '"gem" AND "emi" AND "min" AND ("ini" OR "inİ")'
    assert match_query('"hi" OR *') == '"""hi" AND "hi""" AND "i"" " AND """ o" AND " or" AND "or " AND "r *"'
    assert match_query("x" * 100_000) == '"xxx"'
    assert match_query("0123456789abcdefghij").count(" AND ") == MAX_TRIGRAMS - 1
    assert match_query("ab") is None
    assert match_query("ꭰbc") is None


async def _three_hundred_names(path: Path) -> SqliteStorage:
    """A store of "name 0" … "name 299", created in that order."""
    storage = await _open(path)
    for i in range(300):
        await storage.create_assistant(
            str(uuid.uuid4()), Snapshot("agent", {}, {}, {}, f"name {i}", None), "raise"
        )
    return storage


async def _search_traced(storage: SqliteStorage, needle: str) -> tuple[list[Assistant], list[str]]:
    """A newest-first page of names holding `needle`, and the statements it ran (white-box: which
    statements run is what the tests using this are about)."""
    conn = storage._conn
    assert conn is not None
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        page, _ = await storage.search_assistants(AssistantFilter(name=needle), Page(), "created_at", True)
    finally:
        conn.set_trace_callback(None)
    return page, statements


async def test_a_name_search_reads_the_fts_index_and_candidates_by_rowid(tmp_path: Path) -> None:
    path = tmp_path / "plan.sqlite3"
    storage = await _three_hundred_names(path)
    try:
        page, statements = await _search_traced(storage, "ame 12")
        assert [a.snapshot.name for a in page][:2] == ["name 129", "name 128"]
        check = sqlite3.connect(path)
        register_functions(check)
        # First the page's head: the newest rows (a bounded walk) hold no "ame 12" (name_search.HEAD).
        probe, *reads = [s for s in statements if s.startswith("SELECT")]
        assert probe.startswith("SELECT count(*)"), statements
        assert "LIMIT" in probe, probe
        plans = [" | ".join(row[3] for row in check.execute("EXPLAIN QUERY PLAN " + s)) for s in reads]
        check.close()
        assert any(f"SCAN {FTS} VIRTUAL TABLE" in plan for plan in plans), plans
        steps = [step for plan in plans for step in plan.split(" | ")]
        # The fts table's own scan is its MATCH; after the head, the assistants table is not walked.
        assert not [step for step in steps if step.split(" ")[:2] == ["SCAN", "assistants"]], plans
        assert "SEARCH assistants USING INTEGER PRIMARY KEY (rowid=?)" in steps, plans
    finally:
        await storage.close()


async def test_assistants_stored_before_the_index_are_found_by_name_after_migrating(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    before = tmp_path / "migrations-0011"
    shutil.copytree(MIGRATIONS, before, ignore=lambda _dir, names: [n for n in names if n.startswith("0012")])
    backend = yoyo.get_backend(f"sqlite:///{path}")
    try:
        assert "0012.name_trigrams" not in apply_pending(backend, before)
    finally:
        backend.connection.close()
    conn = sqlite3.connect(path)
    with conn:
        for i, name in enumerate(["Legacy Alpha", "legacy beta", "new gamma"]):
            conn.execute(
                f"INSERT INTO assistants ({ASSISTANT}, last_version) VALUES (?,?,?,?,?,?,?,1,?,?,1)",
                (
                    f"00000000-0000-4000-8000-00000000000{i}",
                    "agent",
                    "{}",
                    "{}",
                    "{}",
                    name,
                    None,
                    f"2024-01-0{i + 1}",
                    "x",
                ),
            )
    conn.close()
    storage = await _open(path)  # applies 0012, which fills the index from the rows above
    try:
        page, _ = await storage.search_assistants(AssistantFilter(name="LEGACY"), Page(), "created_at", True)
        assert [a.snapshot.name for a in page] == ["legacy beta", "Legacy Alpha"]
        assert match_query("LEGACY") is not None
        conn = storage._conn
        assert conn is not None
        found = conn.execute(f"SELECT count(*) FROM {FTS} WHERE {FTS} MATCH ?", (match_query("gamma"),))
        assert found.fetchone() == (1,)
    finally:
        await storage.close()


async def test_a_needle_most_names_hold_is_walked_without_asking_the_index(tmp_path: Path) -> None:
    storage = await _three_hundred_names(tmp_path / "head.sqlite3")
    try:
        common, asked = await _search_traced(storage, "NAME")
        asked_for_common = [s for s in asked if FTS in s]
        rare, statements = await _search_traced(storage, "name 17")
        assert [a.snapshot.name for a in common] == [f"name {i}" for i in range(299, 289, -1)]
        # The first rows in page order held the page: the index was never read.
        assert asked_for_common == []
        # The newest rows hold no "name 17": the index is asked after them.
        assert [a.snapshot.name for a in rare][:2] == ["name 179", "name 178"]
        assert [s for s in statements if FTS in s], statements
    finally:
        await storage.close()


async def test_a_long_repetitive_name_is_found_by_long_needles(tmp_path: Path) -> None:
    # A phrase query walked each of this name's 100,000 positions per needle trigram (a 1,000-
    # character needle took half a second, the odd-body sweep's 100,000 one timed out); the
    # trigram set makes it one lookup.
    storage = SqliteStorage(f"sqlite:///{tmp_path}/long.sqlite3")
    await storage.open()
    try:
        long_id = str(uuid.uuid4())
        await storage.create_assistant(long_id, Snapshot("agent", {}, {}, {}, "x" * 100_000, None), "raise")
        await storage.create_assistant(str(uuid.uuid4()), Snapshot("agent", {}, {}, {}, "xx", None), "raise")
        for needle, found in (("x" * 1000, {long_id}), ("X" * 100_000, {long_id}), ("x" * 100_001, set())):
            page, _ = await storage.search_assistants(
                AssistantFilter(name=needle), Page(10, 0), "created_at", True
            )
            assert {a.assistant_id for a in page} == found
            assert await storage.count_assistants(AssistantFilter(name=needle)) == len(found)
    finally:
        await storage.close()

"""SQLite: the FTS5 trigram index of names is used, matches what lower() matches, and is built for
databases that had assistants before it (migration 0012); its pending list (0013) holds the names
written since its last flush, which a search reads beside it, and every writer of a name notes it."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import yoyo

from graphdock.storage.columns import ASSISTANT
from graphdock.storage.migrations import apply_pending
from graphdock.storage.name_search import CANDIDATES, WIDE_HEAD
from graphdock.storage.records import Assistant, AssistantFilter, Page, Snapshot
from graphdock.storage.sqlite.name_index import (
    FTS,
    MAX_TRIGRAMS,
    PENDING,
    PENDING_MAX,
    clauses,
    fold_gaps,
    narrowest,
)
from graphdock.storage.sqlite.rows import register_functions
from graphdock.storage.sqlite.store import MIGRATIONS, SqliteStorage, migrate
from tests.storage.test_contract_name_search import BASE, NAMES, NEEDLES, fill, found

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


def match_query(needle: str) -> str | None:
    """The FTS5 query asking for every clause of `needle`, as the index is asked when none is rare."""
    found = clauses(needle)
    return None if found is None else " AND ".join(found)


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


def test_the_index_is_asked_for_the_clauses_few_names_hold_or_for_all_when_none_is() -> None:
    asked = ['"nam"', '"ame"', '"e 7"', '" 77"']
    # 'name 77' among "name 0" … "name 99999": the common clauses cost the AND their every entry.
    assert narrowest(asked, [CANDIDATES + 1, CANDIDATES + 1, CANDIDATES + 1, 1111]) == ('" 77"', 1111)
    assert narrowest(asked, [CANDIDATES + 1, 40, CANDIDATES, 1111]) == ('"ame" AND "e 7" AND " 77"', 40)
    # Only their intersection may be few; how many it holds is not known.
    assert narrowest(asked, [CANDIDATES + 1] * 4) == (" AND ".join(asked), CANDIDATES + 1)


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


async def test_a_clause_counted_as_rare_before_many_names_gained_it_still_finds_them_all(
    tmp_path: Path,
) -> None:
    # The counts that choose the index's query are kept for a minute (name_index.ClauseDocs), so
    # the second search trusts a count of 1 for "qqq" that is now 2,101: a slower search, never a
    # shorter answer.
    storage = await _open(tmp_path / "stale.sqlite3")
    try:
        await fill(storage, [f"qqq {i}" for i in range(PENDING_MAX)])  # flushed into the index
        assert len(await found(storage, "QQQ 1")) == 11
        await fill(storage, [f"qqq {i}" for i in range(PENDING_MAX, CANDIDATES + 101)])
        # The newest names hold no "qqq": the page's head does not answer, the index does.
        await fill(storage, [f"filler {i}" for i in range(100)])
        where = AssistantFilter(name="QQQ")
        page, more = await storage.search_assistants(where, Page(limit=3), "created_at", True)
        assert [a.snapshot.name for a in page] == [f"qqq {CANDIDATES + 100 - i}" for i in range(3)]
        assert more
        assert await storage.count_assistants(where) == CANDIDATES + 101
        assert await storage.count_assistants(AssistantFilter(name="qqq 1")) == 1 + 10 + 100 + 1000
    finally:
        await storage.close()


async def test_a_common_needle_whose_matches_lie_deep_is_walked_through_the_index_candidates(
    tmp_path: Path,
) -> None:
    # More than CANDIDATES names hold "deep common", all older than the newest WIDE_HEAD: the walk
    # looks each row up among the index's candidates (and the pending names) before testing it.
    storage = await _open(tmp_path / "deep.sqlite3")
    conn = storage._conn
    assert conn is not None
    try:
        (oldest,) = await fill(storage, ["plain 0"])
        for i in range(CANDIDATES + 10):
            snapshot = replace(BASE, name=f"deep common {i}", metadata={"k": i % 2})
            await storage.create_assistant(str(uuid.uuid4()), snapshot, "raise")
        await fill(storage, [f"fresh {i}" for i in range(WIDE_HEAD + 100)])
        await storage.revise_assistant(oldest, lambda a: replace(a.snapshot, name="Deep Common oldest"))
        renamed = f"SELECT count(*) FROM {PENDING} AS p JOIN assistants AS a ON a.rowid = p.assistant WHERE a.name = ?"
        assert conn.execute(renamed, ("Deep Common oldest",)).fetchone() == (1,)  # not in the index yet

        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        try:
            where = AssistantFilter(name="DEEP COMMON")
            page, more = await storage.search_assistants(where, Page(limit=3), "created_at", True)
        finally:
            conn.set_trace_callback(None)
        last = CANDIDATES + 9
        assert [a.snapshot.name for a in page] == [f"deep common {last - i}" for i in range(3)]
        assert more
        assert any("+rowid IN (SELECT rowid FROM" in s for s in statements), statements
        # With another filter (its parameters follow the index query's).
        where = AssistantFilter(name="deep common", metadata={"k": 1})
        page, _ = await storage.search_assistants(where, Page(limit=2), "created_at", True)
        assert [a.snapshot.name for a in page] == [f"deep common {last}", f"deep common {last - 2}"]
        # A page deeper than any head reaches the pending name.
        deep = Page(limit=5, offset=CANDIDATES + 8)
        page, more = await storage.search_assistants(
            AssistantFilter(name="deep common"), deep, "created_at", True
        )
        assert [a.snapshot.name for a in page] == ["deep common 1", "deep common 0", "Deep Common oldest"]
        assert not more
    finally:
        await storage.close()


def _migrate_up_to(path: Path, last: str, folder: Path) -> None:
    """Apply the migrations up to `last` (a number, "0011") to a new database at `path`."""
    shutil.copytree(MIGRATIONS, folder, ignore=lambda _dir, names: [n for n in names if n[:4] > last])
    backend = yoyo.get_backend(f"sqlite:///{path}")
    try:
        assert max(apply_pending(backend, folder)).startswith(last)
    finally:
        backend.connection.close()


def _insert_rows(conn: sqlite3.Connection, names: list[str]) -> None:
    """Assistants as an older graphdock stored them: plain INSERTs (its triggers, if any, run)."""
    with conn:
        for i, name in enumerate(names):
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


async def test_assistants_stored_before_the_index_are_found_by_name_after_migrating(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _migrate_up_to(path, "0011", tmp_path / "migrations")
    conn = sqlite3.connect(path)
    _insert_rows(conn, ["Legacy Alpha", "legacy beta", "new gamma"])
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


def _flush(storage: SqliteStorage) -> None:
    """Move the pending names into the index now, through migration 0013's own trigger: the list
    is padded up to PENDING_MAX notes with rowids no assistant has."""
    conn = storage._conn
    assert conn is not None
    (pending,) = conn.execute(f"SELECT count(*) FROM {PENDING}").fetchone()
    conn.executemany(
        f"INSERT INTO {PENDING} (assistant) VALUES (?)", [(-1 - i,) for i in range(PENDING_MAX - pending)]
    )
    assert conn.execute(f"SELECT count(*) FROM {PENDING}").fetchone() == (0,)


def _index_and_rebuild(storage: SqliteStorage) -> tuple[set[tuple[int, str]], set[tuple[int, str]]]:
    """(rowid, trigram) pairs: what the index holds, and what FTS5 makes of the names stored now."""
    conn = storage._conn
    assert conn is not None
    conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.held USING fts5vocab (main, {FTS}, 'instance')")
    held = set(conn.execute("SELECT doc, term FROM temp.held"))
    fresh = sqlite3.connect(":memory:")
    try:
        fresh.execute("CREATE TABLE assistants (name TEXT NOT NULL)")
        fresh.executemany(
            "INSERT INTO assistants (rowid, name) VALUES (?, ?)",
            conn.execute("SELECT rowid, name FROM assistants"),
        )
        sql = conn.execute("SELECT sql FROM sqlite_schema WHERE name = ?", (FTS,)).fetchone()[0]
        fresh.execute(sql)
        fresh.execute(f"INSERT INTO {FTS} ({FTS}) VALUES ('rebuild')")
        fresh.execute(f"CREATE VIRTUAL TABLE v USING fts5vocab ({FTS}, 'instance')")
        rebuilt = set(fresh.execute("SELECT doc, term FROM v"))
    finally:
        fresh.close()
    return held, rebuilt


async def _all_names_found(storage: SqliteStorage, needles: list[str]) -> None:
    """Each needle finds exactly the stored names holding it (lower() on both sides)."""
    everyone, _ = await storage.search_assistants(AssistantFilter(), Page(1000), "created_at", True)
    for needle in needles:
        expected = {a.assistant_id for a in everyone if needle.lower() in a.snapshot.name.lower()}
        page, _ = await storage.search_assistants(
            AssistantFilter(name=needle), Page(1000), "created_at", True
        )
        assert {a.assistant_id for a in page} == expected, needle


async def test_written_names_wait_in_the_pending_list_until_its_last_note_moves_them_all_into_the_index(
    tmp_path: Path,
) -> None:
    storage = await _open(tmp_path / "pending.sqlite3")
    conn = storage._conn
    assert conn is not None
    try:
        await fill(storage, [f"robot {i}" for i in range(PENDING_MAX - 1)])
        held, rebuilt = _index_and_rebuild(storage)
        assert conn.execute(f"SELECT count(*) FROM {PENDING}").fetchone() == (PENDING_MAX - 1,)
        assert held == set()
        # Found from the pending list alone.
        assert len(await found(storage, "ROBOT 1")) == 11
        await fill(storage, ["robot last"])
        assert conn.execute(f"SELECT count(*) FROM {PENDING}").fetchone() == (0,)
        held, rebuilt = _index_and_rebuild(storage)
        assert held == rebuilt
        assert len(rebuilt) > 0
        assert len(await found(storage, "ROBOT 1")) == 11
    finally:
        await storage.close()


async def test_every_writer_of_a_name_leaves_the_index_as_a_rebuild_would_after_the_flush(
    tmp_path: Path,
) -> None:
    # Creates, renames, a rollback, a change of case only, an update that keeps the name, deletes of
    # indexed and of pending rows, an import that creates and one that replaces, and a deleted
    # newest row whose rowid the next create takes again: searches are right before the flush
    # (stale index entries, pending rows) and after it, when the index holds exactly the names.
    storage = await _open(tmp_path / "writers.sqlite3")
    try:
        ids = list(await fill(storage, [f"agent {i}" for i in range(PENDING_MAX + 10)]))
        await storage.revise_assistant(ids[0], lambda a: replace(a.snapshot, name="Renamed Zero"))
        await storage.revise_assistant(ids[1], lambda a: replace(a.snapshot, name="AGENT 1"))
        await storage.revise_assistant(ids[2], lambda a: replace(a.snapshot, metadata={"k": 1}))
        await storage.revise_assistant(ids[3], lambda a: replace(a.snapshot, name="renamed three"))
        await storage.set_active_version(ids[3], 1)
        await storage.revise_assistant(ids[-1], lambda a: replace(a.snapshot, name="pending renamed"))
        await storage.delete_assistant(ids[4])
        await storage.delete_assistant(ids[-2])
        exported, _ = await storage.export_assistants([ids[5]], Page(10))
        history = exported[0]
        moved = replace(
            history,
            assistant=replace(
                history.assistant, snapshot=replace(history.assistant.snapshot, name="imported anew")
            ),
        )
        copy = replace(history, assistant=replace(history.assistant, assistant_id=str(uuid.uuid4())))
        copy = replace(
            copy, versions=tuple(replace(v, assistant_id=copy.assistant.assistant_id) for v in copy.versions)
        )
        report = await storage.import_assistants(
            [moved, copy],
            dry_run=False,
            decide=lambda stored, _new: "create" if stored is None else "replace",
        )
        assert (report.created, report.replaced) == ((copy.assistant.assistant_id,), (ids[5],))
        newest = str(uuid.uuid4())
        await storage.create_assistant(newest, replace(BASE, name="newest"), "raise")
        await storage.delete_assistant(newest)
        await storage.create_assistant(str(uuid.uuid4()), replace(BASE, name="takes its rowid"), "raise")
        needles = ["agent", "agent 1", "renamed", "zero", "three", "agent 5", "imported", "newest", "rowid"]
        await _all_names_found(storage, needles)
        _flush(storage)
        held, rebuilt = _index_and_rebuild(storage)
        assert held == rebuilt
        await _all_names_found(storage, needles)
    finally:
        await storage.close()


@pytest.mark.parametrize("state", ["pending", "indexed", "renamed after indexing", "renamed, then indexed"])
async def test_the_name_contract_holds_whether_names_are_pending_indexed_or_renamed_since(
    tmp_path: Path, state: str
) -> None:
    # The contract suite's names are fewer than PENDING_MAX: there, they are all pending.
    storage = await _open(tmp_path / "states.sqlite3")
    try:
        ids = await fill(storage, NAMES)
        if state != "pending":
            _flush(storage)
        if state.startswith("renamed"):
            for aid, new in zip(list(ids), NAMES[1:] + NAMES[:1], strict=True):
                await storage.revise_assistant(aid, lambda a, new=new: replace(a.snapshot, name=new))
                ids[aid] = new
        if state.endswith("then indexed"):
            _flush(storage)
        for needle in NEEDLES:
            expected = {aid for aid, name in ids.items() if needle.lower() in name.lower()}
            assert await found(storage, needle) == expected, needle
    finally:
        await storage.close()


async def test_assistants_indexed_before_the_pending_list_stay_found_after_migrating(tmp_path: Path) -> None:
    path = tmp_path / "0012.sqlite3"
    _migrate_up_to(path, "0012", tmp_path / "migrations")
    conn = sqlite3.connect(path)
    _insert_rows(conn, ["Legacy Alpha", "legacy beta", "new gamma"])  # indexed by 0012's triggers
    with conn:
        conn.execute("UPDATE assistants SET name = 'renamed gamma' WHERE name = 'new gamma'")
    conn.close()
    storage = await _open(path)  # applies 0013
    try:
        held, rebuilt = _index_and_rebuild(storage)
        assert held == rebuilt
        conn = storage._conn
        assert conn is not None
        # FTS5 keeps its settings in the file: segments are merged two at a time from now on.
        assert conn.execute(f"SELECT v FROM {FTS}_config WHERE k = 'automerge'").fetchone() == (2,)
        await _all_names_found(storage, ["legacy", "alpha", "gamma", "new gamma", "renamed"])
        page, _ = await storage.search_assistants(AssistantFilter(name="legacy"), Page(), "created_at", True)
        await storage.revise_assistant(
            page[0].assistant_id, lambda a: replace(a.snapshot, name="modern beta")
        )
        await storage.delete_assistant(page[1].assistant_id)
        await _all_names_found(storage, ["legacy", "alpha", "beta", "modern"])
        _flush(storage)
        held, rebuilt = _index_and_rebuild(storage)
        assert held == rebuilt
        await _all_names_found(storage, ["legacy", "alpha", "beta", "modern"])
    finally:
        await storage.close()


def test_the_flush_looks_each_noted_assistant_up_by_rowid(tmp_path: Path) -> None:
    # Without CROSS JOIN the planner (no statistics) walked every assistant per flush: at 100,000
    # assistants that was every 32nd write reading the whole name index.
    path = tmp_path / "flush.sqlite3"
    migrate(path)
    conn = sqlite3.connect(path)
    try:
        trigger = conn.execute(
            "SELECT sql FROM sqlite_schema WHERE name = ?", (f"{PENDING}_flush",)
        ).fetchone()[0]
        body = trigger.split(" BEGIN", 1)[1].rsplit("END", 1)[0]
        steps = [
            row[3]
            for statement in body.split(";")
            if statement.strip()
            for row in conn.execute("EXPLAIN QUERY PLAN " + statement)
        ]
    finally:
        conn.close()
    assert "SEARCH a USING INTEGER PRIMARY KEY (rowid=?)" in steps, steps
    assert not [step for step in steps if step.split(" ")[:2] in (["SCAN", "a"], ["SCAN", "assistants"])], (
        steps
    )

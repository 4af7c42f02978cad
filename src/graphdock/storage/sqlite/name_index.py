"""SQLite: when the FTS5 trigram index of names (migration 0012) may narrow a name search, and
which candidates it gives, with the names not yet in it (its pending list, migration 0013).

The search means `needle.lower() in name.lower()` (Python's lower(), as PostgreSQL's). The index
folds case itself, one character at a time with its own Unicode tables, and finds the names whose
folded text holds the folded needle. That is a superset of the matches wherever FTS5 folds a
character and its lower() alike, which holds for all but a few hundred characters (those Unicode
gave a lower case after FTS5's tables were made, Cherokee and Georgian among them, and "İ", whose
lower() is two characters). `fold_gaps` finds them by asking the linked SQLite, once per process,
so a newer SQLite or Python cannot silently lose matches; a needle that could meet one of them is
searched without the index.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from graphdock.storage.name_search import CANDIDATES, TRIGRAM, indexable
from graphdock.storage.sqlite.rows import icontains

FTS = "assistants_name_fts"
# The assistants whose name the index may not hold yet (migration 0013): a write notes its row
# there and the write that makes the PENDING_MAXth note moves them all into the index, so FTS5
# writes one segment per PENDING_MAX writes instead of one per write. The figure is in 0013's flush
# trigger; a search reads up to PENDING_MAX - 1 of these rows beside the index's.
PENDING = "assistant_name_pending"
PENDING_MAX = 32
# The most trigrams of a needle one search looks up: a longer needle narrows the candidates no
# further in practice, and its query stays bounded.
MAX_TRIGRAMS = 16


@functools.cache
def fold_gaps() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """(characters that keep a lowered needle off the index, {a needle's last character: the
    characters a name may hold in its place}).

    For a character c whose lower() FTS5 does not fold as it folds c: a match of a needle that
    covers any of lower(c) could be missed. When lower(c) is several characters and FTS5 folds
    its first like c ("İ" is "i" + U+0307), only a needle ending in that first character can
    meet it partially; such a needle is also asked with c in its last place.
    """
    changed = [
        chr(cp) for cp in range(1, 0x110000) if not 0xD800 <= cp <= 0xDFFF and chr(cp).lower() != chr(cp)
    ]
    chars = sorted(set(changed).union(*(c.lower() for c in changed)))
    fold = _fts5_fold(chars)

    def folded(text: str) -> str:
        return "".join(fold[c] for c in text)

    anywhere: set[str] = set()
    at_end: dict[str, set[str]] = {}
    for c in changed:
        lowered = c.lower()
        if folded(lowered) == fold[c]:
            continue
        if len(lowered) == 1:
            anywhere.add(lowered)
            continue
        anywhere.update(lowered[1:])
        if fold[lowered[0]] != fold[c]:
            at_end.setdefault(lowered[0], set()).add(c)
    return frozenset(anywhere), {end: frozenset(found) for end, found in at_end.items()}


def _fts5_fold(chars: list[str]) -> dict[str, str]:
    """How the linked SQLite's trigram tokenizer folds each of `chars`, read from its index."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE VIRTUAL TABLE t USING fts5 (x, tokenize = 'trigram')")
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, 'instance')")
        # One document per character, "qq" + c: its one trigram is "qq" + fold(c).
        conn.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)", [(ord(c), "qq" + c) for c in chars])
        return {chr(doc): term[2:] for doc, term in conn.execute("SELECT doc, term FROM v")}
    finally:
        conn.close()


def phrase(text: str) -> str:
    """`text` as one FTS5 phrase: quoted, so operators, `*`, `:` and parentheses are literal."""
    return '"' + text.replace('"', '""') + '"'


def clauses(needle: str | None) -> list[str] | None:
    """What the index is asked for a name filter: one FTS5 clause per trigram of the needle, every
    name containing `needle` holding all of them; or None: search without the index.

    Trigrams, not the needle as a phrase: a phrase is matched by walking every position of every
    candidate, so one long repetitive name ("x" * 100,000) made a 1,000-character needle take
    0.56 s; a trigram is one lookup however often a name repeats it. At most MAX_TRIGRAMS, the
    first distinct ones. Every name that holds the needle holds each trigram, so the candidates of
    any of these clauses are a superset of the matches, and the exact test decides."""
    if needle is None or not indexable(needle):
        return None
    lowered = needle.lower()
    anywhere, at_end = fold_gaps()
    if not anywhere.isdisjoint(lowered):
        return None
    trigrams = list(dict.fromkeys(lowered[i : i + TRIGRAM] for i in range(len(lowered) - TRIGRAM + 1)))
    found = [phrase(trigram) for trigram in trigrams[:MAX_TRIGRAMS]]
    last = lowered[-TRIGRAM:]
    alternatives = sorted(at_end.get(lowered[-1], ()))
    if alternatives and last in trigrams[:MAX_TRIGRAMS]:
        # A name may hold one of these characters where the needle ends (see fold_gaps).
        either = [phrase(last), *(phrase(last[:-1] + alternative) for alternative in alternatives)]
        found[trigrams.index(last)] = "(" + " OR ".join(either) + ")"
    return found


class IndexQuery(NamedTuple):
    """What a name search asks the index: its FTS5 query, and the most names that can match it
    (CANDIDATES + 1: not known)."""

    match: str
    at_most: int


def narrowest(asked: list[str], docs: list[int]) -> IndexQuery:
    """The query to ask of `asked`, the clauses of one needle, given how many names hold each
    (`docs`, capped at CANDIDATES + 1), and the most names it can find: the clauses each held by
    at most CANDIDATES names, or all of them when none is.

    FTS5 answers an AND by reading every clause's list of names, so a clause most names hold costs
    the search a pass over most of the index and rarely narrows a rare clause's names, which hold
    it too: for 'name 77' among "name 0" … "name 99999", "nam", "ame" and "me " are in every name
    and "e 7" in 11,111; asking them beside " 77" (1,111 names, all of them matches) made the
    index's answer take 0.44 ms instead of 0.06. When every clause is common, only their
    intersection can bring the candidates under CANDIDATES, so all are asked."""
    few = [(held, clause) for clause, held in zip(asked, docs, strict=True) if held <= CANDIDATES]
    if not few:
        return IndexQuery(" AND ".join(asked), CANDIDATES + 1)
    return IndexQuery(" AND ".join(clause for _, clause in few), min(held for held, _ in few))


# How many names the index finds for a query, counted up to CANDIDATES + 1.
_HELD = f"SELECT count(*) FROM (SELECT 1 FROM {FTS} WHERE {FTS} MATCH ? LIMIT {CANDIDATES + 1})"

# How long the counts of names holding each clause are kept, and how many: planner statistics.
# A count that is stale only costs time: it chooses among supersets of the matches (narrowest), and
# the candidates it promised are never cut short (see candidates), just sorted, more of them.
STATS_SECONDS = 60.0
STATS_MAX = 4096


class ClauseDocs:
    """How many names hold each clause, capped at CANDIDATES + 1, counted on first use and kept
    for STATS_SECONDS: counting a common clause reads CANDIDATES + 1 entries of the index
    (~0.09 ms), as much as the search that follows."""

    def __init__(self) -> None:
        self._docs: dict[str, int] = {}
        self._since = -STATS_SECONDS

    def clear(self) -> None:
        self._docs.clear()

    def query(self, c: sqlite3.Connection, asked: list[str]) -> IndexQuery:
        """narrowest(asked), counting the clauses not yet known."""
        now = time.monotonic()
        if now - self._since > STATS_SECONDS or len(self._docs) >= STATS_MAX:
            self._docs.clear()
            self._since = now
        missing = [clause for clause in dict.fromkeys(asked) if clause not in self._docs]
        if missing:
            found = c.execute("SELECT " + ", ".join([f"({_HELD})"] * len(missing)), missing).fetchone()
            self._docs.update(zip(missing, found, strict=True))
        return narrowest(asked, [self._docs[clause] for clause in asked])


@contextmanager
def candidates(
    c: sqlite3.Connection, needle: str, query: IndexQuery, where: tuple[str, list[Any]], order: str
) -> Iterator[Iterator[int] | None]:
    """The rowids of the assistants whose name holds `needle` among those the index finds for
    `query` (ClauseDocs.query) and the pending
    ones, that pass `where` (the search's other filters: a WHERE clause and its parameters), in
    `order`; None when the index finds more than CANDIDATES. Read on demand; closed on leaving
    the block.

    Only rowids and names are read and sorted, and each name tested in Python (rows.icontains) as
    it is reached: a page stops after its last row and reads just those rows, instead of every
    candidate's whole row and a call of the SQL function for each. The index is not asked with a
    LIMIT, which would cut a stale count's candidates short; when no count bounds them, they are
    counted first."""
    if query.at_most > CANDIDATES and c.execute(_HELD, (query.match,)).fetchone()[0] > CANDIDATES:
        yield None
        return
    clause, params = where
    rows = c.execute(
        "SELECT rowid, name FROM assistants WHERE rowid IN"
        f" (SELECT rowid FROM {FTS} WHERE {FTS} MATCH ? UNION ALL SELECT assistant FROM {PENDING})"
        + clause.replace(" WHERE ", " AND ", 1)
        + order,
        (query.match, *params),
    )
    try:
        yield (rowid for rowid, name in rows if icontains(name, needle))
    finally:
        rows.close()


def member_of(query: IndexQuery) -> tuple[str, list[Any]]:
    """A WHERE term: the row is among the index's candidates for `query` or the pending ones.

    For a walk in page order past many rows: the candidates are read once into a temporary index,
    and each walked row is looked up in it by the rowid that the sort's own index holds (the `+`
    keeps SQLite from reading the candidates by rowid instead), so only candidates' rows are read
    and tested. Reading every walked row was the walk's cost: for 'me 7' among 100,000 names
    "name 0" … "name 99999" (11,111 candidates, all older than the newest 20,000), 11 ms for a page
    of the newest 10, 3 ms this way."""
    return (
        f"+rowid IN (SELECT rowid FROM {FTS} WHERE {FTS} MATCH ? UNION ALL SELECT assistant FROM {PENDING})",
        [query.match],
    )

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

from graphdock.storage.name_search import CANDIDATES, TRIGRAM, indexable

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


def match_query(needle: str | None) -> str | None:
    """The FTS5 query that finds every name containing `needle`, or None: search without it.

    It asks for names holding each of the needle's trigrams (at most MAX_TRIGRAMS of them, the
    first distinct ones), not for the needle as a phrase: a phrase is matched by walking every
    position of every candidate, so one long repetitive name ("x" * 100,000) made a 1,000-character
    needle take 0.56 s; a trigram is one lookup however often a name repeats it. Every name that
    holds the needle holds each trigram, so the candidates are a superset either way, and the
    exact test decides."""
    if needle is None or not indexable(needle):
        return None
    lowered = needle.lower()
    anywhere, at_end = fold_gaps()
    if not anywhere.isdisjoint(lowered):
        return None
    trigrams = list(dict.fromkeys(lowered[i : i + TRIGRAM] for i in range(len(lowered) - TRIGRAM + 1)))
    clauses = [phrase(trigram) for trigram in trigrams[:MAX_TRIGRAMS]]
    last = lowered[-TRIGRAM:]
    alternatives = sorted(at_end.get(lowered[-1], ()))
    if alternatives and last in trigrams[:MAX_TRIGRAMS]:
        # A name may hold one of these characters where the needle ends (see fold_gaps).
        either = [phrase(last), *(phrase(last[:-1] + alternative) for alternative in alternatives)]
        clauses[trigrams.index(last)] = "(" + " OR ".join(either) + ")"
    return " AND ".join(clauses)


def candidates(c: sqlite3.Connection, query: str, needle: str) -> list[int] | None:
    """The rowids of the names the index finds for `query`, and of the pending names that hold
    `needle`; None when there are more than CANDIDATES (it reads at most one more from the index)."""
    found = c.execute(f"SELECT rowid FROM {FTS} WHERE {FTS} MATCH ? LIMIT ?", (query, CANDIDATES + 1))
    rowids = dict.fromkeys(row[0] for row in found)
    if len(rowids) > CANDIDATES:
        return None
    # The exact test, here rather than in the search's query: a pending name that does not hold
    # the needle costs a Python `in`, not a candidate's lookup and SQL function call.
    lowered = needle.lower()
    pending = c.execute(
        f"SELECT a.rowid, a.name FROM {PENDING} AS p CROSS JOIN assistants AS a ON a.rowid = p.assistant"
    )
    rowids.update((rowid, None) for rowid, name in pending if lowered in name.lower())
    return list(rowids) if len(rowids) <= CANDIDATES else None

"""Name search: when a trigram index can serve a name filter, and when its candidates are sorted.

Both backends keep one semantics, a case-insensitive substring (`lower()` on both sides), and
apply that exact predicate to whatever an index hands them; the index only narrows the rows.
"""

from __future__ import annotations

from graphdock.storage.records import Page, SortField

# A trigram index has nothing to look up for a shorter needle: those are matched by a scan.
TRIGRAM = 3

# A name filter with at most this many candidates is answered from the index: every candidate is
# read and the page sorted from them, whatever the names' order on disk. A needle matching more
# rows is searched by walking the rows in page order instead (as without the index), which fills a
# page after a few rows when its matches are that common; reading the first CANDIDATES + 1
# candidates is what decides, so a needle that common pays a bounded probe, not a full read of them.
# A needle common enough to fill the page from the head (below) never asks the index at all.
CANDIDATES = 2000

# Before the index is asked, the first rows in page order are tested (every filter applied): when
# they hold the whole page, so does the walk, and it has answered after reading them. That keeps
# a needle most names match ("bot", "agent") as cheap as without the index, where sorting its
# candidates would cost a millisecond or more; a rare needle pays those few rows on top of the
# index. HEAD rows per row the page needs (offset + limit + 1), at most HEAD_MAX.
HEAD = 8
HEAD_MAX = 256

# When the index holds more than CANDIDATES candidates, the first WIDE_HEAD rows in page order are
# tested next (at most ~1 ms on SQLite): a needle that common, spread through the names, fills the
# page there. Past them, the walk would test every row it meets, and the matches lie deeper.
WIDE_HEAD = 2000

# The sort orders an index of both schemas walks (migrations 0001): a head in another order
# (graph_id, case-folded) would sort the whole table, so it is not tried.
WALKABLE: frozenset[SortField] = frozenset({"assistant_id", "created_at", "updated_at", "name"})


def indexable(needle: str | None) -> bool:
    """Whether a name filter is long enough for a trigram index to narrow it."""
    return needle is not None and len(needle.lower()) >= TRIGRAM


def head_rows(page: Page, sort_by: SortField) -> int | None:
    """How many rows in page order may answer `page` before the index is asked, or None: too deep
    a page, or an order no index walks."""
    wanted = page.offset + page.limit + 1
    if sort_by not in WALKABLE or 2 * wanted > HEAD_MAX:
        return None
    return min(HEAD * wanted, HEAD_MAX)

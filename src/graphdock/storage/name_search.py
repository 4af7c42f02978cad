"""Name search: when a trigram index can serve a name filter, and when its candidates are sorted.

Both backends keep one semantics, a case-insensitive substring (`lower()` on both sides), and
apply that exact predicate to whatever an index hands them; the index only narrows the rows.
"""

from __future__ import annotations

# A trigram index has nothing to look up for a shorter needle: those are matched by a scan.
TRIGRAM = 3

# A name filter with at most this many candidates is answered from the index: every candidate is
# read and the page sorted from them, whatever the names' order on disk. A needle matching more
# rows is searched by walking the rows in page order instead (as without the index), which fills a
# page after a few rows when its matches are that common; reading the first CANDIDATES + 1
# candidates is what decides, so a common needle pays a bounded probe, not a full read of them.
CANDIDATES = 2000


def indexable(needle: str | None) -> bool:
    """Whether a name filter is long enough for a trigram index to narrow it."""
    return needle is not None and len(needle.lower()) >= TRIGRAM

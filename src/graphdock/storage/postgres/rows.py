"""PostgreSQL rows ↔ records: column lists, parameters, timestamps, search filters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from graphdock.storage.columns import ASSISTANT, SNAPSHOT, qualified
from graphdock.storage.name_search import CANDIDATES, head_rows, indexable
from graphdock.storage.records import (
    Assistant,
    AssistantFilter,
    AssistantVersion,
    Change,
    Page,
    Snapshot,
    SortField,
)
from graphdock.storage.visibility import postgres_sql

SORT_SQL: dict[str, str] = {
    "assistant_id": "assistant_id",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "name": "lower(name)",
    "graph_id": "lower(graph_id)",
}


def snapshot_params(s: Snapshot) -> tuple[Any, ...]:
    return (s.graph_id, Jsonb(s.config), Jsonb(s.context), Jsonb(s.metadata), s.name, s.description)


def version_params(
    assistant_id: str, version: int, s: Snapshot, created_at: str, change: Change
) -> tuple[Any, ...]:
    """In VERSION's column order."""
    return (
        assistant_id,
        *snapshot_params(s),
        version,
        created_at,
        change.kind,
        change.by,
        change.restored_from,
    )


def timestamp(moment: datetime) -> str:
    # The same fixed-width UTC text SQLite stores, so both backends answer identically.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# The read side of ASSISTANT and VERSION: the id and the timestamps come as the text the API
# sends. PostgreSQL writes that text for less CPU than Python spends parsing a UUID and two
# datetimes and formatting them back (~3.5 µs a row: a third of a search page's row mapping);
# to_char is exact to the microsecond, the same text timestamp() makes. `t` qualifies the columns
# ("a." for a CTE named a). The id's output column keeps its name (assistant_id): a statement that
# sorts on the id must qualify it, or it sorts the text.
_ISO = """'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'"""


def iso(column: str) -> str:
    return f"to_char({column} AT TIME ZONE 'UTC', {_ISO})"


def assistant_read(t: str = "") -> str:
    """ASSISTANT as to_assistant reads it."""
    return (
        f"{t}assistant_id::text, {qualified(t, SNAPSHOT)}, {t}version,"
        f" {iso(t + 'created_at')}, {iso(t + 'updated_at')}"
    )


def active_read(t: str = "") -> str:
    """The active row as the writes read it: assistant_read(), then last_version."""
    return f"{assistant_read(t)}, {t}last_version"


def version_read(t: str = "") -> str:
    """VERSION as to_version reads it."""
    return (
        f"{t}assistant_id::text, {qualified(t, SNAPSHOT)}, {t}version, {iso(t + 'created_at')},"
        f" {t}change, {t}changed_by, {t}restored_from"
    )


def to_snapshot(row: Sequence[Any]) -> Snapshot:
    return Snapshot(row[1], row[2], row[3], row[4], row[5], row[6])


def to_assistant(row: Sequence[Any]) -> Assistant:
    """A row of assistant_read()."""
    return Assistant(row[0], row[7], to_snapshot(row), row[8], row[9])


def to_version(row: Sequence[Any]) -> AssistantVersion:
    """A row of version_read()."""
    return AssistantVersion(row[0], row[7], to_snapshot(row), row[8], Change(row[9], row[10], row[11]))


def order_sql(sort_by: SortField, descending: bool, t: str = "") -> str:
    """A search's ORDER BY, on the columns of `t` (qualified: the id's read column is text)."""
    direction = "DESC" if descending else "ASC"
    sort = SORT_SQL[sort_by].replace("(", f"({t}") if "(" in SORT_SQL[sort_by] else t + SORT_SQL[sort_by]
    return f" ORDER BY {sort} {direction}, {t}assistant_id {direction}"


def where_sql(where: AssistantFilter) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    if where.graph_id is not None:
        parts.append("graph_id = %s")
        params.append(where.graph_id)
    if where.name:
        # lower() on both sides, as the SQLite backend does: "ß" is not folded into "ss". LIKE,
        # not strpos, so the trigram index (migration 0005) can serve it; the pattern is escaped.
        parts.append("lower(name) LIKE '%%' || lower(%s) || '%%'")
        params.append(where.name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"))
    if where.metadata:
        parts.append("metadata @> %s")  # served by the GIN index
        params.append(Jsonb(where.metadata))
    if where.visible is not None:
        clause, more = postgres_sql(where.visible)
        parts.append(clause)
        params += more
    return (" WHERE " + " AND ".join(parts) if parts else ""), params


# A search page's columns: the version tallies ride with the row (migration 0014).
_PAGE = f"{ASSISTANT}, last_version, version_count"


def search_sql(
    where: AssistantFilter, sort_by: SortField, descending: bool, page: Page, *, name_trigrams: bool
) -> tuple[str, list[Any]]:
    """The statement of a search page. `name_trigrams`: whether the pg_trgm index of names exists.

    A name filter the index can serve reads the index's matches first: the planner, left to
    itself, walks the sort order's index and tests every row, estimating that matches are spread
    evenly; names made in sequence ("bot 1", "bot 2", ...) are not, and at 100,000 assistants it
    walked 22,000 rows for 11. Here at most CANDIDATES + 1 matches are read (a MATERIALIZED CTE,
    a fence the planner cannot see through); with no more than CANDIDATES the page is sorted from
    them, otherwise the walk runs as before (it fills a page fast when that many rows match).

    Before that, the page's head (name_search.head_rows: the first rows in page order) is read:
    when it holds the page, the page is answered from it and the index is never read; a needle
    most names hold would otherwise pay a bitmap scan of a trigram every row has. `way` decides
    once, in that order (a CASE asks its second question only when the first fails), and gates the
    three branches (head, index, walk), so only one runs.

    The page's rows are the table's columns (ASSISTANT, last_version, version_count), which the
    caller reads through assistant_read().
    """
    clause, params = where_sql(where)
    order = order_sql(sort_by, descending)
    # One row more than asked tells whether another page follows, without a count.
    bounds = [page.limit + 1, page.offset]
    if not (name_trigrams and indexable(where.name)):
        return f"SELECT {_PAGE} FROM assistants{clause}{order} LIMIT %s OFFSET %s", [*params, *bounds]
    head = head_rows(page, sort_by)
    wanted = page.offset + page.limit + 1
    # The page's head: its first `wanted` matches among the first `head` rows in page order. The
    # subquery's order carries to the outer ORDER BY (no sort): the LIMIT stops at the last match.
    heads = (
        f"SELECT {_PAGE} FROM assistants LIMIT 0"  # no head: the page is too deep, or no index orders it
        if head is None
        else f"SELECT * FROM (SELECT {_PAGE} FROM assistants{order} LIMIT {head}) AS assistants"
        f"{clause}{order} LIMIT {wanted}"
    )
    sql = (
        f"WITH head AS MATERIALIZED ({heads}),"
        f" hits AS MATERIALIZED (SELECT {_PAGE} FROM assistants{clause} LIMIT {CANDIDATES + 1}),"
        f" way AS MATERIALIZED (SELECT CASE WHEN (SELECT count(*) FROM head) = {wanted} THEN 'head'"
        f" WHEN (SELECT count(*) FROM hits) <= {CANDIDATES} THEN 'index' ELSE 'walk' END AS way)"
        " SELECT * FROM ("
        f"(SELECT * FROM head WHERE (SELECT way FROM way) = 'head'{order} LIMIT %s OFFSET %s)"
        " UNION ALL "
        f"(SELECT * FROM hits WHERE (SELECT way FROM way) = 'index'{order} LIMIT %s OFFSET %s)"
        " UNION ALL "
        f"(SELECT {_PAGE} FROM assistants{clause} AND (SELECT way FROM way) = 'walk'{order}"
        " LIMIT %s OFFSET %s)"
        f") AS page{order}"
    )
    head_params = [] if head is None else params
    return sql, [*head_params, *params, *bounds, *bounds, *params, *bounds]

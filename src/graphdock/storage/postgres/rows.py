"""PostgreSQL rows ↔ records: column lists, parameters, timestamps, search filters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from graphdock.storage.columns import ASSISTANT
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


def to_snapshot(row: Sequence[Any]) -> Snapshot:
    return Snapshot(row[1], row[2], row[3], row[4], row[5], row[6])


def to_assistant(row: Sequence[Any]) -> Assistant:
    return Assistant(str(row[0]), row[7], to_snapshot(row), timestamp(row[8]), timestamp(row[9]))


def to_version(row: Sequence[Any]) -> AssistantVersion:
    return AssistantVersion(
        str(row[0]), row[7], to_snapshot(row), timestamp(row[8]), Change(row[9], row[10], row[11])
    )


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
    """
    clause, params = where_sql(where)
    direction = "DESC" if descending else "ASC"
    order = f" ORDER BY {SORT_SQL[sort_by]} {direction}, assistant_id {direction}"
    # One row more than asked tells whether another page follows, without a count.
    bounds = [page.limit + 1, page.offset]
    if not (name_trigrams and indexable(where.name)):
        return f"SELECT {ASSISTANT} FROM assistants{clause}{order} LIMIT %s OFFSET %s", [*params, *bounds]
    head = head_rows(page, sort_by)
    wanted = page.offset + page.limit + 1
    # The page's head: its first `wanted` matches among the first `head` rows in page order. The
    # subquery's order carries to the outer ORDER BY (no sort): the LIMIT stops at the last match.
    heads = (
        f"SELECT {ASSISTANT} FROM assistants LIMIT 0"  # no head: the page is too deep, or no index orders it
        if head is None
        else f"SELECT * FROM (SELECT {ASSISTANT} FROM assistants{order} LIMIT {head}) AS assistants"
        f"{clause}{order} LIMIT {wanted}"
    )
    sql = (
        f"WITH head AS MATERIALIZED ({heads}),"
        f" hits AS MATERIALIZED (SELECT {ASSISTANT} FROM assistants{clause} LIMIT {CANDIDATES + 1}),"
        f" way AS MATERIALIZED (SELECT CASE WHEN (SELECT count(*) FROM head) = {wanted} THEN 'head'"
        f" WHEN (SELECT count(*) FROM hits) <= {CANDIDATES} THEN 'index' ELSE 'walk' END AS way)"
        " SELECT * FROM ("
        f"(SELECT * FROM head WHERE (SELECT way FROM way) = 'head'{order} LIMIT %s OFFSET %s)"
        " UNION ALL "
        f"(SELECT * FROM hits WHERE (SELECT way FROM way) = 'index'{order} LIMIT %s OFFSET %s)"
        " UNION ALL "
        f"(SELECT {ASSISTANT} FROM assistants{clause} AND (SELECT way FROM way) = 'walk'{order}"
        " LIMIT %s OFFSET %s)"
        f") AS page{order}"
    )
    head_params = [] if head is None else params
    return sql, [*head_params, *params, *bounds, *bounds, *params, *bounds]

"""SQLite rows ↔ records: column lists, (de)serialisation, the metadata index, search filters."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from graphdock.storage.containment import contains, index_entries, needs_exact_check, query_entries
from graphdock.storage.records import Assistant, AssistantFilter, AssistantVersion, Change, Snapshot
from graphdock.storage.visibility import sqlite_allows, sqlite_sql

VERSION_PLACEHOLDERS = ",".join("?" * 12)
SORT_SQL: dict[str, str] = {
    "assistant_id": "assistant_id",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "name": "name COLLATE NOCASE",
    "graph_id": "graph_id COLLATE NOCASE",
}


def snapshot_params(s: Snapshot) -> tuple[Any, ...]:
    dumps = orjson.dumps
    return (
        s.graph_id,
        dumps(s.config).decode(),
        dumps(s.context).decode(),
        dumps(s.metadata).decode(),
        s.name,
        s.description,
    )


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


def to_snapshot(row: Sequence[Any]) -> Snapshot:
    loads = orjson.loads
    return Snapshot(row[1], loads(row[2]), loads(row[3]), loads(row[4]), row[5], row[6])


def to_assistant(row: Sequence[Any]) -> Assistant:
    return Assistant(row[0], row[7], to_snapshot(row), row[8], row[9])


def to_version(row: Sequence[Any]) -> AssistantVersion:
    return AssistantVersion(row[0], row[7], to_snapshot(row), row[8], Change(row[9], row[10], row[11]))


def index_metadata(c: sqlite3.Connection, assistant_id: str, metadata: dict[str, Any]) -> None:
    c.execute("DELETE FROM assistant_metadata WHERE assistant_id = ?", (assistant_id,))
    c.executemany(
        "INSERT INTO assistant_metadata (assistant_id, key, value) VALUES (?,?,?)",
        [(assistant_id, path, value) for path, value in index_entries(metadata)],
    )


def json_changed(new: dict[str, Any], old: dict[str, Any]) -> bool:
    # Compared as JSON, not with ==: Python says True == 1, JSON (and the index) do not.
    return orjson.dumps(new) != orjson.dumps(old)


def where_sql(where: AssistantFilter, *, in_sort_order: bool = False) -> tuple[str, list[Any]]:
    """The WHERE clause of a search or count.

    `in_sort_order`: walk the assistants in the page's order and test each against the metadata
    index, instead of starting from the index's matches and sorting them all. Faster when the
    matches are many (the page fills after a few rows); `prefer_sort_order` decides.
    """
    parts: list[str] = []
    params: list[Any] = []
    if where.graph_id is not None:
        parts.append("graph_id = ?")
        params.append(where.graph_id)
    if where.name:
        parts.append("gd_icontains(name, ?)")
        params.append(where.name)
    for path, value in sorted(query_entries(where.metadata)):
        # Every leaf of the query narrows through the index, at any depth.
        if in_sort_order:
            # One primary-key probe per assistant walked; nothing is materialised up front.
            parts.append(
                "EXISTS (SELECT 1 FROM assistant_metadata m WHERE m.key = ? AND m.value = ?"
                " AND m.assistant_id = assistants.assistant_id)"
            )
        else:
            parts.append(
                "assistant_id IN (SELECT assistant_id FROM assistant_metadata WHERE key = ? AND value = ?)"
            )
        params += [path, value]
    if needs_exact_check(where.metadata):
        parts.append("gd_contains(metadata, ?)")
        params.append(orjson.dumps(where.metadata).decode())
    if where.visible is not None:
        clause, more = sqlite_sql(where.visible)
        parts.append(clause)
        params += more
    return (" WHERE " + " AND ".join(parts) if parts else ""), params


def prefer_sort_order(c: sqlite3.Connection, where: AssistantFilter, wanted: int) -> bool:
    """Whether walking in page order beats sorting the metadata matches, for `wanted` rows.

    Walking reads about wanted * total / matches rows, one cheap probe each; sorting reads and
    sorts every match, several times dearer per row. Both figures come from indexes: the rarest
    looked-up entry's matches, and the table's highest rowid.
    """
    entries = query_entries(where.metadata)
    if not entries:
        return False
    matches: int = min(
        c.execute("SELECT count(*) FROM assistant_metadata WHERE key = ? AND value = ?", entry).fetchone()[0]
        for entry in entries
    )
    total: int = c.execute("SELECT max(rowid) FROM assistants").fetchone()[0] or 0
    return matches > 0 and wanted * total / matches < 4 * matches


def register_functions(conn: sqlite3.Connection) -> None:
    """SQL functions the filters above use: jsonb-style containment, case-insensitive substring."""
    conn.create_function("gd_contains", 2, _sql_contains, deterministic=True)
    conn.create_function("gd_icontains", 2, icontains, deterministic=True)
    # What an auth handler's filter lets a user see (storage/visibility.py).
    conn.create_function("gd_visible", 2, sqlite_allows, deterministic=True)


def _sql_contains(target: str, query: str) -> bool:
    return contains(orjson.loads(target), orjson.loads(query))


def icontains(text: str, needle: str) -> bool:
    """The name filter's one meaning, in SQL (gd_icontains) and on the name index's candidates."""
    # lower(), not casefold(): PostgreSQL's ILIKE does not fold "ß" into "ss", and the backends agree.
    return needle.lower() in text.lower()

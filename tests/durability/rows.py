"""The crash test's view of storage: the assistants' rows read straight from the database file or
server, beside the API, so a half-write the API would paper over is still seen."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

import psycopg

from tests.durability.model import Snapshot, Stored

_COLUMNS = "assistant_id, graph_id, config, context, metadata, name, description, version"


def read(database_url: str, assistant_ids: Iterable[str]) -> tuple[dict[str, Stored | None], list[str]]:
    """Each assistant as stored (None: no row), and the rows that break graphdock's invariants:
    an active row that differs from its active version, a version with no assistant row, a
    version numbered above last_version (a number that would be given again)."""
    active, versions = _rows(database_url)
    problems = [f"{aid}: version rows without an assistant row" for aid in versions if aid not in active]
    stored: dict[str, Stored | None] = {}
    for aid in assistant_ids:
        row = active.get(aid)
        if row is None:
            stored[aid] = None
            continue
        mine = {number: Snapshot.of(v) for number, v in versions.get(aid, {}).items()}
        number, last = row["version"], row["last_version"]
        if mine.get(number) != Snapshot.of(row):
            problems.append(
                f"{aid}: the active row (v{number}) {row} differs from its version {mine.get(number)}"
            )
        if any(n > last or n < 1 for n in mine):
            problems.append(f"{aid}: versions {sorted(mine)} outside 1..last_version={last}")
        stored[aid] = Stored(mine, number, last)
    return stored, problems


Rows = dict[str, dict[str, Any]]


def _rows(database_url: str) -> tuple[Rows, dict[str, Rows]]:
    assistants = f"SELECT {_COLUMNS}, last_version FROM assistants"
    versions = f"SELECT {_COLUMNS} FROM assistant_versions"
    if database_url.startswith("sqlite:///"):
        # Read-only, beside the server (WAL lets it keep running), JSON decoded as the server does.
        path = database_url.removeprefix("sqlite:///")
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            conn.row_factory = sqlite3.Row
            raw_active = [dict(r) for r in conn.execute(assistants)]
            raw_versions = [dict(r) for r in conn.execute(versions)]
        for row in (*raw_active, *raw_versions):
            for key in ("config", "context", "metadata"):
                row[key] = json.loads(row[key])
    else:
        with psycopg.connect(database_url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            raw_active = list(cur.execute(assistants))  # jsonb arrives decoded, uuid as UUID
            raw_versions = list(cur.execute(versions))
    by_version: dict[str, Rows] = {}
    for row in raw_versions:
        by_version.setdefault(str(row["assistant_id"]), {})[row["version"]] = row
    return {str(r["assistant_id"]): r for r in raw_active}, by_version

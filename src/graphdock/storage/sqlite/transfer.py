"""Export and import of whole assistant histories on SQLite (one transaction per batch)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from graphdock.storage.base import Decide, ImportReport
from graphdock.storage.columns import ASSISTANT, VERSION
from graphdock.storage.importing import refuse_conflicts, report
from graphdock.storage.records import AssistantHistory, Page
from graphdock.storage.sqlite.rows import (
    VERSION_PLACEHOLDERS,
    index_metadata,
    snapshot_params,
    to_assistant,
    to_version,
    version_params,
)


def export_histories(
    c: sqlite3.Connection, assistant_ids: Sequence[str] | None, page: Page
) -> tuple[list[AssistantHistory], bool]:
    where = ""
    params: list[object] = []
    if assistant_ids is not None:
        where = f" WHERE assistant_id IN ({','.join('?' * len(assistant_ids))})"
        params = list(assistant_ids)
    rows = c.execute(
        f"SELECT {ASSISTANT}, last_version FROM assistants{where}"
        " ORDER BY created_at, assistant_id LIMIT ? OFFSET ?",
        (*params, page.limit + 1, page.offset),
    ).fetchall()
    return [_history(c, row) for row in rows[: page.limit]], len(rows) > page.limit


def find_history(c: sqlite3.Connection, assistant_id: str) -> AssistantHistory | None:
    row = c.execute(
        f"SELECT {ASSISTANT}, last_version FROM assistants WHERE assistant_id = ?", (assistant_id,)
    ).fetchone()
    return None if row is None else _history(c, row)


def import_histories(
    c: sqlite3.Connection, histories: Sequence[AssistantHistory], *, dry_run: bool, decide: Decide
) -> ImportReport:
    plan = [
        (history, decide(find_history(c, history.assistant.assistant_id), history)) for history in histories
    ]
    refuse_conflicts(plan)
    if not dry_run:
        for history, outcome in plan:
            if outcome == "replace":
                c.execute("DELETE FROM assistants WHERE assistant_id = ?", (history.assistant.assistant_id,))
            if outcome in ("create", "replace"):
                _insert(c, history)
    return report(plan)


def _history(c: sqlite3.Connection, row: Sequence[object]) -> AssistantHistory:
    assistant = to_assistant(row)
    versions = c.execute(
        f"SELECT {VERSION} FROM assistant_versions WHERE assistant_id = ? ORDER BY version",
        (assistant.assistant_id,),
    ).fetchall()
    last_version = row[-1]
    assert isinstance(last_version, int)
    return AssistantHistory(assistant, last_version, tuple(to_version(v) for v in versions))


def _insert(c: sqlite3.Connection, history: AssistantHistory) -> None:
    a = history.assistant
    c.execute(
        f"INSERT INTO assistants ({ASSISTANT}, last_version) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            a.assistant_id,
            *snapshot_params(a.snapshot),
            a.version,
            a.created_at,
            a.updated_at,
            history.last_version,
        ),
    )
    c.executemany(
        f"INSERT INTO assistant_versions ({VERSION}) VALUES ({VERSION_PLACEHOLDERS})",
        [
            version_params(v.assistant_id, v.version, v.snapshot, v.created_at, v.change)
            for v in history.versions
        ],
    )
    index_metadata(c, a.assistant_id, a.snapshot.metadata)

"""Export and import of whole assistant histories on PostgreSQL (one transaction per batch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from graphdock.storage.base import Decide, ImportReport
from graphdock.storage.columns import ASSISTANT, VERSION
from graphdock.storage.importing import refuse_conflicts, report
from graphdock.storage.postgres.rows import (
    active_read,
    snapshot_params,
    to_assistant,
    to_version,
    version_params,
    version_read,
)
from graphdock.storage.records import AssistantHistory, Page

Conn = psycopg.AsyncConnection[tuple[Any, ...]]


async def export_histories(
    c: Conn, assistant_ids: Sequence[str] | None, page: Page
) -> tuple[list[AssistantHistory], bool]:
    where, params = (
        ("", [])
        if assistant_ids is None
        else (" WHERE a.assistant_id = ANY(%s::uuid[])", [list(assistant_ids)])
    )
    rows = await (
        await c.execute(
            f"SELECT {active_read('a.')} FROM assistants a{where}"
            " ORDER BY a.created_at, a.assistant_id LIMIT %s OFFSET %s",
            (*params, page.limit + 1, page.offset),
        )
    ).fetchall()
    return [await _history(c, row) for row in rows[: page.limit]], len(rows) > page.limit


async def import_histories(
    c: Conn, histories: Sequence[AssistantHistory], *, dry_run: bool, decide: Decide
) -> ImportReport:
    plan = []
    for history in histories:
        row = await (
            await c.execute(
                f"SELECT {active_read()} FROM assistants WHERE assistant_id = %s FOR UPDATE",
                (history.assistant.assistant_id,),
            )
        ).fetchone()
        stored = None if row is None else await _history(c, row)
        plan.append((history, decide(stored, history)))
    refuse_conflicts(plan)
    if not dry_run:
        for history, outcome in plan:
            if outcome == "replace":
                await c.execute(
                    "DELETE FROM assistants WHERE assistant_id = %s", (history.assistant.assistant_id,)
                )
            if outcome in ("create", "replace"):
                await _insert(c, history)
    return report(plan)


async def _history(c: Conn, row: Sequence[Any]) -> AssistantHistory:
    assistant = to_assistant(row)
    versions = await (
        await c.execute(
            f"SELECT {version_read()} FROM assistant_versions WHERE assistant_id = %s ORDER BY version",
            (assistant.assistant_id,),
        )
    ).fetchall()
    return AssistantHistory(assistant, int(row[-1]), tuple(to_version(v) for v in versions))


async def _insert(c: Conn, history: AssistantHistory) -> None:
    a = history.assistant
    await c.execute(
        f"INSERT INTO assistants ({ASSISTANT}, last_version, version_count)"
        " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
        (
            a.assistant_id,
            *snapshot_params(a.snapshot),
            a.version,
            a.created_at,
            a.updated_at,
            history.last_version,
            len(history.versions),
        ),
    )
    async with c.cursor() as cur:
        await cur.executemany(
            f"INSERT INTO assistant_versions ({VERSION}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            [
                version_params(v.assistant_id, v.version, v.snapshot, v.created_at, v.change)
                for v in history.versions
            ],
        )

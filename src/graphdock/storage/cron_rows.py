"""Cron rows ↔ records, for both SQL backends (each brings its own JSON and time codecs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from graphdock.storage.crons import Cron

Codec = Callable[[Any], Any]


def cron_from_row(row: Sequence[Any], *, json: Codec, time: Callable[[Any], str]) -> Cron:
    return Cron(
        cron_id=row[0],
        assistant_id=row[1],
        thread_id=row[2],
        schedule=row[3],
        timezone=row[4],
        end_time=time(row[5]) if row[5] is not None else None,
        enabled=bool(row[6]),
        on_run_completed=row[7],
        payload=json(row[8]),
        metadata=json(row[9]),
        next_run_date=time(row[10]) if row[10] is not None else None,
        created_at=time(row[11]),
        updated_at=time(row[12]),
        user_id=row[13],
    )


def cron_params(cron: Cron, *, json: Codec) -> tuple[Any, ...]:
    """In CRON's column order."""
    return (
        cron.cron_id,
        cron.assistant_id,
        cron.thread_id,
        cron.schedule,
        cron.timezone,
        cron.end_time,
        cron.enabled,
        cron.on_run_completed,
        json(cron.payload),
        json(cron.metadata),
        cron.next_run_date,
        cron.created_at,
        cron.updated_at,
        cron.user_id,
    )


# Sort keys; every order ends with cron_id so pages never overlap.
CRON_SORT: dict[str, str] = {
    "cron_id": "cron_id",
    "assistant_id": "assistant_id",
    "thread_id": "thread_id",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "next_run_date": "next_run_date",
    "end_time": "end_time",
}

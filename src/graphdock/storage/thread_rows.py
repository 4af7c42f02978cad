"""Thread and run rows ↔ records, for both SQL backends (each brings its own JSON and time codecs).

SQLite hands back JSON as text and times as text; PostgreSQL hands back parsed jsonb and
datetimes. The column order (storage/columns.py) and the mapping are the same, so they live here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from graphdock.storage.threads import Run, Thread

Codec = Callable[[Any], Any]


def thread_from_row(row: Sequence[Any], *, json: Codec, time: Callable[[Any], str]) -> Thread:
    return Thread(
        thread_id=row[0],
        created_at=time(row[1]),
        updated_at=time(row[2]),
        metadata=json(row[3]),
        status=row[4],
        values=json(row[5]) if row[5] is not None else None,
        interrupts=json(row[6]),
    )


def run_from_row(row: Sequence[Any], *, json: Codec, time: Callable[[Any], str]) -> Run:
    return Run(
        run_id=row[0],
        thread_id=row[1],
        assistant_id=row[2],
        created_at=time(row[3]),
        updated_at=time(row[4]),
        status=row[5],
        metadata=json(row[6]),
        multitask_strategy=row[7],
        kwargs=json(row[8]),
        pinned_version=row[9],
        assistant_version=row[10],
        error=json(row[11]) if row[11] else None,
        temporary=bool(row[12]),
        not_before=time(row[13]) if row[13] is not None else None,
        attempt=row[14],
    )


def run_params(run: Run, *, json: Codec) -> tuple[Any, ...]:
    """In RUN's column order; `json` turns a value into what the driver stores as JSON."""
    return (
        run.run_id,
        run.thread_id,
        run.assistant_id,
        run.created_at,
        run.updated_at,
        run.status,
        json(run.metadata),
        run.multitask_strategy,
        json(run.kwargs),
        run.pinned_version,
        run.assistant_version,
        json(run.error) if run.error else None,
        run.temporary,
        run.not_before,
        run.attempt,
    )

"""Threads and runs on SQLite: the rows, and the run queue, applying the domain's run rules at write time.

The queue is the runs table itself: a run is claimed by flipping it from pending to running in
one statement (by a worker), or inserted already running by the transaction that creates it when
the same rule would have the claim take it; and a thread's next run is only claimable once nothing
runs on that thread, which is how "one active run per thread" holds without any lock held across a run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, Literal, Protocol

import orjson

from graphdock.errors import Conflict
from graphdock.storage.base import Admit, AfterRun, run_not_found, thread_not_found
from graphdock.storage.columns import RUN, RUN_COUNT, THREAD, VERSION_AT_CLAIM
from graphdock.storage.records import Json, Page, utc_now
from graphdock.storage.retention import ThreadTtl
from graphdock.storage.sqlite.retention import write_ttl
from graphdock.storage.thread_rows import run_from_row, run_params, thread_from_row
from graphdock.storage.threads import (
    ExpiredLeases,
    Lease,
    NewThread,
    Run,
    RunQueue,
    RunStatus,
    Thread,
    ThreadFilter,
    ThreadOutcome,
    ThreadSortField,
    ThreadStatus,
)
from graphdock.storage.visibility import Visibility, require_within, sqlite_sql

_RUN_PLACEHOLDERS = ",".join("?" * RUN_COUNT)
_VERSION_AT_CLAIM = VERSION_AT_CLAIM.format(
    pinned="pinned_version", earlier="assistant_version", run_assistant="runs.assistant_id"
)
# The queue's partial index (runs_active) serves a query only if the query repeats the index's
# condition: SQLite does not infer `status IN ('pending', 'running')` from `status = 'pending'`,
# and without it every claim, and every look at the queue, read the whole runs table.
_QUEUED = "r.status IN ('pending', 'running') AND r.status = 'pending'"
# A pending run `r` a claim may take: due by `now`, and nothing running on its thread. Param: (now,).
_CLAIMABLE = (
    f"{_QUEUED} AND (r.not_before IS NULL OR r.not_before <= ?)"
    " AND NOT EXISTS (SELECT 1 FROM runs x WHERE x.thread_id = r.thread_id AND x.status = 'running')"
)
# The run a claim takes: the oldest claimable one. Param: (now,).
_NEXT = f"SELECT r.run_id FROM runs r WHERE {_CLAIMABLE} ORDER BY r.created_at, r.rowid LIMIT 1"
# The claim: that run marked running under a lease with the version it executes.
# Params: (now, worker_id, lease until, now).
_CLAIM = (
    "UPDATE runs SET status = 'running', updated_at = ?, attempt = attempt + 1, worker_id = ?,"
    f" lease_expires_at = ?, assistant_version = {_VERSION_AT_CLAIM} WHERE run_id = ({_NEXT})"
)
# For a run about to be inserted (so last by rowid), created at `created_at`: whether a claimable
# run is ahead of it (one as old or older), and the version a claim would record for it.
# Params: (now, created_at, pinned_version, assistant_version, assistant_id).
_AHEAD = (
    f"SELECT EXISTS (SELECT 1 FROM runs r WHERE {_CLAIMABLE} AND r.created_at <= ?),"
    + VERSION_AT_CLAIM.format(pinned="?", earlier="?", run_assistant="?")
)
# A run inserted already claimed (as _CLAIM would leave it): _AHEAD and this insert take half the
# time of inserting it pending, then claiming it with _CLAIM ... RETURNING, which also rewrote the
# row and moved it between the indexes on status.
_INSERT_CLAIMED = f"INSERT INTO runs ({RUN}, worker_id, lease_expires_at) VALUES ({_RUN_PLACEHOLDERS}, ?, ?)"


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _text(value: str) -> str:
    return value


class _Connected(Protocol):
    def _write(
        self, mode: Literal["IMMEDIATE", "DEFERRED"] = ...
    ) -> AbstractContextManager[sqlite3.Connection]: ...
    def _read(self) -> AbstractContextManager[sqlite3.Connection]: ...


class SqliteThreads:
    """Mixed into SqliteStorage, whose connection and transaction helpers it uses."""

    # -- threads ----------------------------------------------------------------------------------

    async def create_thread(
        self: _Connected,
        thread_id: str,
        metadata: Json,
        if_exists: Literal["raise", "do_nothing"],
        *,
        visible: Visibility | None = None,
        ttl: ThreadTtl | None = None,
    ) -> Thread:
        with self._write() as c:
            if not _insert_thread(c, thread_id, metadata):
                existing = _thread(c, thread_id)
                if if_exists == "raise" or (visible is not None and not visible.allows(existing.metadata)):
                    raise Conflict(f"Thread {thread_id} already exists")
            elif ttl is not None:
                write_ttl(c, thread_id, ttl)
            return _thread(c, thread_id)

    async def get_thread(self: _Connected, thread_id: str, *, visible: Visibility | None = None) -> Thread:
        with self._read() as c:
            return _thread(c, thread_id, visible)

    async def update_thread(
        self: _Connected,
        thread_id: str,
        metadata: Json,
        *,
        visible: Visibility | None = None,
        ttl: ThreadTtl | None = None,
    ) -> Thread:
        with self._write() as c:
            current = _thread(c, thread_id, visible)
            merged = {**current.metadata, **metadata}
            require_within(merged, visible)
            c.execute(
                "UPDATE threads SET metadata = ?, updated_at = ? WHERE thread_id = ?",
                (_json_text(merged), utc_now(), thread_id),
            )
            if ttl is not None:
                write_ttl(c, thread_id, ttl)
            return _thread(c, thread_id)

    async def delete_thread(self: _Connected, thread_id: str, *, visible: Visibility | None = None) -> None:
        with self._write() as c:
            if visible is not None:
                _thread(c, thread_id, visible)
            if not c.execute("DELETE FROM threads WHERE thread_id = ?", (thread_id,)).rowcount:
                raise thread_not_found(thread_id)

    async def search_threads(
        self: _Connected, where: ThreadFilter, page: Page, sort_by: ThreadSortField, descending: bool
    ) -> tuple[list[Thread], bool]:
        sql, params = _thread_where(where)
        order = "DESC" if descending else "ASC"
        with self._read() as c:
            rows = c.execute(
                f"SELECT {THREAD} FROM threads {sql} ORDER BY {sort_by} {order}, thread_id {order}"
                " LIMIT ? OFFSET ?",
                (*params, page.limit + 1, page.offset),
            ).fetchall()
        return [_thread_row(r) for r in rows[: page.limit]], len(rows) > page.limit

    async def count_threads(self: _Connected, where: ThreadFilter) -> int:
        sql, params = _thread_where(where)
        with self._read() as c:
            count: int = c.execute(f"SELECT count(*) FROM threads {sql}", params).fetchone()[0]
            return count

    async def set_thread_state(self: _Connected, thread_id: str, outcome: ThreadOutcome) -> Thread:
        with self._write() as c:
            current = _thread(c, thread_id)
            status = "busy" if current.status == "busy" else outcome.status
            _write_outcome(c, thread_id, ThreadOutcome(status, outcome.values, outcome.interrupts))
            return _thread(c, thread_id)

    async def assistant_thread_ids(self: _Connected, assistant_id: str) -> list[str]:
        with self._read() as c:
            rows = c.execute("SELECT thread_id FROM threads WHERE assistant_id = ?", (assistant_id,))
            return [r[0] for r in rows]

    # -- runs -------------------------------------------------------------------------------------

    async def create_run(
        self: _Connected,
        run: Run,
        *,
        new_thread: NewThread | None,
        admit: Admit,
        visible: Visibility | None = None,
        start: Lease | None = None,
    ) -> tuple[Run, list[Run]]:
        # The thread now belongs to this run's graph and assistant (chat UIs find threads by these).
        stamp: Json = {k: run.metadata[k] for k in ("graph_id", "assistant_id") if k in run.metadata}
        with self._write() as c:
            # A thread made for this run is inserted as the run leaves it (stamped, busy): it has
            # no other runs for the multitask rule to weigh.
            made = new_thread is not None and _insert_thread(
                c,
                run.thread_id,
                {**new_thread.metadata, **stamp},
                assistant_id=run.assistant_id,
                status="busy",
                updated_at=run.created_at,
            )
            active: list[Run] = []
            if not made and new_thread is not None and new_thread.fresh:
                raise Conflict(f"Thread {run.thread_id} already exists")  # as PostgreSQL's insert
            if not made:
                _thread(c, run.thread_id, visible)  # it exists, and this user may see it
                c.execute(
                    "UPDATE threads SET metadata = json_patch(metadata, ?), assistant_id = ? WHERE thread_id = ?",
                    (_json_text(stamp), run.assistant_id, run.thread_id),
                )
                active = _runs(
                    c,
                    "WHERE thread_id = ? AND status IN ('pending', 'running') ORDER BY created_at, rowid",
                    (run.thread_id,),
                )
            displaced = admit(run.thread_id, active)
            pending = [r.run_id for r in displaced if r.status == "pending"]
            if pending:
                c.execute(
                    "UPDATE runs SET status = 'interrupted', updated_at = ?"
                    f" WHERE status = 'pending' AND run_id IN ({','.join('?' * len(pending))})",
                    (utc_now(), *pending),
                )
            if not made:
                c.execute(
                    "UPDATE threads SET status = 'busy', updated_at = ? WHERE thread_id = ?",
                    (run.created_at, run.thread_id),
                )
            now = utc_now()
            # Claimed here only if the claim would take this very run now.
            if start is not None and (claimed := _first_in_line(c, run, now, active)) is not None:
                c.execute(
                    _INSERT_CLAIMED, (*run_params(claimed, json=_json_text), start.worker_id, start.until)
                )
                return claimed, displaced
            c.execute(
                f"INSERT INTO runs ({RUN}) VALUES ({_RUN_PLACEHOLDERS})", run_params(run, json=_json_text)
            )
            return run, displaced

    async def claim_run(self: _Connected, now: str, lease: Lease | None = None) -> Run | None:
        with self._read() as c:
            # Most claims find nothing (the worker looks after every run that ends): a read says
            # so without taking the write lock. Only this process writes the file (lockfile.py),
            # and whatever queues a run here wakes the worker after it commits, so a run queued
            # just after this read is claimed on that wake.
            if c.execute(_NEXT, (now,)).fetchone() is None:
                return None
        with self._write() as c:
            row = c.execute(f"{_CLAIM} RETURNING {RUN}", _claim_params(now, lease)).fetchone()
            return _run_row(row) if row else None

    async def finish_run(
        self: _Connected,
        run_id: str,
        status: RunStatus,
        *,
        error: Json | None,
        outcome: ThreadOutcome | None,
        after: AfterRun,
        attempt: int | None = None,
        discard: bool = False,
    ) -> Run:
        with self._write() as c:
            now = utc_now()
            fence = "" if attempt is None else " AND status = 'running' AND attempt = ?"
            if discard:
                return _finish_discarding(c, run_id, fence, attempt, status, error, now)
            row = c.execute(
                "UPDATE runs SET status = ?, error = ?, updated_at = ?, worker_id = NULL,"
                f" lease_expires_at = NULL WHERE run_id = ?{fence} RETURNING {RUN}",
                (
                    status,
                    _json_text(error) if error else None,
                    now,
                    run_id,
                    *(() if attempt is None else (attempt,)),
                ),
            ).fetchone()
            if row is None:  # deleted while it ran (a rollback), or taken over: nothing to record
                raise run_not_found(run_id)
            run = _run_row(row)
            decided = _thread_after(c, run.thread_id, outcome.status if outcome is not None else None, after)
            if decided is None:
                return run
            _, thread_status, waiting = decided
            if outcome is not None:
                _write_outcome(
                    c, run.thread_id, ThreadOutcome(thread_status, outcome.values, outcome.interrupts)
                )
            elif not waiting:
                _set_status(c, run.thread_id, thread_status)
            return run

    async def get_run(self: _Connected, thread_id: str | None, run_id: str) -> Run:
        with self._read() as c:
            return _run(c, thread_id, run_id)

    async def list_runs(self: _Connected, thread_id: str, status: RunStatus | None, page: Page) -> list[Run]:
        with self._read() as c:
            _thread(c, thread_id)
            where, params = "WHERE thread_id = ?", [thread_id]
            if status is not None:
                where += " AND status = ?"
                params.append(status)
            return _runs(
                c,
                f"{where} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
                (*params, page.limit, page.offset),
            )

    async def find_active_runs(
        self: _Connected, *, thread_id: str | None = None, run_ids: Sequence[str] | None = None
    ) -> list[Run]:
        where, params = "WHERE status IN ('pending', 'running')", list[Any]()
        if thread_id is not None:
            where += " AND thread_id = ?"
            params.append(thread_id)
        if run_ids is not None:
            where += f" AND run_id IN ({','.join('?' * len(run_ids))})"
            params.extend(run_ids)
        with self._read() as c:
            return _runs(c, f"{where} ORDER BY created_at", params)

    async def interrupt_pending(self: _Connected, run_ids: Sequence[str], *, after: AfterRun) -> list[Run]:
        if not run_ids:
            return []
        with self._write() as c:
            rows = c.execute(
                f"UPDATE runs SET status = 'interrupted', updated_at = ? WHERE status = 'pending'"
                f" AND run_id IN ({','.join('?' * len(run_ids))}) RETURNING {RUN}",
                (utc_now(), *run_ids),
            ).fetchall()
            changed = [_run_row(r) for r in rows]
            for thread_id in {r.thread_id for r in changed}:
                _settle_thread(c, thread_id, after)
            return changed

    async def delete_run(self: _Connected, thread_id: str | None, run_id: str, *, after: AfterRun) -> Run:
        with self._write() as c:
            run = _run(c, thread_id, run_id)
            c.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            _settle_thread(c, run.thread_id, after)
            return run

    async def renew_leases(self: _Connected, lease: Lease) -> list[str]:
        with self._write() as c:
            rows = c.execute(
                "UPDATE runs SET lease_expires_at = ? WHERE worker_id = ? AND status = 'running' RETURNING run_id",
                (lease.until, lease.worker_id),
            ).fetchall()
            return [r[0] for r in rows]

    async def expire_leases(
        self: _Connected, now: str, *, max_attempts: int, error: Json, after: AfterRun
    ) -> ExpiredLeases:
        expired = " WHERE status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < ?)"
        with self._write() as c:
            retried = c.execute(
                "UPDATE runs SET status = 'pending', updated_at = ?, worker_id = NULL, lease_expires_at = NULL"
                f"{expired} AND attempt < ? RETURNING {RUN}",
                (now, now, max_attempts),
            ).fetchall()
            failed = [
                _run_row(r)
                for r in c.execute(
                    "UPDATE runs SET status = 'error', error = ?, updated_at = ?, worker_id = NULL,"
                    f" lease_expires_at = NULL{expired} RETURNING {RUN}",
                    (_json_text(error), now, now),
                ).fetchall()
            ]
            for thread_id in {r.thread_id for r in failed}:
                # The failed run's outcome, unless other runs wait on the thread (the domain's rule).
                if (decided := _thread_after(c, thread_id, "error", after)) is not None:
                    _set_status(c, thread_id, decided[1])
            return ExpiredLeases([_run_row(r) for r in retried], failed)

    async def run_queue(self: _Connected) -> RunQueue:
        with self._read() as c:
            waiting, due = c.execute(
                f"SELECT count(*) > 0, min(r.not_before) FROM runs r WHERE {_QUEUED}"
            ).fetchone()
            return RunQueue(bool(waiting), due)


def _claim_params(now: str, lease: Lease | None) -> tuple[str | None, ...]:
    return (now, lease.worker_id if lease else None, lease.until if lease else None, now)


def _first_in_line(c: sqlite3.Connection, run: Run, now: str, active: Sequence[Run]) -> Run | None:
    """`run` as the claim would leave it, if that claim would take it now were it inserted pending
    (it is due, nothing runs on its thread, `active` being the thread's active runs before it, and
    no claimable run is ahead); else None."""
    if run.not_before is not None and run.not_before > now:
        return None
    if any(r.status == "running" for r in active):
        return None
    ahead, version = c.execute(
        _AHEAD, (now, run.created_at, run.pinned_version, run.assistant_version, run.assistant_id)
    ).fetchone()
    if ahead:
        return None
    # version is None if the assistant is gone: claimed all the same, the executor fails the run.
    return replace(run, status="running", updated_at=now, attempt=run.attempt + 1, assistant_version=version)


def _finish_discarding(
    c: sqlite3.Connection,
    run_id: str,
    fence: str,
    attempt: int | None,
    status: RunStatus,
    error: Json | None,
    now: str,
) -> Run:
    """finish_run(discard=True): the run and its thread deleted if the run is still the fenced
    attempt's. Nothing keeps the run's row, so its end is not written to it (an update of every
    index on status that the delete would undo): the run comes back as it ended, as on PostgreSQL."""
    row = c.execute(
        f"SELECT {RUN} FROM runs WHERE run_id = ?{fence}", (run_id, *(() if attempt is None else (attempt,)))
    ).fetchone()
    if row is None:  # deleted while it ran (a rollback), or taken over: nothing to record
        raise run_not_found(run_id)
    run = _run_row(row)
    c.execute("DELETE FROM threads WHERE thread_id = ?", (run.thread_id,))  # its runs go with it
    return replace(run, status=status, error=error or None, updated_at=now)


def _insert_thread(
    c: sqlite3.Connection,
    thread_id: str,
    metadata: Json,
    assistant_id: str | None = None,
    *,
    status: ThreadStatus = "idle",
    updated_at: str | None = None,
) -> bool:
    now = utc_now()
    inserted: int = c.execute(
        f"INSERT INTO threads ({THREAD}, assistant_id) VALUES (?,?,?,?,?,NULL,'{{}}',?)"
        " ON CONFLICT (thread_id) DO NOTHING",
        (
            thread_id,
            now,
            updated_at or now,
            _json_text(metadata),
            status,
            assistant_id or metadata.get("assistant_id"),
        ),
    ).rowcount
    return bool(inserted)


def _write_outcome(c: sqlite3.Connection, thread_id: str, outcome: ThreadOutcome) -> None:
    c.execute(
        'UPDATE threads SET status = ?, "values" = ?, interrupts = ?, updated_at = ? WHERE thread_id = ?',
        (
            outcome.status,
            _json_text(outcome.values) if outcome.values is not None else None,
            _json_text(outcome.interrupts),
            utc_now(),
            thread_id,
        ),
    )


def _thread_after(
    c: sqlite3.Connection, thread_id: str, outcome: ThreadStatus | None, after: AfterRun
) -> tuple[ThreadStatus, ThreadStatus, bool] | None:
    """For a thread a run just left: its status now, its status by the domain's rule, and whether
    other runs are active on it; None if the thread is gone."""
    row = c.execute("SELECT status FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
    if row is None:
        return None
    waiting = (
        c.execute(
            "SELECT 1 FROM runs WHERE thread_id = ? AND status IN ('pending', 'running') LIMIT 1",
            (thread_id,),
        ).fetchone()
        is not None
    )
    return row[0], after(row[0], waiting, outcome), waiting


def _settle_thread(c: sqlite3.Connection, thread_id: str, after: AfterRun) -> None:
    """A run left with no outcome (interrupted before it started, deleted): its thread's status
    by the domain's rule, written only if it changes."""
    decided = _thread_after(c, thread_id, None, after)
    if decided is not None and decided[0] != decided[1]:
        _set_status(c, thread_id, decided[1])


def _set_status(c: sqlite3.Connection, thread_id: str, status: ThreadStatus) -> None:
    c.execute(
        "UPDATE threads SET status = ?, updated_at = ? WHERE thread_id = ?", (status, utc_now(), thread_id)
    )


def _thread_where(where: ThreadFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if where.metadata:
        clauses.append("gd_contains(metadata, ?)")
        params.append(_json_text(where.metadata))
    if where.values:
        clauses.append('"values" IS NOT NULL AND gd_contains("values", ?)')
        params.append(_json_text(where.values))
    if where.status is not None:
        clauses.append("status = ?")
        params.append(where.status)
    if where.ids is not None:
        clauses.append(f"thread_id IN ({','.join('?' * len(where.ids))})" if where.ids else "0")
        params.extend(where.ids)
    if where.visible is not None:
        clause, more = sqlite_sql(where.visible)
        clauses.append(clause)
        params += more
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def _thread(c: sqlite3.Connection, thread_id: str, visible: Visibility | None = None) -> Thread:
    # A thread the caller may not see is not found, exactly like one that does not exist.
    sql, params = f"SELECT {THREAD} FROM threads WHERE thread_id = ?", [thread_id]
    if visible is not None:
        clause, more = sqlite_sql(visible)
        sql += f" AND {clause}"
        params += more
    row = c.execute(sql, params).fetchone()
    if row is None:
        raise thread_not_found(thread_id)
    return _thread_row(row)


def _run(c: sqlite3.Connection, thread_id: str | None, run_id: str) -> Run:
    row = c.execute(f"SELECT {RUN} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None or (thread_id is not None and row[1] != thread_id):
        raise run_not_found(run_id)
    return _run_row(row)


def _runs(c: sqlite3.Connection, where: str, params: Sequence[Any]) -> list[Run]:
    return [_run_row(r) for r in c.execute(f"SELECT {RUN} FROM runs {where}", params)]


def _thread_row(row: Sequence[Any]) -> Thread:
    return thread_from_row(row, json=orjson.loads, time=_text)


def _run_row(row: Sequence[Any]) -> Run:
    return run_from_row(row, json=orjson.loads, time=_text)

"""Threads and runs on PostgreSQL: the rows, and the run queue, applying the domain's run rules at write time.

The queue is the runs table itself, as on SQLite. What SQLite gets from its single writer,
PostgreSQL gets from one rule: every transaction that changes a thread's runs first locks the
thread's row (`FOR UPDATE`), several threads in thread_id order. Holding that lock, a fresh
statement sees every earlier change to the thread's runs and no other writer can make one, so
"one running run per thread", reject-if-busy and busy-while-runs-wait hold across processes and
replicas. Locks go thread before run everywhere, so writers never deadlock on each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Any, Literal, Protocol

import psycopg
from psycopg.types.json import Jsonb

from graphdock.errors import Conflict
from graphdock.storage.base import Admit, AfterRun, run_not_found, thread_not_found
from graphdock.storage.columns import RUN, RUN_COUNT, THREAD, VERSION_AT_CLAIM
from graphdock.storage.postgres.pipelined import pipelined
from graphdock.storage.postgres.retention import write_ttl
from graphdock.storage.postgres.rows import timestamp
from graphdock.storage.records import Json, Page, utc_now
from graphdock.storage.retention import ThreadTtl
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
from graphdock.storage.visibility import Visibility, postgres_sql, require_within

_RUN_PLACEHOLDERS = ",".join(["%s"] * RUN_COUNT)

# A run's thread locked, found through the run: how a run's end begins.
_LOCK_THROUGH_RUN = "SELECT thread_id FROM threads WHERE thread_id = (SELECT thread_id FROM runs WHERE run_id = %s) FOR UPDATE"


def _parsed(value: Any) -> Any:
    return value  # jsonb columns come back parsed


_ACTIVE = "status IN ('pending', 'running')"

# The oldest pending run due by %(now)s whose thread has nothing running, with its thread.
_CANDIDATE = (
    "SELECT r.run_id, r.thread_id FROM runs r JOIN threads t ON t.thread_id = r.thread_id"
    " WHERE r.status = 'pending' AND (r.not_before IS NULL OR r.not_before <= %(now)s)"
    " AND NOT EXISTS (SELECT 1 FROM runs x WHERE x.thread_id = r.thread_id AND x.status = 'running')"
    " ORDER BY r.created_at, r.seq LIMIT 1"
)

# runs.assistant_id is text and assistants.assistant_id a uuid: cast only what is one (CASE keeps
# the cast from being tried on anything else), so the primary key's index finds the row.
_VERSION_AT_CLAIM = VERSION_AT_CLAIM.format(
    pinned="pinned_version",
    earlier="assistant_version",
    run_assistant="CASE WHEN runs.assistant_id ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    "[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' THEN runs.assistant_id::uuid END",
)

# A claim marks a run running under a lease (%(worker)s until %(until)s), with the version it executes.
_START = (
    "UPDATE runs SET status = 'running', updated_at = %(now)s, attempt = attempt + 1,"
    f" worker_id = %(worker)s, lease_expires_at = %(until)s, assistant_version = {_VERSION_AT_CLAIM}"
)

Conn = psycopg.AsyncConnection[tuple[Any, ...]]


class _Connected(Protocol):
    def _write(self, isolation: psycopg.IsolationLevel | None = ...) -> AbstractAsyncContextManager[Conn]: ...
    def _read(self) -> AbstractAsyncContextManager[Conn]: ...


class PostgresThreads:
    """Mixed into PostgresStorage, whose pool, transactions and error mapping it uses."""

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
        async with self._write() as c:
            created = await _insert_thread(c, thread_id, metadata)
            if created is not None:
                if ttl is not None:
                    await write_ttl(c, thread_id, ttl)
                return created
            existing = await _thread(c, thread_id)
            if if_exists == "raise" or (visible is not None and not visible.allows(existing.metadata)):
                raise Conflict(f"Thread {thread_id} already exists")
            return existing

    async def get_thread(self: _Connected, thread_id: str, *, visible: Visibility | None = None) -> Thread:
        async with self._read() as c:
            return await _thread(c, thread_id, visible)

    async def update_thread(
        self: _Connected,
        thread_id: str,
        metadata: Json,
        *,
        visible: Visibility | None = None,
        ttl: ThreadTtl | None = None,
    ) -> Thread:
        # `||` merges two objects shallowly, the right one winning: {**current, **metadata}, done
        # on the row's latest version, so concurrent merges never lose each other's keys.
        clause, params = _visible_sql(visible)
        async with self._write() as c:
            row = await _one(
                c,
                f"UPDATE threads SET metadata = metadata || %s, updated_at = %s WHERE thread_id = %s{clause}"
                f" RETURNING {THREAD}",
                (Jsonb(metadata), utc_now(), thread_id, *params),
            )
            if row is None:
                raise thread_not_found(thread_id)
            updated = _thread_row(row)
            require_within(updated.metadata, visible)  # raising rolls the update back
            if ttl is not None:
                await write_ttl(c, thread_id, ttl)
            return updated

    async def delete_thread(self: _Connected, thread_id: str, *, visible: Visibility | None = None) -> None:
        # Its runs go with it (ON DELETE CASCADE); the thread row is locked before them.
        clause, params = _visible_sql(visible)
        async with self._write() as c:
            sql = f"DELETE FROM threads WHERE thread_id = %s{clause}"
            if not (await c.execute(sql, (thread_id, *params))).rowcount:
                raise thread_not_found(thread_id)

    async def search_threads(
        self: _Connected, where: ThreadFilter, page: Page, sort_by: ThreadSortField, descending: bool
    ) -> tuple[list[Thread], bool]:
        clause, params = _thread_where(where)
        order = "DESC" if descending else "ASC"
        async with self._read() as c:
            rows = await (
                await c.execute(
                    f"SELECT {THREAD} FROM threads{clause} ORDER BY {sort_by} {order}, thread_id {order}"
                    " LIMIT %s OFFSET %s",
                    (*params, page.limit + 1, page.offset),
                )
            ).fetchall()
        return [_thread_row(r) for r in rows[: page.limit]], len(rows) > page.limit

    async def count_threads(self: _Connected, where: ThreadFilter) -> int:
        clause, params = _thread_where(where)
        async with self._read() as c:
            row = await _one(c, f"SELECT count(*) FROM threads{clause}", params)
        assert row is not None
        count: int = row[0]
        return count

    async def set_thread_state(self: _Connected, thread_id: str, outcome: ThreadOutcome) -> Thread:
        # One statement: the CASE reads the row's latest status, so a run that makes the thread
        # busy meanwhile is never overwritten with an idle.
        async with self._write() as c:
            row = await _one(
                c,
                "UPDATE threads SET status = CASE status WHEN 'busy' THEN 'busy' ELSE %s END,"
                f' "values" = %s, interrupts = %s, updated_at = %s WHERE thread_id = %s RETURNING {THREAD}',
                (outcome.status, *_outcome_params(outcome), utc_now(), thread_id),
            )
            if row is None:
                raise thread_not_found(thread_id)
            return _thread_row(row)

    async def assistant_thread_ids(self: _Connected, assistant_id: str) -> list[str]:
        async with self._read() as c:
            cursor = await c.execute("SELECT thread_id FROM threads WHERE assistant_id = %s", (assistant_id,))
            return [r[0] for r in await cursor.fetchall()]

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
        if new_thread is not None and new_thread.fresh:
            return await _create_on_fresh_thread(self, run, new_thread, admit, start)
        # Two round trips: BEGIN, the thread's insert (if asked), its lock and what the rule reads
        # go together; then the writes and COMMIT. The lock makes the rule's check and the insert
        # one step: two creates with reject can never both see an idle thread, and no claim starts
        # a run displaced here. Each statement's snapshot is taken when it runs, after the lock.
        async with self._read() as c:
            async with pipelined(c):
                inserted = (
                    await _queue_insert_thread(c, run.thread_id, new_thread.metadata, run.assistant_id)
                    if new_thread is not None
                    else None
                )
                locked = await c.execute(
                    "SELECT thread_id FROM threads WHERE thread_id = %s FOR UPDATE", (run.thread_id,)
                )
                clause, params = _visible_sql(visible)
                seen = (
                    await c.execute(
                        f"SELECT 1 FROM threads WHERE thread_id = %s{clause}", (run.thread_id, *params)
                    )
                    if visible is not None
                    else None
                )
                found = await c.execute(
                    f"SELECT {RUN} FROM runs WHERE thread_id = %s AND {_ACTIVE} ORDER BY created_at, seq",
                    (run.thread_id,),
                )
                created = inserted is not None and await inserted.fetchone() is not None
                if await locked.fetchone() is None:
                    raise thread_not_found(run.thread_id)
                if not created and seen is not None and await seen.fetchone() is None:
                    raise thread_not_found(run.thread_id)  # an existing thread this user may not see
                displaced = admit(run.thread_id, [_run_row(r) for r in await found.fetchall()])
                pending = [r.run_id for r in displaced if r.status == "pending"]
                if pending:
                    await c.execute(
                        "UPDATE runs SET status = 'interrupted', updated_at = %s"
                        " WHERE status = 'pending' AND run_id = ANY(%s)",
                        (utc_now(), pending),
                    )
                await c.execute(
                    f"INSERT INTO runs ({RUN}) VALUES ({_RUN_PLACEHOLDERS})", run_params(run, json=Jsonb)
                )
                # The thread now belongs to this run's graph and assistant (chat UIs find threads by these).
                stamp = {k: run.metadata[k] for k in ("graph_id", "assistant_id") if k in run.metadata}
                await c.execute(
                    "UPDATE threads SET status = 'busy', updated_at = %s, metadata = metadata || %s,"
                    " assistant_id = %s WHERE thread_id = %s",
                    (run.created_at, Jsonb(stamp), run.assistant_id, run.thread_id),
                )
                started = await _queue_start(c, run, start)
            row = await started.fetchone() if started is not None else None
        return (_run_row(row) if row is not None else run), displaced

    async def claim_run(self: _Connected, now: str, lease: Lease | None = None) -> Run | None:
        # Why the thread's row is what gets locked, and not only the candidate run's: two claimers
        # skipping each other's locked runs could each take a different pending run of one thread
        # and start both. The thread lock is the one every writer of its runs takes, so holding it
        # a fresh statement sees the thread's runs as they are and nobody can start another.
        #
        # SKIP LOCKED on that row spreads concurrent claimers over threads instead of queueing them
        # on the oldest run. A claim holds one thread lock at most and waits for nothing while
        # holding it, so it can take part in no deadlock. The unique index runs_one_running is
        # the backstop: were this ever wrong, a second start would fail rather than run.
        #
        # Most claims find nothing (the worker asks again after each run it takes and after each
        # that ends): one autocommit look answers those in one round trip instead of four. A run
        # committed just after it is not missed: its creator wakes the worker, which asks again.
        async with self._read() as c:
            if await _one(c, _CANDIDATE, {"now": now}) is None:
                return None
        while True:
            async with self._write() as c:
                params = {"now": now}
                candidate = await _one(c, _CANDIDATE + " FOR UPDATE OF t SKIP LOCKED", params)
                if candidate is None:
                    # Nothing due, or every due run's thread is locked for a moment by another
                    # write (a metadata update, a create, another claim). Skipping those would
                    # leave a due run waiting for the next wake-up, so wait for the oldest one's
                    # lock instead: writers hold it for a few statements.
                    candidate = await _one(c, _CANDIDATE, params)
                    if candidate is None:
                        return None
                    await _lock_threads(c, [candidate[1]])
                run_id, thread_id = candidate
                # The candidate was chosen from a snapshot taken before the lock; this statement's
                # snapshot is taken after it, so it sees any claim or interrupt that came between.
                row = await _one(
                    c,
                    f"{_START} WHERE run_id = %(run_id)s AND status = 'pending' AND NOT EXISTS"
                    " (SELECT 1 FROM runs x WHERE x.thread_id = %(thread_id)s AND x.status = 'running')"
                    f" RETURNING {RUN}",
                    {**_lease_params(now, lease), "run_id": run_id, "thread_id": thread_id},
                )
                if row is not None:
                    return _run_row(row)
            # Another writer changed that thread first (it started or displaced the run). Our lock
            # goes with the transaction above and the next look sees that change, so each retry
            # follows someone else's progress and the loop ends.

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
        fence = "" if attempt is None else " AND status = 'running' AND attempt = %s"
        fenced = (run_id, *(() if attempt is None else (attempt,)))
        if discard:
            return await _finish_discarding(self, fenced, fence, status, error)
        # Two round trips: BEGIN, the lock, the run's update and what the rule reads go together;
        # then the thread's write and COMMIT. The thread is locked first, found through the run
        # (thread before run, as every writer locks them), so "does another run wait?" and the
        # thread's new status are one step: a run created meanwhile either is seen here or marks
        # the thread busy after this commits.
        async with self._read() as c, pipelined(c):
            await c.execute(_LOCK_THROUGH_RUN, (run_id,))
            updated = await c.execute(
                "UPDATE runs SET status = %s, error = %s, updated_at = %s, worker_id = NULL,"
                f" lease_expires_at = NULL WHERE run_id = %s{fence} RETURNING {RUN}",
                (status, Jsonb(error) if error else None, utc_now(), *fenced),
            )
            thread = await c.execute(
                f"SELECT t.status, EXISTS (SELECT 1 FROM runs r WHERE r.thread_id = t.thread_id"
                f" AND r.{_ACTIVE}) FROM threads t WHERE t.thread_id ="
                " (SELECT thread_id FROM runs WHERE run_id = %s)",
                (run_id,),
            )
            row = await updated.fetchone()
            if row is None:  # deleted while it ran (a rollback), or taken over: nothing to record
                raise run_not_found(run_id)
            run = _run_row(row)
            found = await thread.fetchone()
            if found is None:
                return run
            current, waiting = found
            thread_status = after(current, waiting, outcome.status if outcome is not None else None)
            if outcome is not None:
                await _write_outcome(
                    c, run.thread_id, ThreadOutcome(thread_status, outcome.values, outcome.interrupts)
                )
            elif not waiting:
                await _set_status(c, run.thread_id, thread_status)
        return run

    async def get_run(self: _Connected, thread_id: str | None, run_id: str) -> Run:
        async with self._read() as c:
            return await _run(c, thread_id, run_id)

    async def list_runs(self: _Connected, thread_id: str, status: RunStatus | None, page: Page) -> list[Run]:
        where, params = "WHERE thread_id = %s", [thread_id]
        if status is not None:
            where += " AND status = %s"
            params.append(status)
        async with self._read() as c:
            runs = await _runs(
                c,
                f"{where} ORDER BY created_at DESC, seq DESC LIMIT %s OFFSET %s",
                (*params, page.limit, page.offset),
            )
            if not runs:
                await _thread(c, thread_id)  # NotFound, or an empty page
        return runs

    async def find_active_runs(
        self: _Connected, *, thread_id: str | None = None, run_ids: Sequence[str] | None = None
    ) -> list[Run]:
        where, params = f"WHERE {_ACTIVE}", list[Any]()
        if thread_id is not None:
            where += " AND thread_id = %s"
            params.append(thread_id)
        if run_ids is not None:
            where += " AND run_id = ANY(%s)"
            params.append(list(run_ids))
        async with self._read() as c:
            return await _runs(c, f"{where} ORDER BY created_at, seq", params)

    async def interrupt_pending(self: _Connected, run_ids: Sequence[str], *, after: AfterRun) -> list[Run]:
        if not run_ids:
            return []
        async with self._write() as c:
            cursor = await c.execute(
                "SELECT thread_id FROM threads WHERE thread_id IN"
                " (SELECT thread_id FROM runs WHERE run_id = ANY(%s) AND status = 'pending')"
                " ORDER BY thread_id FOR UPDATE",
                (list(run_ids),),
            )
            locked = [r[0] for r in await cursor.fetchall()]
            rows = await (
                await c.execute(
                    "UPDATE runs SET status = 'interrupted', updated_at = %s WHERE status = 'pending'"
                    f" AND run_id = ANY(%s) AND thread_id = ANY(%s) RETURNING {RUN}",
                    (utc_now(), list(run_ids), locked),
                )
            ).fetchall()
            changed = [_run_row(r) for r in rows]
            for thread_id in sorted({r.thread_id for r in changed}):
                await _settle_thread(c, thread_id, after)
            return changed

    async def delete_run(self: _Connected, thread_id: str | None, run_id: str, *, after: AfterRun) -> Run:
        async with self._write() as c:
            run = await _run(c, thread_id, run_id)
            await _lock_threads(c, [run.thread_id])
            if not (await c.execute("DELETE FROM runs WHERE run_id = %s", (run_id,))).rowcount:
                raise run_not_found(run_id)  # deleted meanwhile, with its thread or by itself
            await _settle_thread(c, run.thread_id, after)
            return run

    async def renew_leases(self: _Connected, lease: Lease) -> list[str]:
        async with self._write() as c:
            cursor = await c.execute(
                "UPDATE runs SET lease_expires_at = %s WHERE worker_id = %s AND status = 'running'"
                " RETURNING run_id",
                (lease.until, lease.worker_id),
            )
            return [r[0] for r in await cursor.fetchall()]

    async def expire_leases(
        self: _Connected, now: str, *, max_attempts: int, error: Json, after: AfterRun
    ) -> ExpiredLeases:
        async with self._write() as c:
            # Thread locks first, as every writer of a thread's runs takes them; SKIP LOCKED lets
            # replicas sweeping at the same moment share the work instead of queueing on it.
            cursor = await c.execute(
                "SELECT thread_id FROM threads WHERE thread_id IN (SELECT thread_id FROM runs"
                " WHERE status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < %s))"
                " ORDER BY thread_id FOR UPDATE SKIP LOCKED",
                (now,),
            )
            locked = [r[0] for r in await cursor.fetchall()]
            if not locked:
                return ExpiredLeases([], [])
            expired = " WHERE status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < %s) AND thread_id = ANY(%s)"
            retried = await _runs_of(
                c,
                "UPDATE runs SET status = 'pending', updated_at = %s, worker_id = NULL, lease_expires_at = NULL"
                f"{expired} AND attempt < %s RETURNING {RUN}",
                (now, now, locked, max_attempts),
            )
            failed = await _runs_of(
                c,
                "UPDATE runs SET status = 'error', error = %s, updated_at = %s, worker_id = NULL,"
                f" lease_expires_at = NULL{expired} RETURNING {RUN}",
                (Jsonb(error), now, now, locked),
            )
            for thread_id in sorted({r.thread_id for r in failed}):
                # The failed run's outcome, unless other runs wait on the thread (the domain's rule).
                if (decided := await _thread_after(c, thread_id, "error", after)) is not None:
                    await _set_status(c, thread_id, decided[1])
            return ExpiredLeases(retried, failed)

    async def run_queue(self: _Connected) -> RunQueue:
        async with self._read() as c:
            row = await _one(c, "SELECT count(*) > 0, min(not_before) FROM runs WHERE status = 'pending'", ())
        assert row is not None
        return RunQueue(row[0], timestamp(row[1]) if row[1] is not None else None)


async def _create_on_fresh_thread(
    storage: _Connected, run: Run, new_thread: NewThread, admit: Admit, start: Lease | None
) -> tuple[Run, list[Run]]:
    """create_run on a thread whose id was just made for the run: one round trip. Nobody else can
    know the id, so there is nothing to lock, and no runs for the rule to weigh: BEGIN, the thread
    inserted as the run leaves it (stamped, busy), the run, its claim and COMMIT go together. A
    thread that had the id fails the insert (a Conflict), and nothing is written."""
    stamp = {k: run.metadata[k] for k in ("graph_id", "assistant_id") if k in run.metadata}
    async with storage._read() as c:
        async with pipelined(c):
            await c.execute(
                f"INSERT INTO threads ({THREAD}, assistant_id) VALUES (%s,%s,%s,%s,'busy',NULL,'{{}}',%s)",
                (
                    run.thread_id,
                    utc_now(),
                    run.created_at,
                    Jsonb({**new_thread.metadata, **stamp}),
                    run.assistant_id,
                ),
            )
            await c.execute(
                f"INSERT INTO runs ({RUN}) VALUES ({_RUN_PLACEHOLDERS})", run_params(run, json=Jsonb)
            )
            started = await _queue_start(c, run, start)
        row = await started.fetchone() if started is not None else None
    return (_run_row(row) if row is not None else run), admit(run.thread_id, [])


async def _finish_discarding(
    storage: _Connected, fenced: tuple[Any, ...], fence: str, status: RunStatus, error: Json | None
) -> Run:
    """finish_run(discard=True), in one round trip: BEGIN, the thread's lock (found through the
    run, as in finish_run), the run and its thread deleted together if the run is still the
    fenced attempt's (a fresh statement, so it sees the run as the lock left it), and COMMIT.
    Nothing keeps the run's row, so its end is not written to it: the run comes back as it ended."""
    now = utc_now()
    async with storage._read() as c:
        async with pipelined(c):
            await c.execute(_LOCK_THROUGH_RUN, fenced[:1])
            gone = await c.execute(
                f"WITH run AS (DELETE FROM runs WHERE run_id = %s{fence} RETURNING {RUN})"
                " DELETE FROM threads USING run WHERE threads.thread_id = run.thread_id RETURNING run.*",
                fenced,
            )
        row = await gone.fetchone()
    if row is None:  # deleted while it ran (a rollback), or taken over: nothing was written
        raise run_not_found(fenced[0])
    return replace(_run_row(row), status=status, error=error or None, updated_at=now)


async def _queue_start(c: Conn, run: Run, start: Lease | None) -> psycopg.AsyncCursor[Any] | None:
    """Queue (pipeline mode) the claim of the run being created under `start`'s lease, if the
    worker's next claim would take this very run now: fetchone() gives it claimed, or None."""
    if start is None:
        return None
    return await c.execute(
        f"{_START} WHERE run_id = %(run_id)s AND run_id = (SELECT run_id FROM ({_CANDIDATE}) AS c) RETURNING {RUN}",
        {**_lease_params(utc_now(), start), "run_id": run.run_id},
    )


async def _one(c: Conn, sql: str, params: Sequence[Any] | dict[str, Any]) -> tuple[Any, ...] | None:
    return await (await c.execute(sql, params)).fetchone()


async def _lock_threads(c: Conn, thread_ids: Sequence[str]) -> list[str]:
    """Lock the threads that exist among these, in thread_id order; returns their ids."""
    cursor = await c.execute(
        "SELECT thread_id FROM threads WHERE thread_id = ANY(%s) ORDER BY thread_id FOR UPDATE",
        (list(thread_ids),),
    )
    return [r[0] for r in await cursor.fetchall()]


def _lease_params(now: str, lease: Lease | None) -> dict[str, Any]:
    """_START's and _CANDIDATE's parameters."""
    return {"now": now, "worker": lease.worker_id if lease else None, "until": lease.until if lease else None}


async def _queue_insert_thread(
    c: Conn, thread_id: str, metadata: Json, assistant_id: str
) -> psycopg.AsyncCursor[Any]:
    """Queue (pipeline mode) the insert of a thread unless one has that id: fetchone() gives a row
    if it was inserted, None if it existed."""
    now = utc_now()
    return await c.execute(
        f"INSERT INTO threads ({THREAD}, assistant_id) VALUES (%s,%s,%s,%s,'idle',NULL,'{{}}',%s)"
        " ON CONFLICT (thread_id) DO NOTHING RETURNING thread_id",
        (thread_id, now, now, Jsonb(metadata), assistant_id),
    )


async def _insert_thread(
    c: Conn, thread_id: str, metadata: Json, assistant_id: str | None = None
) -> Thread | None:
    """The new thread, or None if one with that id exists."""
    now = utc_now()
    owner = assistant_id or metadata.get("assistant_id")
    row = await _one(
        c,
        f"INSERT INTO threads ({THREAD}, assistant_id) VALUES (%s,%s,%s,%s,'idle',NULL,'{{}}',%s)"
        f" ON CONFLICT (thread_id) DO NOTHING RETURNING {THREAD}",
        # Only a text id can name an assistant.
        (thread_id, now, now, Jsonb(metadata), owner if isinstance(owner, str) else None),
    )
    return _thread_row(row) if row is not None else None


def _outcome_params(outcome: ThreadOutcome) -> tuple[Any, ...]:
    # A thread without values holds SQL NULL, not JSON null, as on SQLite.
    return (Jsonb(outcome.values) if outcome.values is not None else None, Jsonb(outcome.interrupts))


async def _write_outcome(c: Conn, thread_id: str, outcome: ThreadOutcome) -> None:
    await c.execute(
        'UPDATE threads SET status = %s, "values" = %s, interrupts = %s, updated_at = %s WHERE thread_id = %s',
        (outcome.status, *_outcome_params(outcome), utc_now(), thread_id),
    )


async def _thread_after(
    c: Conn, thread_id: str, outcome: ThreadStatus | None, after: AfterRun
) -> tuple[ThreadStatus, ThreadStatus, bool] | None:
    """For a thread a run just left (its lock is held): its status now, its status by the domain's
    rule, and whether other runs are active on it; None if the thread is gone."""
    row = await _one(
        c,
        f"SELECT status, EXISTS (SELECT 1 FROM runs WHERE thread_id = %s AND {_ACTIVE})"
        " FROM threads WHERE thread_id = %s",
        (thread_id, thread_id),
    )
    if row is None:
        return None
    return row[0], after(row[0], row[1], outcome), row[1]


async def _settle_thread(c: Conn, thread_id: str, after: AfterRun) -> None:
    """A run left with no outcome (interrupted before it started, deleted): its thread's status
    by the domain's rule, written only if it changes."""
    decided = await _thread_after(c, thread_id, None, after)
    if decided is not None and decided[0] != decided[1]:
        await _set_status(c, thread_id, decided[1])


async def _set_status(c: Conn, thread_id: str, status: ThreadStatus) -> None:
    await c.execute(
        "UPDATE threads SET status = %s, updated_at = %s WHERE thread_id = %s", (status, utc_now(), thread_id)
    )


def _thread_where(where: ThreadFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if where.metadata:
        clauses.append("metadata @> %s")  # served by the GIN index
        params.append(Jsonb(where.metadata))
    if where.values:
        clauses.append('"values" @> %s')  # a thread without values (NULL) never matches
        params.append(Jsonb(where.values))
    if where.status is not None:
        clauses.append("status = %s")
        params.append(where.status)
    if where.ids is not None:
        clauses.append("thread_id = ANY(%s)")
        params.append(list(where.ids))
    if where.visible is not None:
        clause, more = postgres_sql(where.visible)
        clauses.append(clause)
        params += more
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _visible_sql(visible: Visibility | None) -> tuple[str, list[Any]]:
    """` AND <filter>` for a statement on threads; a thread the caller may not see is not found."""
    if visible is None:
        return "", []
    clause, params = postgres_sql(visible)
    return f" AND {clause}", params


async def _thread(c: Conn, thread_id: str, visible: Visibility | None = None) -> Thread:
    clause, params = _visible_sql(visible)
    row = await _one(c, f"SELECT {THREAD} FROM threads WHERE thread_id = %s{clause}", (thread_id, *params))
    if row is None:
        raise thread_not_found(thread_id)
    return _thread_row(row)


async def _run(c: Conn, thread_id: str | None, run_id: str) -> Run:
    row = await _one(c, f"SELECT {RUN} FROM runs WHERE run_id = %s", (run_id,))
    if row is None or (thread_id is not None and row[1] != thread_id):
        raise run_not_found(run_id)
    return _run_row(row)


async def _runs_of(c: Conn, sql: str, params: Sequence[Any]) -> list[Run]:
    """The runs a statement that RETURNING {RUN} hands back."""
    return [_run_row(r) for r in await (await c.execute(sql, params)).fetchall()]


async def _runs(c: Conn, where: str, params: Sequence[Any]) -> list[Run]:
    cursor = await c.execute(f"SELECT {RUN} FROM runs {where}", params)
    return [_run_row(r) for r in await cursor.fetchall()]


def _thread_row(row: Sequence[Any]) -> Thread:
    return thread_from_row(row, json=_parsed, time=timestamp)


def _run_row(row: Sequence[Any]) -> Run:
    return run_from_row(row, json=_parsed, time=timestamp)

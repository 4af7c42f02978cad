"""The PostgreSQL backend: psycopg 3 with a connection pool, row locks for every version write.

Every write that allocates or moves a version first locks the assistant's row (`FOR UPDATE`), so
concurrent writers on one assistant queue behind each other — across processes and replicas —
while writers on different assistants never wait. psycopg is the driver the official
`langgraph-checkpoint-postgres` saver uses, so checkpoints and assistants share one driver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import orjson
import psycopg
import psycopg.errors
import psycopg_pool
import structlog
import yoyo
from psycopg.types.json import Jsonb, set_json_dumps, set_json_loads

from graphdock.errors import Conflict, GraphdockError, InvalidRequest, Unavailable
from graphdock.metrics import PoolUsage
from graphdock.storage.assistant_runs import VersionTally
from graphdock.storage.base import (
    Decide,
    Edit,
    IfVersion,
    ImportReport,
    Revise,
    assistant_not_found,
    refuse_active_version,
    require_version,
    version_not_found,
)
from graphdock.storage.columns import ASSISTANT, SNAPSHOT, VERSION, qualified
from graphdock.storage.migrations import apply_pending
from graphdock.storage.postgres import transfer
from graphdock.storage.postgres.assistant_runs import PostgresAssistantRuns
from graphdock.storage.postgres.crons import PostgresCrons
from graphdock.storage.postgres.pipelined import pipelined
from graphdock.storage.postgres.retention import PostgresRetention
from graphdock.storage.postgres.rows import (
    active_read,
    assistant_read,
    order_sql,
    search_sql,
    snapshot_params,
    to_assistant,
    to_version,
    version_params,
    version_read,
    where_sql,
)
from graphdock.storage.postgres.threads import PostgresThreads
from graphdock.storage.records import (
    CREATED,
    UPDATED,
    Assistant,
    AssistantFilter,
    AssistantHistory,
    AssistantVersion,
    Change,
    Page,
    Snapshot,
    SortField,
    utc_now,
)
from graphdock.storage.visibility import Visibility, postgres_sql, require_within

MIGRATIONS = Path(__file__).with_name("migrations")

log = structlog.get_logger("graphdock.storage")
Conn = psycopg.AsyncConnection[tuple[Any, ...]]
Cursor = psycopg.AsyncCursor[tuple[Any, ...]]


class PostgresStorage(PostgresThreads, PostgresCrons, PostgresAssistantRuns, PostgresRetention):
    def __init__(self, url: str, *, max_connections: int = 10) -> None:
        self._url = url.replace("postgresql+psycopg://", "postgresql://").replace(
            "postgres://", "postgresql://", 1
        )
        self._pool = psycopg_pool.AsyncConnectionPool(
            self._url, min_size=1, max_size=max_connections, open=False, configure=_configure, timeout=10
        )
        self._name_trigrams = False  # whether the pg_trgm index of names exists (set by open)

    async def open(self) -> None:
        try:
            migrate(self._url)
            await self._pool.open(wait=True, timeout=10)
            async with self._pool.connection() as c:
                # Migration 0005 makes it where pg_trgm can be created; elsewhere, no index.
                found = await (await c.execute("SELECT to_regclass('assistants_name_trgm')")).fetchone()
            self._name_trigrams = found is not None and found[0] is not None
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
            raise Unavailable(f"cannot reach PostgreSQL at {_redacted(self._url)}: {exc}") from exc

    async def close(self) -> None:
        await self._pool.close()

    def pool_usage(self) -> PoolUsage:
        stats = self._pool.get_stats()
        size = stats.get("pool_size", 0)
        return PoolUsage(
            size=size,
            in_use=size - stats.get("pool_available", 0),
            max_size=self._pool.max_size,
            waiting=stats.get("requests_waiting", 0),
        )

    # -- writes ---------------------------------------------------------------------------------

    async def create_assistant(
        self,
        assistant_id: str,
        snapshot: Snapshot,
        if_exists: Literal["raise", "do_nothing"],
        change: Change = CREATED,
        *,
        visible: Visibility | None = None,
    ) -> Assistant:
        now = utc_now()
        async with self._read() as c:
            # One statement (one round trip, its own transaction): version 1 is copied from the
            # active row it inserts, so a conflicting id writes neither.
            created = await c.execute(
                _CREATE, (assistant_id, *snapshot_params(snapshot), now, now, *_audit(change))
            )
            if not created.rowcount:
                existing = to_assistant(await _fetch_assistant(c, assistant_id))
                if if_exists == "raise" or (
                    visible is not None and not visible.allows(existing.snapshot.metadata)
                ):
                    raise Conflict(f"Assistant {assistant_id} already exists")
                return existing
        return Assistant(assistant_id, 1, snapshot, now, now)

    async def revise_assistant(
        self,
        assistant_id: str,
        revise: Revise,
        *,
        if_version: IfVersion = None,
        change: Change = UPDATED,
        visible: Visibility | None = None,
    ) -> Assistant:
        now = utc_now()
        if isinstance(revise, Edit):
            return await self._edit(assistant_id, revise, now, if_version, change, visible)
        # Two round trips: BEGIN with the locking read (revise needs the row), then the version
        # and the active row (one statement, each value sent once) with COMMIT.
        async with self._read() as c, pipelined(c):
            row = await _fetch_assistant(c, assistant_id, lock=True, visible=visible)
            current = require_version(to_assistant(row), if_version)
            snapshot = revise(current)
            require_within(snapshot.metadata, visible)
            version: int = row[-1] + 1
            await c.execute(_REVISE, version_params(assistant_id, version, snapshot, now, change))
        return Assistant(assistant_id, version, snapshot, current.created_at, now)

    async def _edit(
        self,
        assistant_id: str,
        edit: Edit,
        now: str,
        if_version: IfVersion,
        change: Change,
        visible: Visibility | None,
    ) -> Assistant:
        """revise_assistant for an Edit: one statement, one round trip (as set_latest)."""
        sql, params = _edit_sql(assistant_id, edit, now, change, if_version, visible)
        async with self._read() as c:
            row = await (await c.execute(sql, params)).fetchone()
        # The statement wrote only if every check below passes; they name what stopped it.
        if row is None:
            raise assistant_not_found(assistant_id)
        current = require_version(to_assistant(row), if_version)
        snapshot = edit(current)
        require_within(snapshot.metadata, visible)
        if not row[-1]:  # unreachable: the checks above are the statement's conditions
            raise Conflict(f"Assistant {assistant_id} changed during the request; retry it")
        return Assistant(assistant_id, row[_ACTIVE] + 1, snapshot, current.created_at, now)

    async def set_active_version(
        self,
        assistant_id: str,
        version: int,
        *,
        if_version: IfVersion = None,
        visible: Visibility | None = None,
    ) -> Assistant:
        now = utc_now()
        sql, params = _set_latest_sql(assistant_id, version, now, if_version, visible)
        async with self._read() as c:
            row = await (await c.execute(sql, params)).fetchone()
        # The statement wrote only if every check below passes; they name what stopped it.
        if row is None:
            raise assistant_not_found(assistant_id)
        current = require_version(to_assistant(row[:_ACTIVE]), if_version)
        if row[_ACTIVE] is None:
            raise version_not_found(assistant_id, version)
        snapshot = to_version(row[_ACTIVE:]).snapshot
        require_within(snapshot.metadata, visible)
        if not row[-1]:  # unreachable: the checks above are the statement's conditions
            raise Conflict(f"Assistant {assistant_id} changed during the request; retry it")
        return Assistant(assistant_id, version, snapshot, current.created_at, now)

    async def delete_assistant(
        self, assistant_id: str, *, if_version: IfVersion = None, visible: Visibility | None = None
    ) -> None:
        more, params = _guard(if_version, visible, "")
        # One round trip: the lock, the delete (its versions go with it, ON DELETE CASCADE) and its
        # crons in one transaction. The crons' statement runs after the lock, so it sees a cron
        # created just before (crons.py takes the assistant FOR SHARE); it deletes nothing unless
        # the assistant is gone. The results are read once committed: the conditions ensure
        # nothing was written unless every check passes.
        async with self._read() as c:
            async with pipelined(c):
                locked = await _lock_assistant(c, assistant_id, visible)
                deleted = await c.execute(
                    f"DELETE FROM assistants WHERE assistant_id = %s{more} RETURNING assistant_id",
                    (assistant_id, *params),
                )
                await c.execute(
                    "DELETE FROM crons WHERE assistant_id = %s"
                    " AND NOT EXISTS (SELECT 1 FROM assistants WHERE assistant_id = %s)",
                    (assistant_id, assistant_id),
                )
            row, gone = await locked.fetchone(), await deleted.fetchone()
        if row is None:
            raise assistant_not_found(assistant_id)
        require_version(to_assistant(row), if_version)
        if gone is None:  # unreachable: the checks above are the delete's conditions
            raise Conflict(f"Assistant {assistant_id} changed during the request; retry it")

    async def delete_version(
        self,
        assistant_id: str,
        version: int,
        *,
        if_version: IfVersion = None,
        visible: Visibility | None = None,
    ) -> None:
        more, params = _guard(if_version, visible, "a.")
        # One round trip, locks in set_latest's order (the assistant's row, then the version's):
        # BEGIN, the locking read, the delete (a statement of its own, so it sees what committed
        # before the lock), COMMIT. The delete's conditions are the checks below.
        async with self._read() as c:
            async with pipelined(c):
                locked = await _lock_assistant(c, assistant_id, visible)
                # The row keeps its count of versions (migration 0014), in the same statement.
                deleted = await c.execute(
                    "WITH d AS (DELETE FROM assistant_versions v USING assistants a WHERE a.assistant_id = %s"
                    f" AND v.assistant_id = a.assistant_id AND v.version = %s AND a.version <> %s{more}"
                    " RETURNING v.version),"
                    " n AS (UPDATE assistants SET version_count = version_count - 1"
                    "  WHERE assistant_id = %s AND EXISTS (SELECT 1 FROM d))"
                    " SELECT version FROM d",
                    (assistant_id, version, version, *params, assistant_id),
                )
            row, gone = await locked.fetchone(), await deleted.fetchone()
        if row is None:
            raise assistant_not_found(assistant_id)
        current = require_version(to_assistant(row), if_version)
        if gone is None:
            refuse_active_version(current, version)
            raise version_not_found(assistant_id, version)

    async def import_assistants(
        self, histories: Sequence[AssistantHistory], *, dry_run: bool, decide: Decide
    ) -> ImportReport:
        async with self._write() as c:
            return await transfer.import_histories(c, histories, dry_run=dry_run, decide=decide)

    # -- reads ----------------------------------------------------------------------------------

    async def get_assistant(self, assistant_id: str, *, visible: Visibility | None = None) -> Assistant:
        async with self._read() as c:
            return to_assistant(await _fetch_assistant(c, assistant_id, visible=visible))

    async def get_version(
        self, assistant_id: str, version: int, *, visible: Visibility | None = None
    ) -> AssistantVersion:
        async with self._read() as c:
            if visible is not None:
                await _fetch_assistant(c, assistant_id, visible=visible)
            return await _fetch_version(c, assistant_id, version)

    async def list_versions(
        self, assistant_id: str, metadata: dict[str, object], page: Page, *, visible: Visibility | None = None
    ) -> list[AssistantVersion]:
        sql = f"SELECT {version_read()} FROM assistant_versions WHERE assistant_id = %s"
        params: list[Any] = [assistant_id]
        if metadata:
            sql += " AND metadata @> %s"
            params.append(Jsonb(metadata))
        sql += " ORDER BY version DESC LIMIT %s OFFSET %s"
        async with self._read() as c:
            if visible is not None:
                await _fetch_assistant(c, assistant_id, visible=visible)
            rows = await (await c.execute(sql, (*params, page.limit, page.offset))).fetchall()
            if not rows:
                await _fetch_assistant(c, assistant_id)  # NotFound, or an empty page
        return [to_version(r) for r in rows]

    async def search_assistants(
        self, where: AssistantFilter, page: Page, sort_by: SortField, descending: bool
    ) -> tuple[list[Assistant], bool]:
        page_sql, params = search_sql(where, sort_by, descending, page, name_trigrams=self._name_trigrams)
        sql = f"WITH page AS ({page_sql}) SELECT {assistant_read('page.')} FROM page{order_sql(sort_by, descending, 'page.')}"
        async with self._read() as c:
            rows = await (await c.execute(sql, params)).fetchall()
        return [to_assistant(r) for r in rows[: page.limit]], len(rows) > page.limit

    async def search_assistants_with_tallies(
        self, where: AssistantFilter, page: Page, sort_by: SortField, descending: bool
    ) -> tuple[list[tuple[Assistant, VersionTally | None]], bool]:
        page_sql, params = search_sql(where, sort_by, descending, page, name_trigrams=self._name_trigrams)
        # One statement: the search's page with each row's version count and last number, which
        # its row keeps (migration 0014: counting them here was most of the search's database
        # CPU). The page is read in order; the outer ORDER BY keeps it (a CTE's order is not).
        sql = (
            f"WITH page AS ({page_sql}) SELECT {active_read('page.')}, page.version_count"
            f" FROM page{order_sql(sort_by, descending, 'page.')}"
        )
        async with self._read() as c:
            rows = await (await c.execute(sql, params)).fetchall()
        found: list[tuple[Assistant, VersionTally | None]] = [
            (to_assistant(r), VersionTally(r[0], r[7], r[-1], r[-2] + 1)) for r in rows[: page.limit]
        ]
        return found, len(rows) > page.limit

    async def count_assistants(self, where: AssistantFilter) -> int:
        clause, params = where_sql(where)
        async with self._read() as c:
            row = await (await c.execute(f"SELECT count(*) FROM assistants{clause}", params)).fetchone()
        assert row is not None
        count: int = row[0]
        return count

    async def export_assistants(
        self, assistant_ids: Sequence[str] | None, page: Page
    ) -> tuple[list[AssistantHistory], bool]:
        # REPEATABLE READ: the assistants and their versions are read as of one moment.
        async with self._write(isolation=psycopg.IsolationLevel.REPEATABLE_READ) as c:
            return await transfer.export_histories(c, assistant_ids, page)

    # -- plumbing -------------------------------------------------------------------------------

    @asynccontextmanager
    async def _write(self, isolation: psycopg.IsolationLevel | None = None) -> AsyncIterator[Conn]:
        async with self._read() as c:
            if isolation is not None:
                await c.set_autocommit(False)
                await c.set_isolation_level(isolation)
            try:
                async with c.transaction():
                    yield c
            finally:
                if isolation is not None:
                    await c.set_isolation_level(None)
                    await c.set_autocommit(True)

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[Conn]:
        """The one place driver errors become domain errors."""
        try:
            async with self._pool.connection() as c:
                yield c
        except GraphdockError:
            raise
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(
                "The write conflicts with stored data (it was made concurrently); retry it"
            ) from exc
        except (psycopg.errors.UntranslatableCharacter, psycopg.errors.CharacterNotInRepertoire) as exc:
            raise InvalidRequest(
                f"The value cannot be stored in PostgreSQL: {exc.diag.message_primary}"
            ) from exc
        except (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected) as exc:
            raise Unavailable("The database could not order concurrent writes; retry the request") from exc
        except psycopg.errors.DiskFull as exc:
            raise Unavailable("The database's disk is full; nothing was written") from exc
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
            raise Unavailable("The database is unreachable or busy; retry the request") from exc


async def _configure(conn: Conn) -> None:
    # Autocommit: a read is one statement; writes open explicit transactions. UTC, so timestamps
    # read back in the same +00:00 form SQLite stores. orjson for every jsonb in and out.
    await conn.set_autocommit(True)
    await conn.execute("SET TIME ZONE 'UTC'")
    set_json_loads(orjson.loads, conn)
    set_json_dumps(lambda obj: orjson.dumps(obj).decode(), conn)


# The session advisory lock replicas migrate under (any fixed number; "gdmigrat" in ASCII).
MIGRATION_LOCK = 0x67646D6967726174


def migrate(url: str) -> None:
    """Apply pending numbered migrations (storage/migrations.py) under a session advisory lock:
    replicas starting together never race, and a killed one's lock goes with its connection."""
    backend = yoyo.get_backend(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        # The connection is in autocommit, so the lock is the session's until it closes.
        if not backend.execute(f"SELECT pg_try_advisory_lock({MIGRATION_LOCK})").fetchone()[0]:
            log.info("storage.migration_wait", hint="another replica is migrating this database")
            backend.execute(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
        apply_pending(backend, MIGRATIONS)
    finally:
        backend.connection.close()


async def _fetch_assistant(
    c: Conn, assistant_id: str, *, lock: bool = False, visible: Visibility | None = None
) -> tuple[Any, ...]:
    # A row the caller may not see is not found, exactly like a row that does not exist.
    sql = f"SELECT {_ACTIVE_ROW} FROM assistants WHERE assistant_id = %s"
    params: list[Any] = [assistant_id]
    if visible is not None:
        clause, more = postgres_sql(visible)
        sql += f" AND {clause}"
        params += more
    row = await (await c.execute(sql + (" FOR UPDATE" if lock else ""), params)).fetchone()
    if row is None:
        raise assistant_not_found(assistant_id)
    return row


async def _lock_assistant(c: Conn, assistant_id: str, visible: Visibility | None) -> Cursor:
    """Queue the locking read of the active row (pipeline mode); fetchone() gives the row or None."""
    sql = f"SELECT {_ACTIVE_ROW} FROM assistants WHERE assistant_id = %s"
    more, params = _guard(None, visible, "")
    return await c.execute(sql + more + " FOR UPDATE", (assistant_id, *params))


def _guard(if_version: IfVersion, visible: Visibility | None, prefix: str) -> tuple[str, list[Any]]:
    """Conditions on the active row (columns under `prefix`), each as " AND …": If-Match, the auth
    filter. If-Match may name no version at all, or any below 2**63 (api/bodies.py)."""
    sql, params = "", []
    if if_version is not None:
        sql += f" AND {prefix}version = ANY(%s::bigint[])"
        params.append(sorted(if_version))
    if visible is not None:
        clause, more = postgres_sql(visible, f"{prefix}metadata")
        sql += f" AND {clause}"
        params += more
    return sql, params


# What _fetch_assistant and _lock_assistant read, built once: they are on every request's path.
_ACTIVE_ROW = active_read()
# The version columns a new version copies from the active row (the audit columns follow).
_VERSION_OF_ACTIVE = f"assistant_id, {SNAPSHOT}, version, created_at"
assert VERSION.startswith(_VERSION_OF_ACTIVE + ", ")
# create_assistant: the active row, and version 1 copied from it (nothing if the id exists).
_CREATE = (
    f"WITH a AS (INSERT INTO assistants ({ASSISTANT}, last_version)"
    " VALUES (%s,%s,%s,%s,%s,%s,%s,1,%s,%s,1) ON CONFLICT (assistant_id) DO NOTHING"
    f" RETURNING {ASSISTANT})"
    f" INSERT INTO assistant_versions ({VERSION})"
    f" SELECT {qualified('a.', _VERSION_OF_ACTIVE)}, %s::text, %s::text, %s::integer FROM a"
)
# revise_assistant: the new version, and the active row set from it (its created_at is the row's
# updated_at, its number the row's version and last_version; it keeps one version more).
_REVISE = (
    f"WITH v AS (INSERT INTO assistant_versions ({VERSION}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
    f" RETURNING {VERSION})"
    " UPDATE assistants t SET graph_id = v.graph_id, config = v.config, context = v.context,"
    " metadata = v.metadata, name = v.name, description = v.description, version = v.version,"
    " updated_at = v.created_at, last_version = v.version, version_count = t.version_count + 1"
    " FROM v WHERE t.assistant_id = v.assistant_id"
)
# _edit_sql: the version columns copied from the updated active row (`u`), the audit columns follow.
_VERSION_OF_UPDATED = f"u.assistant_id, {qualified('u.', SNAPSHOT)}, u.version, u.updated_at"
# Columns of set_latest's answer: the active row (ASSISTANT), then the version, then whether it wrote.
_ACTIVE = 10


def _set_latest_sql(
    assistant_id: str, version: int, now: str, if_version: IfVersion, visible: Visibility | None
) -> tuple[str, list[Any]]:
    """set_latest as one statement, locking as delete_version does: the assistant's row first
    (`a`, FOR UPDATE), then the version's (`v`, FOR KEY SHARE, which a concurrent delete of it
    waits for). `v` reads after `a` (it needs a's id), and its lock re-reads the row, so a version
    deleted while this waited for `a` is not found rather than activated. The update (`u`) writes
    only if every check passes; the answer says which one failed."""
    more, params = _guard(None, visible, "")
    allowed, allowed_params = postgres_sql(visible) if visible is not None else ("true", [])
    match, match_params = _guard(if_version, None, "a.")
    sql = (
        f"WITH a AS MATERIALIZED (SELECT {ASSISTANT} FROM assistants WHERE assistant_id = %s{more} FOR UPDATE),"
        f" v AS MATERIALIZED (SELECT {VERSION}, {allowed} AS allowed FROM assistant_versions"
        "  WHERE assistant_id = (SELECT assistant_id FROM a) AND version = %s FOR KEY SHARE),"
        " u AS (UPDATE assistants t SET graph_id = v.graph_id, config = v.config, context = v.context,"
        "  metadata = v.metadata, name = v.name, description = v.description, version = v.version,"
        f"  updated_at = %s FROM v, a WHERE t.assistant_id = a.assistant_id AND v.allowed{match}"
        "  RETURNING t.assistant_id)"
        f" SELECT {assistant_read('a.')}, {version_read('v.')},"
        " EXISTS (SELECT 1 FROM u) FROM a LEFT JOIN v ON true"
    )
    return sql, [assistant_id, *params, *allowed_params, version, now, *match_params]


def _edit_sql(
    assistant_id: str, edit: Edit, now: str, change: Change, if_version: IfVersion, visible: Visibility | None
) -> tuple[str, list[Any]]:
    """An Edit as one statement: lock the active row (`a`, FOR UPDATE, the lock a PATCH has always
    taken first), compute the merged metadata from it, update the row (`u`) and insert the new
    version copied from the updated row (`v`), only if If-Match, the auth filter (on the merged
    metadata) and, for a new config and context, the Edit's graphs pass. `a` is the row as locked
    (its latest committed state); the answer is `a` and whether it wrote. Edit.__call__ is the same
    rule in Python (the answer's snapshot, SQLite)."""
    more, params = _guard(None, visible, "")
    allowed, allowed_params = postgres_sql(visible, "a.merged") if visible is not None else ("true", [])
    match, match_params = _guard(if_version, None, "a.")
    values, values_params = "", list[Any]()
    if edit.replaces_values:
        values = " config = coalesce(%s::jsonb, a.config), context = coalesce(%s::jsonb, a.context),"
        match += " AND a.graph_id = ANY(%s::text[])"
        values_params = [_jsonb_or_null(edit.config), _jsonb_or_null(edit.context)]
        match_params = [*match_params, sorted(edit.graphs)]
    sql = (
        f"WITH a AS MATERIALIZED (SELECT {ASSISTANT}, last_version, metadata || %s AS merged FROM assistants"
        f"  WHERE assistant_id = %s{more} FOR UPDATE),"
        f" u AS (UPDATE assistants t SET{values} metadata = a.merged, name = coalesce(%s::text, a.name),"
        "  description = coalesce(%s::text, a.description), version = a.last_version + 1,"
        "  last_version = a.last_version + 1, version_count = t.version_count + 1, updated_at = %s"
        f"  FROM a WHERE t.assistant_id = a.assistant_id AND {allowed}{match} RETURNING t.*),"
        f" v AS (INSERT INTO assistant_versions ({VERSION}) SELECT {_VERSION_OF_UPDATED},"
        "  %s::text, %s::text, %s::integer FROM u)"
        f" SELECT {active_read('a.')}, EXISTS (SELECT 1 FROM u) FROM a"
    )
    return sql, [
        Jsonb(edit.metadata),
        assistant_id,
        *params,
        *values_params,
        edit.name,
        edit.description,
        now,
        *allowed_params,
        *match_params,
        *_audit(change),
    ]


def _jsonb_or_null(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def _audit(change: Change) -> tuple[Any, ...]:
    return change.kind, change.by, change.restored_from


async def _fetch_version(c: Conn, assistant_id: str, version: int) -> AssistantVersion:
    row = await (
        await c.execute(
            f"SELECT {version_read()} FROM assistant_versions WHERE assistant_id = %s AND version = %s",
            (assistant_id, version),
        )
    ).fetchone()
    if row is None:
        await _fetch_assistant(c, assistant_id)  # a missing assistant is reported as such
        raise version_not_found(assistant_id, version)
    return to_version(row)


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    head, sep, tail = url.rpartition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, credentials = head.partition("//")
    return f"{scheme}//{credentials.split(':', 1)[0]}:***@{tail}"

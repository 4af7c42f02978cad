"""The SQLite backend: one file, WAL, every statement run on the event loop's thread.

Why on the loop and not in a thread pool: every statement here is an indexed lookup or a short
write that takes tens of microseconds, less than one hop to a worker thread. Running them
synchronously also makes this process's connection the single serialized writer for free: no two
transactions interleave, because none awaits while open. `BEGIN IMMEDIATE` still takes the write
lock up front, so another process on the same file (a CLI export, say) never sees a half write
and never deadlocks on a lock upgrade. WAL keeps readers in other processes concurrent.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import orjson
import yoyo

from graphdock.errors import (
    ConfigError,
    Conflict,
    GraphdockError,
    InvalidRequest,
    Unavailable,
)
from graphdock.metrics import PoolUsage
from graphdock.sqlite_wal import WalCheckpointer
from graphdock.storage.assistant_runs import VersionTally
from graphdock.storage.base import (
    Decide,
    IfVersion,
    ImportReport,
    Revise,
    assistant_not_found,
    refuse_active_version,
    require_version,
    version_not_found,
)
from graphdock.storage.columns import ASSISTANT, VERSION
from graphdock.storage.migrations import apply_pending
from graphdock.storage.name_search import WIDE_HEAD, head_rows
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
from graphdock.storage.sqlite import transfer
from graphdock.storage.sqlite.assistant_runs import SqliteAssistantRuns
from graphdock.storage.sqlite.crons import SqliteCrons
from graphdock.storage.sqlite.lockfile import FileLock, LockHeld, held, sibling
from graphdock.storage.sqlite.name_index import (
    ClauseDocs,
    IndexQuery,
    candidates,
    clauses,
    fold_gaps,
    member_of,
)
from graphdock.storage.sqlite.retention import SqliteRetention
from graphdock.storage.sqlite.rows import (
    SORT_SQL,
    VERSION_PLACEHOLDERS,
    index_metadata,
    json_changed,
    prefer_sort_order,
    register_functions,
    snapshot_params,
    to_assistant,
    to_version,
    version_params,
    where_sql,
)
from graphdock.storage.sqlite.threads import SqliteThreads
from graphdock.storage.visibility import Visibility, require_within, sqlite_sql

MIGRATIONS = Path(__file__).with_name("migrations")


def sqlite_path(url: str) -> Path:
    """`sqlite:///relative/file` or `sqlite:////absolute/file`, as SQLAlchemy spells them."""
    if not url.startswith("sqlite:///") or url == "sqlite:///":
        raise InvalidRequest(f"not a SQLite URL: {url!r} (expected sqlite:///path/to/file.sqlite3)")
    return Path(url.removeprefix("sqlite:///"))


class SqliteStorage(SqliteThreads, SqliteCrons, SqliteAssistantRuns, SqliteRetention):
    def __init__(self, url: str) -> None:
        self._path = sqlite_path(url)
        self._conn: sqlite3.Connection | None = None
        # Held while open: a second process on the file would claim this one's runs (its clients
        # would wait forever), so it is refused at start instead. Leases cannot tell the two
        # apart on SQLite, where nothing distinguishes a live process from a dead one.
        self._owner = FileLock(sibling(self._path, "server"))
        # Assistant rows as last read, valid while the connection has changed nothing since
        # (`_rows_at`, its total_changes then): see _assistant_row.
        self._rows: dict[str, Any] = {}
        self._rows_at = -1
        self._checkpoints = WalCheckpointer(self._path)
        # How many names hold each trigram the name searches asked about (name_index.ClauseDocs).
        self._clause_docs = ClauseDocs()

    async def open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._owner.acquire(wait=False)
        except LockHeld:
            raise ConfigError(
                f"{self._path} is in use by another graphdock process (it holds "
                f"{self._owner.path}); one SQLite file serves one process: stop the other one, "
                "or run replicas on PostgreSQL"
            ) from None
        try:
            self._conn = _connect(self._path)
            self._checkpoints.start(self._conn)
            fold_gaps()  # once per process, ~0.1 s: at start rather than in the first name search
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        self._checkpoints.stop()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        # A connection opened later counts its changes from zero: nothing read before may stay.
        self._rows.clear()
        self._rows_at = -1
        self._clause_docs.clear()
        self._owner.release()

    def pool_usage(self) -> PoolUsage:
        # One connection, used only between awaits: never seen in use from another task.
        is_open = int(self._conn is not None)
        return PoolUsage(size=is_open, in_use=0, max_size=1, waiting=0)

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
        with self._write() as c:
            inserted = c.execute(
                f"INSERT INTO assistants ({ASSISTANT}, last_version) VALUES (?,?,?,?,?,?,?,1,?,?,1)"
                " ON CONFLICT (assistant_id) DO NOTHING",
                (assistant_id, *snapshot_params(snapshot), now, now),
            ).rowcount
            if not inserted:
                existing = to_assistant(_fetch_assistant(c, assistant_id))
                if if_exists == "raise" or (
                    visible is not None and not visible.allows(existing.snapshot.metadata)
                ):
                    raise Conflict(f"Assistant {assistant_id} already exists")
                return existing
            c.execute(
                f"INSERT INTO assistant_versions ({VERSION}) VALUES ({VERSION_PLACEHOLDERS})",
                version_params(assistant_id, 1, snapshot, now, change),
            )
            index_metadata(c, assistant_id, snapshot.metadata)
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
        with self._write() as c:
            row = _fetch_assistant(c, assistant_id, extra=", last_version", visible=visible)
            current = require_version(to_assistant(row), if_version)
            snapshot = revise(current)
            require_within(snapshot.metadata, visible)
            version = row[-1] + 1
            c.execute(
                f"INSERT INTO assistant_versions ({VERSION}) VALUES ({VERSION_PLACEHOLDERS})",
                version_params(assistant_id, version, snapshot, now, change),
            )
            _activate(c, assistant_id, snapshot, version, now, last_version=version)
            if json_changed(snapshot.metadata, current.snapshot.metadata):
                index_metadata(c, assistant_id, snapshot.metadata)
        return Assistant(assistant_id, version, snapshot, current.created_at, now)

    async def set_active_version(
        self,
        assistant_id: str,
        version: int,
        *,
        if_version: IfVersion = None,
        visible: Visibility | None = None,
    ) -> Assistant:
        now = utc_now()
        with self._write() as c:
            current = require_version(
                to_assistant(_fetch_assistant(c, assistant_id, visible=visible)), if_version
            )
            snapshot = _fetch_version(c, assistant_id, version).snapshot
            require_within(snapshot.metadata, visible)
            _activate(c, assistant_id, snapshot, version, now)
            if json_changed(snapshot.metadata, current.snapshot.metadata):
                index_metadata(c, assistant_id, snapshot.metadata)
        return Assistant(assistant_id, version, snapshot, current.created_at, now)

    async def delete_assistant(
        self, assistant_id: str, *, if_version: IfVersion = None, visible: Visibility | None = None
    ) -> None:
        with self._write() as c:
            if if_version is not None or visible is not None:
                require_version(to_assistant(_fetch_assistant(c, assistant_id, visible=visible)), if_version)
            # Versions and metadata index rows go with it (ON DELETE CASCADE), its crons here.
            if not c.execute("DELETE FROM assistants WHERE assistant_id = ?", (assistant_id,)).rowcount:
                raise assistant_not_found(assistant_id)
            c.execute("DELETE FROM crons WHERE assistant_id = ?", (assistant_id,))

    async def delete_version(
        self,
        assistant_id: str,
        version: int,
        *,
        if_version: IfVersion = None,
        visible: Visibility | None = None,
    ) -> None:
        with self._write() as c:
            current = require_version(
                to_assistant(_fetch_assistant(c, assistant_id, visible=visible)), if_version
            )
            _fetch_version(c, assistant_id, version)
            refuse_active_version(current, version)
            # last_version on the assistant row is untouched, so the number is never given again.
            c.execute(
                "DELETE FROM assistant_versions WHERE assistant_id = ? AND version = ?",
                (assistant_id, version),
            )

    async def import_assistants(
        self, histories: Sequence[AssistantHistory], *, dry_run: bool, decide: Decide
    ) -> ImportReport:
        with self._write() as c:
            return transfer.import_histories(c, histories, dry_run=dry_run, decide=decide)

    # -- reads ----------------------------------------------------------------------------------

    async def get_assistant(self, assistant_id: str, *, visible: Visibility | None = None) -> Assistant:
        with self._read() as c:
            if visible is not None:
                return to_assistant(_fetch_assistant(c, assistant_id, visible=visible))
            return to_assistant(self._assistant_row(c, assistant_id))

    def _assistant_row(self, c: sqlite3.Connection, assistant_id: str) -> Any:
        """The assistant's row, from memory when nothing was written since it was read.

        A get is mostly the statement's own cost (its execution, a row built in Python), a tenth
        of the request's CPU. Any row this connection inserts, updates or deletes moves its
        `total_changes`, which empties the cache; and this connection is the file's only writer
        (the server lock above refuses a second process). So a cached row is exactly what the
        statement would return. Rows are kept as the driver's immutable tuples: every caller
        still gets fresh dicts from to_assistant, and may change them."""
        if c.total_changes != self._rows_at:
            self._rows.clear()
            self._rows_at = c.total_changes
        row = self._rows.get(assistant_id)
        if row is None:
            row = _fetch_assistant(c, assistant_id)
            if not c.in_transaction:  # never a row a rollback could still take back
                if len(self._rows) >= _CACHED_ROWS:
                    self._rows.clear()
                self._rows[assistant_id] = row
        return row

    async def get_version(
        self, assistant_id: str, version: int, *, visible: Visibility | None = None
    ) -> AssistantVersion:
        with self._read() as c:
            if visible is not None:
                _fetch_assistant(c, assistant_id, columns="1", visible=visible)
            return _fetch_version(c, assistant_id, version)

    async def list_versions(
        self, assistant_id: str, metadata: dict[str, object], page: Page, *, visible: Visibility | None = None
    ) -> list[AssistantVersion]:
        sql = f"SELECT {VERSION} FROM assistant_versions WHERE assistant_id = ?"
        params: list[Any] = [assistant_id]
        if metadata:
            sql += " AND gd_contains(metadata, ?)"
            params.append(orjson.dumps(metadata).decode())
        sql += " ORDER BY version DESC LIMIT ? OFFSET ?"
        with self._read() as c:
            if visible is not None:
                _fetch_assistant(c, assistant_id, columns="1", visible=visible)
            rows = c.execute(sql, (*params, page.limit, page.offset)).fetchall()
            if not rows:
                _fetch_assistant(c, assistant_id, columns="1")  # NotFound, or an empty page
        return [to_version(r) for r in rows]

    async def search_assistants(
        self, where: AssistantFilter, page: Page, sort_by: SortField, descending: bool
    ) -> tuple[list[Assistant], bool]:
        direction = "DESC" if descending else "ASC"
        order = f" ORDER BY {SORT_SQL[sort_by]} {direction}, assistant_id {direction}"
        head = head_rows(page, sort_by)
        wanted = page.offset + page.limit + 1
        # One row more than asked tells whether another page follows, without a count.
        with self._read() as c:
            asked = clauses(where.name)
            if asked is not None and head is not None and _head_fills(c, where, wanted, head, order):
                clause, params = where_sql(where, in_sort_order=True)  # the page is within its head
            else:
                query = None if asked is None else self._clause_docs.query(c, asked)
                with _matches(c, query, where, order) as matching:
                    picked = (
                        None if matching is None else list(itertools.islice(matching, page.offset, wanted))
                    )
                if picked is not None:
                    found = _rows_by_rowid(c, picked)
                    return [to_assistant(r) for r in found[: page.limit]], len(found) > page.limit
                clause, params = _walk(c, where, query, head is not None, wanted, order)
            rows = c.execute(
                f"SELECT {ASSISTANT} FROM assistants{clause}{order} LIMIT ? OFFSET ?",
                (*params, page.limit + 1, page.offset),
            )
            found = rows.fetchall()
        return [to_assistant(r) for r in found[: page.limit]], len(found) > page.limit

    async def search_assistants_with_tallies(
        self, where: AssistantFilter, page: Page, sort_by: SortField, descending: bool
    ) -> tuple[list[tuple[Assistant, VersionTally | None]], bool]:
        # In-process reads cost no round trip: the two reads as they are.
        found, more = await self.search_assistants(where, page, sort_by, descending)
        tallies = await self.version_tallies([a.assistant_id for a in found])
        return [(a, tallies.get(a.assistant_id)) for a in found], more

    async def count_assistants(self, where: AssistantFilter) -> int:
        with self._read() as c:
            asked = clauses(where.name)
            query = None if asked is None else self._clause_docs.query(c, asked)
            with _matches(c, query, where, "") as matching:
                if matching is not None:
                    return sum(1 for _ in matching)
            clause, params = where_sql(where)
            count: int = c.execute(f"SELECT count(*) FROM assistants{clause}", params).fetchone()[0]
        return count

    async def export_assistants(
        self, assistant_ids: Sequence[str] | None, page: Page
    ) -> tuple[list[AssistantHistory], bool]:
        # A read transaction, so the assistants and their versions are read as of one moment.
        with self._write("DEFERRED") as c:
            return transfer.export_histories(c, assistant_ids, page)

    # -- plumbing -------------------------------------------------------------------------------

    @contextmanager
    def _write(self, mode: Literal["IMMEDIATE", "DEFERRED"] = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        with self._read() as c:
            c.execute(f"BEGIN {mode}")
            try:
                yield c
            except BaseException:
                if c.in_transaction:  # SQLite itself rolls back on some errors (a full disk)
                    c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """The one place driver errors become domain errors."""
        if self._conn is None:
            raise Unavailable("The database is not open")
        try:
            yield self._conn
        except GraphdockError:
            raise
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"The write conflicts with stored data: {exc}") from exc
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise Unavailable("The database is busy; retry the request") from exc
            if exc.sqlite_errorcode == sqlite3.SQLITE_FULL:
                raise Unavailable("The database's disk is full; nothing was written") from exc
            raise


def _connect(path: Path) -> sqlite3.Connection:
    """Migrate, then open the serving connection; a file that is not a database, or that another
    program keeps locked, is one sentence naming it, not a traceback."""
    conn: sqlite3.Connection | None = None
    try:
        migrate(path)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # NORMAL in WAL mode: a commit survives a crash of this process (SIGKILL included);
        # only an OS crash or power loss can lose the last transactions, the usual trade-off.
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=5000"):
            conn.execute(f"PRAGMA {pragma}")
        # In WAL mode reads pass a writer's lock: take the write lock once, so a file another
        # program keeps locked is refused here rather than in the first request.
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        raise _unusable(path, exc) from None
    register_functions(conn)
    return conn


def _unusable(path: Path, exc: sqlite3.DatabaseError) -> ConfigError:
    if isinstance(exc, sqlite3.OperationalError):
        if "locked" in str(exc) or "busy" in str(exc):
            return ConfigError(f"{path}: the database is locked by another program ({exc})")
        return ConfigError(f"{path}: cannot open the SQLite database ({exc})")
    # "file is not a database", "database disk image is malformed"
    return ConfigError(f"{path}: not a usable SQLite database ({exc})")


def migrate(path: Path) -> None:
    """Apply pending numbered migrations (storage/migrations.py) under an flock beside the file,
    so concurrent starters never race and a killed one never blocks the next."""
    with held(sibling(path, "migrate")):
        backend = yoyo.get_backend(f"sqlite:///{path}")
        try:
            apply_pending(backend, MIGRATIONS)
        finally:
            backend.connection.close()


def _rows_by_rowid(c: sqlite3.Connection, rowids: list[int]) -> list[Any]:
    """The assistants' rows, in the order of `rowids`."""
    read = c.execute(
        f"SELECT rowid, {ASSISTANT} FROM assistants WHERE rowid IN (SELECT value FROM json_each(?))",
        (orjson.dumps(rowids).decode(),),
    )
    rows = {row[0]: row[1:] for row in read}
    return [rows[rowid] for rowid in rowids]


@contextmanager
def _matches(
    c: sqlite3.Connection, query: IndexQuery | None, where: AssistantFilter, order: str
) -> Iterator[Iterator[int] | None]:
    """The rowids of the assistants matching `where`, in `order`, from the name index (`query`: what
    it is asked for the name filter, None for none); None when it cannot narrow the name filter to
    a few candidates."""
    if query is None or where.name is None:
        yield None
        return
    with candidates(c, where.name, query, _other_filters(where), order) as matching:
        yield matching


def _walk(
    c: sqlite3.Connection,
    where: AssistantFilter,
    query: IndexQuery | None,
    has_head: bool,
    wanted: int,
    order: str,
) -> tuple[str, list[Any]]:
    """The WHERE clause of a walk in page order, for a search the name index did not answer:
    no name filter, one too short for it (`query` None), or one that more than CANDIDATES names
    may hold. Such a needle is first looked for among the first WIDE_HEAD rows; past them, each
    walked row is looked up among the index's candidates (name_index.member_of)."""
    if query is not None and has_head and _head_fills(c, where, wanted, WIDE_HEAD, order):
        return where_sql(where, in_sort_order=True)
    clause, params = where_sql(where, in_sort_order=prefer_sort_order(c, where, wanted))
    if query is None:
        return clause, params
    member, more = member_of(query)
    return clause.replace(" WHERE ", f" WHERE {member} AND ", 1), [*more, *params]


def _other_filters(where: AssistantFilter) -> tuple[str, list[Any]]:
    """The WHERE clause of a search's filters but its name, for the name index's candidates (one
    primary-key probe each for a metadata filter, as when walking in page order)."""
    return where_sql(replace(where, name=None), in_sort_order=True)


def _head_fills(c: sqlite3.Connection, where: AssistantFilter, wanted: int, rows: int, order: str) -> bool:
    """Whether the first `rows` assistants in `order` hold `wanted` matches of every filter: then
    the walk in page order meets them first and answers after as many rows, with no sort.

    The inner queries are co-routines read on demand: the count stops at the `wanted`th match.
    """
    clause, params = where_sql(where, in_sort_order=True)
    sql = (
        f"SELECT count(*) FROM (SELECT 1 FROM (SELECT * FROM assistants{order} LIMIT ?) AS assistants"
        f"{clause} LIMIT ?)"
    )
    found: int = c.execute(sql, (rows, *params, wanted)).fetchone()[0]
    return found == wanted


# The rows _assistant_row keeps at most (a few MB of JSON text at most); past it, it starts over.
_CACHED_ROWS = 4096


def _fetch_assistant(
    c: sqlite3.Connection,
    assistant_id: str,
    *,
    columns: str = ASSISTANT,
    extra: str = "",
    visible: Visibility | None = None,
) -> Any:
    # A row the caller may not see is not found, exactly like a row that does not exist.
    sql = f"SELECT {columns}{extra} FROM assistants WHERE assistant_id = ?"
    params: list[Any] = [assistant_id]
    if visible is not None:
        clause, more = sqlite_sql(visible)
        sql += f" AND {clause}"
        params += more
    row = c.execute(sql, params).fetchone()
    if row is None:
        raise assistant_not_found(assistant_id)
    return row


def _fetch_version(c: sqlite3.Connection, assistant_id: str, version: int) -> AssistantVersion:
    row = c.execute(
        f"SELECT {VERSION} FROM assistant_versions WHERE assistant_id = ? AND version = ?",
        (assistant_id, version),
    ).fetchone()
    if row is None:
        _fetch_assistant(c, assistant_id, columns="1")  # a missing assistant is reported as such
        raise version_not_found(assistant_id, version)
    return to_version(row)


def _activate(
    c: sqlite3.Connection,
    assistant_id: str,
    s: Snapshot,
    version: int,
    now: str,
    last_version: int | None = None,
) -> None:
    c.execute(
        "UPDATE assistants SET graph_id = ?, config = ?, context = ?, metadata = ?, name = ?, description = ?,"
        " version = ?, updated_at = ?, last_version = coalesce(?, last_version) WHERE assistant_id = ?",
        (*snapshot_params(s), version, now, last_version, assistant_id),
    )

"""The SQLite backend: one file, WAL, every statement run on the event loop's thread.

Why on the loop and not in a thread pool: every statement here is an indexed lookup or a short
write that takes tens of microseconds, less than one hop to a worker thread. Running them
synchronously also makes this process's connection the single serialized writer for free: no two
transactions interleave, because none awaits while open. `BEGIN IMMEDIATE` still takes the write
lock up front, so another process on the same file (a CLI export, say) never sees a half write
and never deadlocks on a lock upgrade. WAL keeps readers in other processes concurrent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import orjson
import yoyo

from graphdock.errors import Conflict, GraphdockError, InvalidRequest, NotFound, Unavailable
from graphdock.storage.base import Revise
from graphdock.storage.containment import contains, index_value
from graphdock.storage.records import (
    Assistant,
    AssistantFilter,
    AssistantVersion,
    Page,
    Snapshot,
    SortField,
    utc_now,
)

MIGRATIONS = Path(__file__).with_name("migrations")

_SNAPSHOT = "graph_id, config, context, metadata, name, description"
_ASSISTANT = f"assistant_id, {_SNAPSHOT}, version, created_at, updated_at"
_VERSION = f"assistant_id, {_SNAPSHOT}, version, created_at"
_SORT_SQL: dict[str, str] = {
    "assistant_id": "assistant_id",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "name": "name COLLATE NOCASE",
    "graph_id": "graph_id COLLATE NOCASE",
}


def sqlite_path(url: str) -> Path:
    """`sqlite:///relative/file` or `sqlite:////absolute/file`, as SQLAlchemy spells them."""
    if not url.startswith("sqlite:///") or url == "sqlite:///":
        raise InvalidRequest(f"not a SQLite URL: {url!r} (expected sqlite:///path/to/file.sqlite3)")
    return Path(url.removeprefix("sqlite:///"))


class SqliteStorage:
    def __init__(self, url: str) -> None:
        self._path = sqlite_path(url)
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        migrate(self._path)
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        # NORMAL in WAL mode: a commit survives a crash of this process (SIGKILL included);
        # only an OS crash or power loss can lose the last transactions, the usual trade-off.
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=5000"):
            conn.execute(f"PRAGMA {pragma}")
        conn.create_function("gd_contains", 2, _sql_contains, deterministic=True)
        conn.create_function("gd_icontains", 2, _sql_icontains, deterministic=True)
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- writes ---------------------------------------------------------------------------------

    async def create_assistant(
        self, assistant_id: str, snapshot: Snapshot, if_exists: Literal["raise", "do_nothing"]
    ) -> Assistant:
        now = utc_now()
        with self._write() as c:
            inserted = c.execute(
                f"INSERT INTO assistants ({_ASSISTANT}, last_version) VALUES (?,?,?,?,?,?,?,1,?,?,1)"
                " ON CONFLICT (assistant_id) DO NOTHING",
                (assistant_id, *_snapshot_params(snapshot), now, now),
            ).rowcount
            if not inserted:
                if if_exists == "raise":
                    raise Conflict(f"Assistant {assistant_id} already exists")
                return _assistant(self._fetch_assistant(c, assistant_id))
            c.execute(
                f"INSERT INTO assistant_versions ({_VERSION}) VALUES (?,?,?,?,?,?,?,1,?)",
                (assistant_id, *_snapshot_params(snapshot), now),
            )
            _index_metadata(c, assistant_id, snapshot.metadata)
        return Assistant(assistant_id, 1, snapshot, now, now)

    async def revise_assistant(self, assistant_id: str, revise: Revise) -> Assistant:
        now = utc_now()
        with self._write() as c:
            row = self._fetch_assistant(c, assistant_id, extra=", last_version")
            current = _assistant(row)
            snapshot = revise(current)
            version = row[-1] + 1
            c.execute(
                f"INSERT INTO assistant_versions ({_VERSION}) VALUES (?,?,?,?,?,?,?,?,?)",
                (assistant_id, *_snapshot_params(snapshot), version, now),
            )
            self._activate(c, assistant_id, snapshot, version, now, last_version=version)
            if _changed(snapshot.metadata, current.snapshot.metadata):
                _index_metadata(c, assistant_id, snapshot.metadata)
        return Assistant(assistant_id, version, snapshot, current.created_at, now)

    async def set_active_version(self, assistant_id: str, version: int) -> Assistant:
        now = utc_now()
        with self._write() as c:
            current = _assistant(self._fetch_assistant(c, assistant_id))
            row = c.execute(
                f"SELECT {_VERSION} FROM assistant_versions WHERE assistant_id = ? AND version = ?",
                (assistant_id, version),
            ).fetchone()
            if row is None:
                raise NotFound(f"Version {version} of assistant {assistant_id} not found")
            snapshot = _version(row).snapshot
            self._activate(c, assistant_id, snapshot, version, now)
            if _changed(snapshot.metadata, current.snapshot.metadata):
                _index_metadata(c, assistant_id, snapshot.metadata)
        return Assistant(assistant_id, version, snapshot, current.created_at, now)

    async def delete_assistant(self, assistant_id: str) -> None:
        with self._write() as c:
            # Versions and metadata index rows go with it (ON DELETE CASCADE).
            if not c.execute("DELETE FROM assistants WHERE assistant_id = ?", (assistant_id,)).rowcount:
                raise NotFound(f"Assistant {assistant_id} not found")

    # -- reads ----------------------------------------------------------------------------------

    async def get_assistant(self, assistant_id: str) -> Assistant:
        with self._read() as c:
            return _assistant(self._fetch_assistant(c, assistant_id))

    async def list_versions(
        self, assistant_id: str, metadata: dict[str, object], page: Page
    ) -> list[AssistantVersion]:
        sql = f"SELECT {_VERSION} FROM assistant_versions WHERE assistant_id = ?"
        params: list[Any] = [assistant_id]
        if metadata:
            sql += " AND gd_contains(metadata, ?)"
            params.append(orjson.dumps(metadata).decode())
        sql += " ORDER BY version DESC LIMIT ? OFFSET ?"
        with self._read() as c:
            rows = c.execute(sql, (*params, page.limit, page.offset)).fetchall()
            if not rows:
                self._fetch_assistant(c, assistant_id, columns="1")  # NotFound, or an empty page
        return [_version(r) for r in rows]

    async def search_assistants(
        self, where: AssistantFilter, page: Page, sort_by: SortField, descending: bool
    ) -> tuple[list[Assistant], bool]:
        clause, params = _where(where)
        direction = "DESC" if descending else "ASC"
        sql = (
            f"SELECT {_ASSISTANT} FROM assistants{clause}"
            f" ORDER BY {_SORT_SQL[sort_by]} {direction}, assistant_id {direction} LIMIT ? OFFSET ?"
        )
        with self._read() as c:
            # One row more than asked tells whether another page follows, without a count.
            rows = c.execute(sql, (*params, page.limit + 1, page.offset)).fetchall()
        return [_assistant(r) for r in rows[: page.limit]], len(rows) > page.limit

    async def count_assistants(self, where: AssistantFilter) -> int:
        clause, params = _where(where)
        with self._read() as c:
            count: int = c.execute(f"SELECT count(*) FROM assistants{clause}", params).fetchone()[0]
        return count

    # -- plumbing -------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._read() as c:
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
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
            raise

    @staticmethod
    def _fetch_assistant(
        c: sqlite3.Connection, assistant_id: str, *, columns: str = _ASSISTANT, extra: str = ""
    ) -> Any:
        row = c.execute(
            f"SELECT {columns}{extra} FROM assistants WHERE assistant_id = ?", (assistant_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"Assistant {assistant_id} not found")
        return row

    @staticmethod
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
            (*_snapshot_params(s), version, now, last_version, assistant_id),
        )


def migrate(path: Path) -> None:
    """Apply pending numbered migrations under yoyo's lock, so concurrent starters never race."""
    backend = yoyo.get_backend(f"sqlite:///{path}")
    try:
        with backend.lock():
            backend.apply_migrations(backend.to_apply(yoyo.read_migrations(str(MIGRATIONS))))
    finally:
        backend.connection.close()


def _where(where: AssistantFilter) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    if where.graph_id is not None:
        parts.append("graph_id = ?")
        params.append(where.graph_id)
    if where.name:
        parts.append("gd_icontains(name, ?)")
        params.append(where.name)
    for key, value in where.metadata.items():
        # Each top-level key narrows through the index; scalars match exactly there.
        parts.append(
            "assistant_id IN (SELECT assistant_id FROM assistant_metadata WHERE key = ? AND value = ?)"
        )
        params += [key, index_value(value)]
    if any(isinstance(v, dict | list) for v in where.metadata.values()):
        parts.append("gd_contains(metadata, ?)")
        params.append(orjson.dumps(where.metadata).decode())
    return (" WHERE " + " AND ".join(parts) if parts else ""), params


def _index_metadata(c: sqlite3.Connection, assistant_id: str, metadata: dict[str, Any]) -> None:
    c.execute("DELETE FROM assistant_metadata WHERE assistant_id = ?", (assistant_id,))
    c.executemany(
        "INSERT INTO assistant_metadata (assistant_id, key, value) VALUES (?,?,?)",
        [(assistant_id, k, index_value(v)) for k, v in metadata.items()],
    )


def _changed(new: dict[str, Any], old: dict[str, Any]) -> bool:
    # Compared as JSON, not with ==: Python says True == 1, JSON (and the index) do not.
    return orjson.dumps(new) != orjson.dumps(old)


def _snapshot_params(s: Snapshot) -> tuple[Any, ...]:
    dumps = orjson.dumps
    return (
        s.graph_id,
        dumps(s.config).decode(),
        dumps(s.context).decode(),
        dumps(s.metadata).decode(),
        s.name,
        s.description,
    )


def _snapshot(row: Sequence[Any]) -> Snapshot:
    loads = orjson.loads
    return Snapshot(row[1], loads(row[2]), loads(row[3]), loads(row[4]), row[5], row[6])


def _assistant(row: Sequence[Any]) -> Assistant:
    return Assistant(row[0], row[7], _snapshot(row), row[8], row[9])


def _version(row: Sequence[Any]) -> AssistantVersion:
    return AssistantVersion(row[0], row[7], _snapshot(row), row[8])


def _sql_contains(target: str, query: str) -> bool:
    return contains(orjson.loads(target), orjson.loads(query))


def _sql_icontains(text: str, needle: str) -> bool:
    # lower(), not casefold(): PostgreSQL's ILIKE does not fold "ß" into "ss", and the backends agree.
    return needle.lower() in text.lower()

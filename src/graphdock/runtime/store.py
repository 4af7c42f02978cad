"""The Store (long-term memory): LangGraph's own stores, opened once, shared by runs and the API.

SQLite uses langgraph-checkpoint-sqlite's `AsyncSqliteStore` in a file beside the database (its
own file, so its writer never waits on ours; vectors through sqlite-vec); PostgreSQL uses
langgraph-checkpoint-postgres's `AsyncPostgresStore` in the same database (vectors through
pgvector). Both bring their own tables and setup(), which `graphdock migrate` and every start run.

An expired item is never returned, even before the sweep removes it: the PostgreSQL store is told
to omit expired rows, and the SQLite one (which has no such option) deletes them inside every
transaction before it reads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import orjson
from langgraph.store.base import BaseStore, Op, Result, SearchOp, TTLConfig
from langgraph.store.postgres.aio import AsyncPostgresStore
from langgraph.store.sqlite.aio import AsyncSqliteStore
from psycopg.types.json import set_json_loads

from graphdock.errors import ConfigError
from graphdock.project import IndexSpec, StoreSpec
from graphdock.runtime.checkpoints import SETUP_LOCK, advisory_lock, closed_by_server


def store_path(database_path: Path) -> Path:
    """`data/graphdock.sqlite3` → `data/graphdock.store.sqlite3`."""
    return database_path.with_name(f"{database_path.stem}.store{database_path.suffix or '.sqlite3'}")


@asynccontextmanager
async def open_store(database_url: str, spec: StoreSpec, root: Path) -> AsyncIterator[BaseStore]:
    """The store, set up (tables created or migrated), its TTL sweeper running while it is open."""
    index = _index_config(spec.index, root) if spec.index else None
    # Always a TTL config: per-item `ttl` works without `store.ttl`, and PostgreSQL's omit_expired
    # (expired rows are never read) is part of it.
    ttl = TTLConfig(refresh_on_read=spec.ttl.refresh_on_read if spec.ttl else True, omit_expired=True)
    if spec.ttl and spec.ttl.default_ttl is not None:
        ttl["default_ttl"] = spec.ttl.default_ttl
    if spec.ttl and spec.ttl.sweep_interval_minutes is not None:
        ttl["sweep_interval_minutes"] = spec.ttl.sweep_interval_minutes
    async with _opened(database_url, index, ttl) as store:
        await store.start_ttl_sweeper()  # type: ignore[attr-defined]
        try:
            yield store
        finally:
            await store.stop_ttl_sweeper(timeout=5)  # type: ignore[attr-defined]


@asynccontextmanager
async def _opened(
    database_url: str, index: dict[str, Any] | None, ttl: TTLConfig
) -> AsyncIterator[BaseStore]:
    if database_url.startswith("sqlite:///"):
        path = store_path(Path(database_url.removeprefix("sqlite:///")))
        path.parent.mkdir(parents=True, exist_ok=True)
        async with _connect(path, extensions=index is not None) as conn:
            # WAL + NORMAL, as for the main database: what a put returned survives SIGKILL.
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            sqlite_store = _ExpiringSqliteStore(conn, index=index, ttl=ttl)  # type: ignore[arg-type]
            await sqlite_store.setup()
            yield sqlite_store
        return

    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    async with AsyncConnectionPool(
        url,
        min_size=1,
        max_size=8,
        open=False,
        kwargs={"autocommit": True, "prepare_threshold": None, "row_factory": dict_row},
        configure=_read_json_with_orjson,
        check=closed_by_server,
    ) as pool:
        async with pool.connection() as conn:
            if index is not None:
                await _require_pgvector(conn)
            pg_store = _PostgresStore(pool, index=index, ttl=ttl)  # type: ignore[arg-type]
            # The store's setup, like the saver's, must not run twice at once (see open_saver).
            await advisory_lock(conn, SETUP_LOCK)
            try:
                await pg_store.setup()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))
        yield pg_store


def _connect(path: Path, *, extensions: bool) -> aiosqlite.Connection:
    """Vector search loads the sqlite-vec extension, which a Python built without loadable
    extensions (pyenv's and macOS's default builds) cannot: such a one reads the file through
    sqlean.py, the same sqlite3 module with extension loading compiled in."""
    if not extensions or hasattr(sqlite3.Connection, "enable_load_extension"):
        return aiosqlite.connect(path, isolation_level=None)
    import sqlean

    return aiosqlite.Connection(lambda: sqlean.connect(str(path), isolation_level=None), iter_chunk_size=64)


async def _read_json_with_orjson(conn: Any) -> None:
    # jsonb keeps 1e20 as the number 100000000000000000000; psycopg's default json.loads would
    # read it back as an integer no JSON encoder here can write. orjson reads it as the float it
    # was sent as (and faster).
    set_json_loads(orjson.loads, conn)


async def _require_pgvector(conn: Any) -> None:
    cursor = await conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
    if await cursor.fetchone() is None:
        raise ConfigError(
            "store.index (semantic search) on PostgreSQL needs the pgvector extension, which this "
            "PostgreSQL server does not have: install pgvector (https://github.com/pgvector/pgvector), "
            "or remove store.index from langgraph.json"
        )


def _index_config(spec: IndexSpec, root: Path) -> dict[str, Any]:
    config: dict[str, Any] = {"dims": spec.dims, "embed": load_embeddings(spec.embed, root)}
    if spec.fields is not None:
        # The PostgreSQL store reads `fields`; the SQLite one reads `text_fields` (and ignores
        # `fields`, embedding the whole value): both are given so both embed what was asked.
        config["fields"] = config["text_fields"] = list(spec.fields)
    return config


def load_embeddings(embed: str, root: Path) -> Any:
    """`./file.py:attr` (an Embeddings object or an embedding function) or `provider:model`."""
    target, _, attr = embed.rpartition(":")
    if target.endswith(".py") or "/" in target:
        from graphdock.runtime.graphs import import_file

        file = (root / target).resolve()
        try:
            module = import_file(file, root)
            return getattr(module, attr)
        except FileNotFoundError:
            raise ConfigError(f"store.index.embed: {file} does not exist") from None
        except AttributeError:
            raise ConfigError(f"store.index.embed: {target} has no attribute {attr!r}") from None
        except Exception as exc:  # anything the user's module raises at import
            raise ConfigError(
                f"store.index.embed: cannot import {target}: {type(exc).__name__}: {exc}"
            ) from exc
    try:
        from langchain.embeddings import init_embeddings
    except ImportError:
        raise ConfigError(
            f"store.index.embed {embed!r} names a provider model, which needs LangChain's "
            "init_embeddings: install the 'langchain' package and the provider's (e.g. "
            "langchain-openai), or point embed at './file.py:attr'"
        ) from None
    try:
        return init_embeddings(embed)
    except Exception as exc:  # an unknown provider, a missing provider package or key
        raise ConfigError(f"store.index.embed {embed!r}: {type(exc).__name__}: {exc}") from exc


class _ExpiringSqliteStore(AsyncSqliteStore):
    """AsyncSqliteStore that never reads an expired item: every transaction it opens first deletes
    what has expired. (Its own sweep compares against a whole-second timestamp and runs only every
    few minutes; an item must not be handed out past its `ttl`.)"""

    @asynccontextmanager
    async def _cursor(self, *, transaction: bool = True) -> AsyncIterator[aiosqlite.Cursor]:
        async with super()._cursor(transaction=transaction) as cur:
            if transaction:
                # expires_at is text in whatever form sqlite3's datetime adapter gave it (this
                # process registers an isoformat one, "T" and all) or a TTL refresh wrote
                # ('YYYY-MM-DD HH:MM:SS'): compared as times, not as text.
                await cur.execute(
                    "DELETE FROM store WHERE expires_at IS NOT NULL AND julianday(expires_at) <= julianday('now')"
                )
            yield cur


_COMPARISONS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


class _PostgresStore(AsyncPostgresStore):
    """AsyncPostgresStore whose filters mean what they mean on SQLite: a dotted key is a path into
    the value (`meta.lang`), and numbers compare as numbers. (Its own SQL reads `meta.lang` as one
    key and compares `value->>key` as text, so 100 >= 3 is false there.)"""

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        # Plain `{key: value}` equalities go through _get_filter_condition too, as {"$eq": value}.
        return await super().abatch([_with_operators(op) if isinstance(op, SearchOp) else op for op in ops])

    def _get_filter_condition(self, key: str, op: str, value: Any) -> tuple[str, list[Any]]:
        path = key.split(".")
        if op in ("$eq", "$ne"):
            return f"value #> %s {'=' if op == '$eq' else '!='} %s::jsonb", [
                path,
                orjson.dumps(value).decode(),
            ]
        if op not in _COMPARISONS:
            raise ValueError(f"Unsupported operator: {op}")  # the domain refuses these first
        sql = _COMPARISONS[op]
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (
                f"(CASE WHEN jsonb_typeof(value #> %s) = 'number' "
                f"THEN (value #>> %s)::numeric {sql} %s::numeric ELSE false END)",
                [path, path, value],
            )
        return f"value #>> %s {sql} %s", [path, str(value)]


def _with_operators(op: SearchOp) -> SearchOp:
    if not op.filter:
        return op
    filter_ = {k: v if isinstance(v, dict) else {"$eq": v} for k, v in op.filter.items()}
    return op._replace(filter=filter_)

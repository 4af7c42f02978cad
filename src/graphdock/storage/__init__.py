"""Storage: one interface (base.Storage), one implementation per database, chosen by URL."""

from __future__ import annotations

from graphdock.errors import ConfigError
from graphdock.storage.base import Storage


def storage_for(url: str) -> Storage:
    if url.startswith("sqlite:"):
        from graphdock.storage.sqlite.store import SqliteStorage

        return SqliteStorage(url)
    if url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
        from graphdock.storage.postgres.store import PostgresStorage

        return PostgresStorage(url)
    raise ConfigError(
        f"unsupported database URL {url!r}: expected sqlite:///path/to/file.sqlite3 or postgresql://user@host/db"
    )

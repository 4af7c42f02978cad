"""Storage: one interface (base.Storage), one implementation per database, chosen by URL."""

from __future__ import annotations

from graphdock.errors import ConfigError
from graphdock.storage.base import Storage


def storage_for(url: str) -> Storage:
    if url.startswith("sqlite:"):
        from graphdock.storage.sqlite.store import SqliteStorage

        return SqliteStorage(url)
    if url.startswith(("postgres://", "postgresql://")):
        raise ConfigError("PostgreSQL support is not built yet; use a sqlite:/// URL for --database-url")
    raise ConfigError(f"unsupported database URL {url!r}: expected sqlite:///path/to/file.sqlite3")

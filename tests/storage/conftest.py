"""The storage contract suite's one fixture: an open, empty `Storage` per test, for every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from graphdock.storage import storage_for
from graphdock.storage.base import Storage
from graphdock.storage.postgres.store import PostgresStorage
from tests.postgres import empty, postgres_url

# Every backend the contract suite runs on, as a database URL; "{tmp}" becomes the test's own
# temporary directory, so each test starts from an empty database.
#
# PostgreSQL: the real server (tests/postgres.py), emptied before each test.
DATABASE_URLS = [
    pytest.param("sqlite:///{tmp}/x.sqlite3", id="sqlite"),
    pytest.param("postgres", id="postgres"),
]


@pytest.fixture(params=DATABASE_URLS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    url: str = request.param.format(tmp=tmp_path)
    if url == "postgres":
        url = postgres_url()
        empty(url)
    store = storage_for(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def as_replicas(storage: Storage, others: int = 3) -> AsyncIterator[list[Storage]]:
    """`storage` and, on PostgreSQL, `others` more stores (pools) on its database, as replicas
    racing each other would be; on SQLite, `storage` alone (one server per file)."""
    stores = [storage]
    try:
        if isinstance(storage, PostgresStorage):
            for _ in range(others):
                other = storage_for(postgres_url())
                await other.open()
                stores.append(other)
        yield stores
    finally:
        for other in stores[1:]:
            await other.close()

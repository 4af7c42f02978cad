"""The storage contract suite's one fixture: an open, empty `Storage` per test, for every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from graphdock.storage import storage_for
from graphdock.storage.base import Storage

# Every backend the contract suite runs on, as a database URL; "{tmp}" becomes the test's own
# temporary directory, so each test starts from an empty database.
#
# PostgreSQL goes here as one more param once graphdock.storage.storage_for builds it, e.g.
#     pytest.param("postgresql://postgres@127.0.0.1:5432/test", id="postgres"),
# (read from an env var and skipped when unset, so the suite still runs without a server). Each
# test must then get an empty database too: create a fresh schema or database per test and drop
# it afterwards, rather than relying on the tmp directory.
DATABASE_URLS = [
    pytest.param("sqlite:///{tmp}/x.sqlite3", id="sqlite"),
]


@pytest.fixture(params=DATABASE_URLS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    url: str = request.param.format(tmp=tmp_path)
    store = storage_for(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()

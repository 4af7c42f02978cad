"""Store suites share one server per module on the memory project (tests/graphs/memory)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.conftest import TESTS, RunningServer, serve, settings_for

MEMORY = TESTS / "graphs" / "memory"


@pytest.fixture(scope="module")
def memory_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    db = tmp_path_factory.mktemp("store") / "graphdock.sqlite3"
    with serve(settings_for(db, MEMORY / "langgraph.json")) as running:
        yield running


@pytest.fixture
async def sdk(memory_server: RunningServer) -> AsyncIterator[LangGraphClient]:
    client = get_client(url=memory_server.url)
    yield client
    await client.aclose()


@pytest.fixture
def ns() -> list[str]:
    """A namespace root of the test's own, so tests on the shared server never see each other."""
    return ["t" + uuid.uuid4().hex[:12]]


async def eventually(check: Callable[[], Awaitable[bool]], what: str, deadline: float = 60) -> None:
    """Poll until `check` holds (no timed assertions: only a generous deadline)."""
    end = time.monotonic() + deadline
    while not await check():
        assert time.monotonic() < end, f"still not true after {deadline} s: {what}"
        await asyncio.sleep(0.2)


def project(name: str) -> Path:
    return MEMORY / name


@pytest.fixture
async def http_store(memory_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=memory_server.url, timeout=30) as raw:
        yield raw

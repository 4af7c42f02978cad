"""Test harness: real graphdock servers on free ports (uvicorn in a thread), real SQLite files.

Every test talks to a server over a real socket with the official SDK or raw httpx; nothing in
graphdock is mocked. `server` is shared by the session (tests isolate themselves with unique
metadata); `start_server` gives a test its own server, database and restarts.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from graphdock.app import create_app
from graphdock.cli import server_config
from graphdock.settings import Settings
from tests.broker import redis_url
from tests.postgres import backend, database_for, drop_made

TESTS = Path(__file__).parent
GRAPHS = TESTS / "graphs" / "langgraph.json"
EXAMPLE = TESTS.parent / "examples" / "agent" / "langgraph.json"


@dataclass
class RunningServer:
    url: str
    settings: Settings
    _server: uvicorn.Server
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "server did not shut down"


@contextmanager
def serve(settings: Settings) -> Iterator[RunningServer]:
    """Run graphdock in a background thread on a socket bound to a free port."""
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it every keep-alive request waits ~40 ms for Nagle's algorithm.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # graphdock serve's own uvicorn settings; quieter, and on asyncio's loop in this thread.
    config = server_config(create_app(settings), settings, log_level="warning", loop="asyncio")
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # surfaced to the test below
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"graphdock did not start: {errors or 'timeout'}")
        time.sleep(0.01)
    running = RunningServer(f"http://127.0.0.1:{port}", settings, server, thread)
    try:
        yield running
    finally:
        running.stop()
        sock.close()


def settings_for(db: Path, config: Path = GRAPHS, **overrides: object) -> Settings:
    """A server's settings; `db` names its SQLite file, or under GRAPHDOCK_TEST_BACKEND=postgres
    stands for a PostgreSQL database of its own (the same one again when a test restarts it),
    served as a multi-replica deployment is: with Redis relaying runs' signals and streams."""
    if backend() == "postgres":
        overrides = {"redis_url": redis_url(), **overrides}
        url = database_for(str(db))
    else:
        url = f"sqlite:///{db}"
    return Settings(config=config, database_url=url, **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serve(settings_for(tmp_path_factory.mktemp("shared") / "graphdock.sqlite3")) as running:
        yield running


@pytest.fixture(scope="session")
def server_url(server: RunningServer) -> str:
    return server.url


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """Start (and later stop) servers of the test's own; the same db path survives restarts."""
    with ExitStack() as stack:

        def start(config: Path = GRAPHS, db: Path | None = None, **overrides: object) -> RunningServer:
            settings = settings_for(db or tmp_path / "graphdock.sqlite3", config, **overrides)
            return stack.enter_context(serve(settings))

        yield start


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[LangGraphClient]:
    sdk = get_client(url=server.url)
    yield sdk
    await sdk.aclose()


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as raw:
        yield raw


@pytest.fixture
def tag() -> dict[str, str]:
    """Metadata unique to one test, so searches on the shared server see only its assistants."""
    return {"test": uuid.uuid4().hex}


# The fields of langgraph_sdk.schema.Assistant, in the SDK's order.
ASSISTANT_FIELDS = [
    "assistant_id",
    "graph_id",
    "config",
    "context",
    "metadata",
    "name",
    "description",
    "version",
    "created_at",
    "updated_at",
]
GUIDE_V1 = {"configurable": {"model_name": "openai", "system_prompt": "You are a helpful assistant."}}
GUIDE_V2 = {"configurable": {"model_name": "openai", "system_prompt": "You are an unhelpful assistant!"}}


def pytest_sessionfinish(session: pytest.Session) -> None:
    del session
    drop_made()

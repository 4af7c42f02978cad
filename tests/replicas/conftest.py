"""Replicas as a deployment runs them: separate `graphdock serve` processes on one PostgreSQL and
one Redis, each on a free port, killed with SIGTERM or SIGKILL by the test.

These always use the real PostgreSQL and Redis (whatever GRAPHDOCK_TEST_BACKEND says): there is
no such thing as replicas on one SQLite file. Without them they skip, and under CI they fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker import redis_url
from tests.postgres import database_for
from tests.processes import ServerProcess, launch, ready

# A replica is one `graphdock serve` process.
Replica = ServerProcess


class Replicas:
    """Starts `graphdock serve` processes sharing one database and Redis; stops them all at the end."""

    def __init__(self, folder: Path, database: str, broker: str) -> None:
        self._folder = folder
        self._database = database
        self._broker = broker
        self.started: list[Replica] = []

    def start(self, **flags: object) -> Replica:
        return self.start_together(1, **flags)[0]

    def start_together(self, count: int, **flags: object) -> list[Replica]:
        """`count` replicas launched at the same moment (on a new database: all migrating at once)."""
        flags = {"redis_url": self._broker, **flags}
        launched = [launch(self._folder, self._database, flags) for _ in range(count)]
        replicas = [ready(process, log) for process, log in launched]
        self.started += replicas
        return replicas

    def stop_all(self) -> None:
        for replica in self.started:
            replica.stop()


@pytest.fixture
def database(tmp_path: Path) -> str:
    return database_for(str(tmp_path / "replicas"))


@pytest.fixture
def replicas(tmp_path: Path, database: str) -> Iterator[Replicas]:
    running = Replicas(tmp_path, database, redis_url())
    yield running
    running.stop_all()

"""Replicas as a deployment runs them: separate `graphdock serve` processes on one PostgreSQL and
one Redis, each on a free port, killed with SIGTERM or SIGKILL by the test.

These always use the real PostgreSQL and Redis (whatever GRAPHDOCK_TEST_BACKEND says): there is
no such thing as replicas on one SQLite file. Without them they skip, and under CI they fail.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.broker import redis_url
from tests.conftest import GRAPHS
from tests.postgres import database_for

_LISTENING = re.compile(r"on (http://[\d.]+:\d+)")


@dataclass
class Replica:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, leases left to expire."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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
        launched = [self._launch(flags) for _ in range(count)]
        replicas = [Replica(_wait_for_url(process, log), process, log) for process, log in launched]
        self.started += replicas
        return replicas

    def _launch(self, flags: dict[str, object]) -> tuple[subprocess.Popen[bytes], Path]:
        log = self._folder / f"replica-{len(self.started)}-{time.monotonic_ns()}.log"
        argv = [sys.executable, "-m", "graphdock", "serve", "--config", str(GRAPHS), "--port", "0"]
        argv += ["--database-url", self._database, "--redis-url", self._broker, "--log-level", "warning"]
        for name, value in flags.items():
            argv += [f"--{name.replace('_', '-')}", str(value)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHDOCK_")}
        with log.open("wb") as out:
            process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        return process, log

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


def _wait_for_url(process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = _LISTENING.search(log.read_text(errors="replace"))
        if found:
            url = found.group(1)
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
        if process.poll() is not None:
            raise RuntimeError(f"replica exited with {process.returncode}:\n{log.read_text()}")
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"replica did not start:\n{log.read_text()}")

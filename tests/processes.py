"""`graphdock serve` as a separate process, as a deployment runs it: started on a free port, killed
with SIGKILL or stopped with SIGTERM by the test (the replica and crash-durability suites)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import GRAPHS

_LISTENING = re.compile(r"on (http://[\d.]+:\d+)")


@dataclass
class ServerProcess:
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


def launch(folder: Path, database: str, flags: dict[str, object]) -> tuple[subprocess.Popen[bytes], Path]:
    """Start `graphdock serve` on the test graphs and `database`; each flag is `--name value`.
    Returns at once: `ready` waits for it to answer."""
    log = folder / f"server-{time.monotonic_ns()}.log"
    argv = [sys.executable, "-m", "graphdock", "serve", "--config", str(GRAPHS), "--port", "0"]
    argv += ["--database-url", database, "--log-level", "warning"]
    for name, value in flags.items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHDOCK_")}
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    return process, log


def ready(process: subprocess.Popen[bytes], log: Path) -> ServerProcess:
    """The launched server once `GET /ok` answers 200 on the address it logged."""
    deadline = time.monotonic() + 300  # imports alone have taken two minutes on a busy 2-core machine
    while time.monotonic() < deadline:
        found = _LISTENING.search(log.read_text(errors="replace"))
        if found:
            url = found.group(1)
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    return ServerProcess(url, process, log)
            except httpx.TransportError:
                pass
        if process.poll() is not None:
            raise RuntimeError(f"graphdock exited with {process.returncode}:\n{log.read_text()}")
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"graphdock did not start:\n{log.read_text()}")


def start(folder: Path, database: str, **flags: object) -> ServerProcess:
    return ready(*launch(folder, database, flags))

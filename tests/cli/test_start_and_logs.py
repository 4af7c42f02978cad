"""`graphdock serve` as a user starts it: what it says at start and what it logs while runs fail (issue 17)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import GRAPHS, TESTS

TEMPLATE = TESTS / "graphs" / "template" / "langgraph.json"


@contextmanager
def serving(config: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`graphdock serve` on a free port at the default log level; yields its URL and its log file."""
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHDOCK_")}
    argv = [sys.executable, "-m", "graphdock", "serve", "--config", str(config), "--port", "0"]
    argv += ["--database-url", f"sqlite:///{tmp_path / 'db.sqlite3'}"]
    with log.open("w") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, text=True, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while "graphdock: serving" not in log.read_text():
            assert proc.poll() is None, f"graphdock exited with {proc.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"graphdock did not start:\n{log.read_text()}"
            time.sleep(0.1)
        found = re.search(r"graphdock: serving .* on (http://[\d.]+:\d+)", log.read_text())
        assert found is not None, log.read_text()
        url = found.group(1)
        while not _answers(url):  # the socket is bound before uvicorn accepts on it
            assert proc.poll() is None, f"graphdock exited with {proc.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"graphdock did not answer:\n{log.read_text()}"
            time.sleep(0.1)
        yield url, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/ok", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def test_a_missing_env_file_is_a_warning_not_a_failed_start(tmp_path: Path) -> None:
    with serving(TEMPLATE, tmp_path) as (url, log):
        assert httpx.get(url + "/ok", timeout=10).status_code == 200
        said = log.read_text()
    line = next(line for line in said.splitlines() if "config.env_file_missing" in line)
    assert "[warning" in line, said
    assert str(TEMPLATE.parent / ".env") in line, said


def test_a_graphs_exception_is_logged_with_its_traceback_and_the_runs_identity(tmp_path: Path) -> None:
    with serving(GRAPHS, tmp_path) as (url, log):
        run = httpx.post(
            url + "/runs/wait", json={"assistant_id": "failing", "input": {"text": "boom"}}, timeout=30
        )
        assert run.status_code == 200, run.text
        assert run.json()["__error__"]["error"] == "ValueError"
        run_id = run.headers["Content-Location"].rsplit("/", 1)[1]
        deadline = time.monotonic() + 30
        while "run.graph_failed" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        said = log.read_text()
    line = next(line for line in said.splitlines() if "run.graph_failed" in line)
    assert "[error" in line, line
    for part in (
        f"run_id={run_id}",
        "thread_id=",
        "graph_id=failing",
        "assistant_version=1",
        "assistant_id=",
    ):
        assert part in line, line
    assert "Traceback (most recent call last)" in said, said
    assert "ValueError: cannot handle 'boom'" in said, said

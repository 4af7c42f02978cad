"""One SQLite file, one process: a second `graphdock serve` on a served file is refused at start
with a message naming it (it would claim the first one's runs and leave their clients waiting),
and a file that is corrupt, or locked by another program, is one short message naming the file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import GRAPHS
from tests.processes import launch, ready, start


def _cli(command: str, database: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "graphdock", command, "--config", str(GRAPHS), "--database-url", database]
    if command == "serve":
        argv += ["--port", "0", "--log-level", "warning"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHDOCK_")}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)


def test_a_second_server_on_a_served_sqlite_file_is_refused_and_the_first_keeps_serving(
    tmp_path: Path,
) -> None:
    path = tmp_path / "graphdock.sqlite3"
    first = start(tmp_path, f"sqlite:///{path}")
    try:
        thread = httpx.post(f"{first.url}/threads", json={}, timeout=60).json()["thread_id"]
        second, log = launch(tmp_path, f"sqlite:///{path}", {})
        try:
            ready(second, log).stop()
            pytest.fail("a second server started on the same SQLite file")
        except RuntimeError:  # it exited instead of serving
            pass
        finally:
            if second.poll() is None:
                second.kill()
                second.wait()
        output = log.read_text()
        assert second.returncode == 2, output
        assert f"{path} is in use by another graphdock process" in output
        assert "Traceback" not in output
        assert _cli("migrate", f"sqlite:///{path}").returncode == 2  # nor migrated under it

        # The first server's runs are still its own: a delayed run and a waited run both finish.
        delayed = httpx.post(
            f"{first.url}/threads/{thread}/runs",
            json={"assistant_id": "echo", "input": {"text": "later"}, "after_seconds": 1},
            timeout=60,
        )
        assert delayed.status_code == 200, delayed.text
        joined = httpx.get(f"{first.url}/threads/{thread}/runs/{delayed.json()['run_id']}/join", timeout=120)
        assert joined.status_code == 200, joined.text
        waited = httpx.post(
            f"{first.url}/threads/{thread}/runs/wait",
            json={"assistant_id": "echo", "input": {"text": "now"}},
            timeout=120,
        )
        assert waited.status_code == 200, waited.text
    finally:
        first.stop()
    # Once the first has stopped, the file is free again.
    assert _cli("migrate", f"sqlite:///{path}").returncode == 0


def test_a_corrupt_sqlite_file_is_one_message_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "graphdock.sqlite3"
    path.write_bytes(b"this is not a database" * 300)
    for command in ("migrate", "serve"):
        done = _cli(command, f"sqlite:///{path}")
        assert done.returncode == 2, done.stderr
        assert f"graphdock: {path}: not a usable SQLite database" in done.stderr
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) <= 3, done.stderr


def test_a_sqlite_file_another_program_keeps_locked_is_one_message_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "graphdock.sqlite3"
    assert _cli("migrate", f"sqlite:///{path}").returncode == 0
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # a real exclusive lock on the real file, as sqlite3 takes it
    try:
        done = _cli("serve", f"sqlite:///{path}")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert done.returncode == 2, done.stderr
    assert f"graphdock: {path}: the database is locked by another program" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 3, done.stderr

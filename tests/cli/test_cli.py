"""The `graphdock` command as a user runs it: real processes, real ports, real SQLite files."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import EXAMPLE, TESTS
from tests.postgres import database_for

GRAPHDOCK = [sys.executable, "-m", "graphdock"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def running(args: list[str], cwd: Path, port: int) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHDOCK_")}
    proc = subprocess.Popen(
        [*GRAPHDOCK, *args, "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"graphdock exited with {proc.returncode}:\n{proc.stdout.read() if proc.stdout else ''}"
                )
            try:
                if httpx.get(url + "/ok", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "graphdock did not answer /ok within 60 s"
            time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the bundled example, as a user's own project folder."""
    shutil.copytree(EXAMPLE.parent, tmp_path / "project")
    return tmp_path / "project"


def test_serve_stores_everything_under_dot_graphdock_and_survives_a_restart(project: Path) -> None:
    port = _free_port()
    with running(["serve"], project, port) as url:
        a = httpx.post(url + "/assistants", json={"graph_id": "agent", "name": "kept"}).json()
        httpx.patch(url + f"/assistants/{a['assistant_id']}", json={"name": "kept v2"})
    assert (project / ".graphdock" / "graphdock.sqlite3").is_file()
    with running(["serve"], project, port) as url:
        again = httpx.get(url + f"/assistants/{a['assistant_id']}").json()
        assert (again["name"], again["version"]) == ("kept v2", 2)


def test_dev_reloads_and_answers_like_serve(project: Path) -> None:
    with running(["dev"], project, _free_port()) as url:
        r = httpx.post(url + "/assistants/search", json={"metadata": {"created_by": "system"}})
        assert [a["graph_id"] for a in r.json()] == ["agent"]


def test_a_busy_port_is_a_clear_error_naming_the_flag(project: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for command in ("serve", "dev"):
            done = subprocess.run(
                [*GRAPHDOCK, command, "--port", str(port)],
                cwd=project,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 2, done.stderr
            assert f"port {port}" in done.stderr, done.stderr
            assert "--port" in done.stderr, done.stderr
            # `make dev` passes its own --port, which beats GRAPHDOCK_PORT: the message names its way.
            assert "make dev PORT=" in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("broken/langgraph.json", r"raises\.py.*RuntimeError"),
        ("missing.json", r"missing\.json: no such file"),
        ("langgraph.unset-webhook-header.json", r"LG_WEBHOOK_NEVER_SET_BY_ANYONE is not set"),
        ("langgraph.secret-webhook-header.json", r"only LG_WEBHOOK_\* variables may be used, not HOME"),
        ("langgraph.bad-webhooks.json", r"webhooks\.url\.allowed_ports must be a list of port numbers"),
    ],
)
def test_a_graph_or_config_that_fails_to_load_stops_start_up_with_a_message_naming_it(
    config: str, expected: str
) -> None:
    done = subprocess.run(
        [*GRAPHDOCK, "serve", "--config", str(TESTS / "graphs" / config), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert re.search(expected, done.stderr), done.stderr
    assert "Traceback" not in done.stderr, "a load error is one clear message, not a traceback"


def test_migrate_creates_the_database_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db' / 'x.sqlite3'}"
    for _ in range(2):
        done = subprocess.run(
            [*GRAPHDOCK, "migrate", "--config", str(EXAMPLE), "--database-url", url],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "db" / "x.sqlite3").is_file()


def test_serve_on_postgresql_keeps_assistants_across_restarts(project: Path, tmp_path: Path) -> None:
    url = database_for(str(tmp_path / "cli-postgres"))
    port = _free_port()
    with running(["serve", "--database-url", url], project, port) as served:
        a = httpx.post(served + "/assistants", json={"graph_id": "agent", "name": "on postgres"}).json()
        httpx.patch(served + f"/assistants/{a['assistant_id']}", json={"name": "on postgres, v2"})
    with running(["serve", "--database-url", url], project, port) as served:
        again = httpx.get(served + f"/assistants/{a['assistant_id']}").json()
        assert (again["name"], again["version"]) == ("on postgres, v2", 2)


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_an_unreachable_database_is_one_clear_message(command: str) -> None:
    url = "postgresql://nobody@127.0.0.1:1/nothing"
    args = [*GRAPHDOCK, command, "--config", str(EXAMPLE), "--database-url", url]
    done = subprocess.run(
        [*args, "--port", "0"] if command == "serve" else args, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "cannot reach PostgreSQL at postgresql://nobody@127.0.0.1:1/nothing" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def _start_up_lines(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """What `graphdock serve` prints up to the line saying it serves (then it is stopped)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHDOCK_")}
    proc = subprocess.Popen(
        [*GRAPHDOCK, "serve", "--port", "0", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "graphdock: serving" in line:
                break
        return "".join(lines)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.mark.parametrize(
    ("host", "env", "warned"),
    [
        ("0.0.0.0", {}, True),
        ("0.0.0.0", {"GRAPHDOCK_API_KEYS": "ops:ops-key-123456"}, False),
        ("127.0.0.1", {}, False),
    ],
)
def test_serving_beyond_loopback_without_auth_warns_at_start(
    project: Path, host: str, env: dict[str, str], warned: bool
) -> None:
    output = _start_up_lines(["--host", host], project, env)
    assert "graphdock: serving" in output, output
    assert ("WARNING: listening on 0.0.0.0 with no authentication" in output) is warned, output


def test_custom_auth_and_api_keys_together_are_refused_at_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [*GRAPHDOCK, "serve", "--config", str(TESTS / "graphs" / "auth" / "langgraph.json"), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GRAPHDOCK_API_KEYS": "ops:ops-key-123456"},
    )
    assert done.returncode == 2, done.stderr
    assert "choose one" in done.stderr, done.stderr


def test_serve_keeps_an_idle_connection_open_longer_than_its_clients_do(project: Path) -> None:
    """httpx drops an idle connection after 5 s, a load balancer after 60; the server must keep
    it longer, or a request sent just as the server closes fails (uvicorn's default is 5 s)."""
    request = b"GET /ok HTTP/1.1\r\nHost: graphdock\r\n\r\n"
    with running(["serve"], project, _free_port()) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(request)
            first = _response(conn)
            time.sleep(6)  # beyond httpx's and uvicorn's 5 s
            conn.sendall(request)
            second = _response(conn)  # b"" when the server has closed the connection
    assert first.startswith(b"HTTP/1.1 200")
    assert second.startswith(b"HTTP/1.1 200"), second


def _response(conn: socket.socket) -> bytes:
    """One whole response to GET /ok (its body is `{"ok":true}`), or what came before a close."""
    received = b""
    while not received.endswith(b"}"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        received += chunk
    return received

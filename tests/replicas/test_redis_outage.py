"""Redis goes away under a replica: a new `POST .../runs/stream` never answers with a silent
stream. The run still executes (PostgreSQL holds it), and the stream ends with an `error` event
saying that Redis, which relays run events, is unreachable.

The test starts a redis-server of its own on a free port and stops it (never the shared one).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis

from graphdock.settings import Settings
from tests.conftest import GRAPHS, serve
from tests.needs import unavailable
from tests.postgres import database_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed")
    port = _free_port()
    argv = [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 60
    while True:
        try:
            with redis.Redis.from_url(url, socket_connect_timeout=1) as client:
                client.ping()
            break
        except redis.RedisError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("the test's redis-server did not start")
            time.sleep(0.05)
    try:
        yield url, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def _events(response: httpx.Response) -> list[tuple[str, bytes]]:
    events: list[tuple[str, bytes]] = []
    name = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, line.removeprefix("data: ").encode()))
    return events


def test_a_stream_created_while_redis_is_away_says_why_and_the_run_still_completes(
    own_redis: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    url, process = own_redis
    settings = Settings(config=GRAPHS, database_url=database_for(str(tmp_path / "db")), redis_url=url)
    with serve(settings) as server, httpx.Client(base_url=server.url, timeout=120) as http:
        thread = http.post("/threads", json={}).json()["thread_id"]
        process.terminate()  # Redis goes away; PostgreSQL stays
        process.wait(timeout=30)

        with http.stream(
            "POST",
            f"/threads/{thread}/runs/stream",
            json={"assistant_id": "echo", "input": {"text": "hi"}, "stream_mode": ["values"]},
        ) as response:
            assert response.status_code == 200
            events = _events(response)
        names = [name for name, _ in events]
        assert "values" in names or "error" in names, events  # never a silent stream
        if "values" not in names:
            error = orjson.loads(dict(events)["error"])
            assert error["error"] == "StreamUnavailable"
            assert "Redis" in error["message"]

        runs = http.get(f"/threads/{thread}/runs").json()
        run_id = runs[0]["run_id"]
        joined = http.get(f"/threads/{thread}/runs/{run_id}/join")
        assert joined.status_code == 200, joined.text
        assert joined.json()["text"] == "hi"
        assert http.get(f"/threads/{thread}/runs/{run_id}").json()["status"] == "success"

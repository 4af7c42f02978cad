"""The run worker outlives a database outage: claims fail, `/ok` says so with a 503, and once the
database is back a delayed run and a new `runs.wait` both complete; the log names the failure and
the recovery.

On SQLite the outage is another process holding an exclusive lock on the real file for longer than
the busy timeout; on PostgreSQL, the server's database refusing connections and its sessions
terminated (what a failover or a restart of PostgreSQL looks like to graphdock).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import RunningServer
from tests.postgres import backend


def _wait_for(check: Any, what: str, seconds: float = 120) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def _stalls_reports_unhealthy_and_recovers(
    server: RunningServer,
    outage: Callable[[], AbstractContextManager[None]],
    capfd: pytest.CaptureFixture[str],
    cause: str,
) -> None:
    """A delayed run falls due during `outage`: /ok is 503 naming `cause`, then everything works."""
    http = httpx.Client(base_url=server.url, timeout=120)
    try:
        assert http.get("/ok").json() == {"ok": True}
        thread = http.post("/threads", json={}).json()["thread_id"]
        delayed = http.post(
            f"/threads/{thread}/runs",
            json={"assistant_id": "echo", "input": {"text": "late"}, "after_seconds": 1},
        )
        assert delayed.status_code == 200, delayed.text

        with outage():
            unhealthy = _wait_for(
                lambda: (r := http.get("/ok")).status_code == 503 and r, "/ok to report the outage"
            )
            assert unhealthy.json()["ok"] is False
            assert "the run worker cannot claim runs" in unhealthy.json()["detail"]
            assert cause in unhealthy.json()["detail"]

        _wait_for(lambda: http.get("/ok").status_code == 200, "/ok to recover")
        # No connection or handle the outage broke reaches a request now.
        for _ in range(12):
            r = http.get(f"/threads/{thread}")
            assert r.status_code == 200, r.text
        run_id = delayed.json()["run_id"]
        joined = http.get(f"/threads/{thread}/runs/{run_id}/join")
        assert joined.status_code == 200, joined.text
        assert joined.json()["text"] == "late"
        assert http.get(f"/threads/{thread}/runs/{run_id}").json()["status"] == "success"
        waited = http.post("/runs/wait", json={"assistant_id": "echo", "input": {"text": "after"}})
        assert waited.status_code == 200, waited.text
        assert waited.json()["text"] == "after"
        # The log says so too (the server runs in this process): the failed claim, then recovery.
        logged = capfd.readouterr()
        output = logged.out + logged.err
        assert "worker.claim_failed" in output
        assert "worker.recovered" in output
        assert output.index("worker.claim_failed") < output.index("worker.recovered")
    finally:
        http.close()


@contextmanager
def _locked(db: Path) -> Iterator[None]:
    """Another process holds the real write lock on the real file, until the end."""
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@contextmanager
def _refusing(url: str) -> Iterator[None]:
    """The database at `url` refuses new connections and its open ones are cut, until the end."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


@pytest.mark.skipif(backend() == "postgres", reason="a lock on the SQLite file")
def test_a_locked_database_stalls_runs_reports_unhealthy_and_then_recovers(
    start_server: Callable[..., RunningServer], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "graphdock.sqlite3"
    # The delayed run falls due, its claim waits out the 5 s busy timeout and fails.
    _stalls_reports_unhealthy_and_recovers(start_server(db=db), partial(_locked, db), capfd, "busy")


@pytest.mark.skipif(backend() != "postgres", reason="a PostgreSQL database refusing connections")
def test_an_unreachable_postgres_stalls_runs_reports_unhealthy_and_then_recovers(
    start_server: Callable[..., RunningServer], capfd: pytest.CaptureFixture[str]
) -> None:
    server = start_server()
    outage = partial(_refusing, server.settings.database_url)
    _stalls_reports_unhealthy_and_recovers(server, outage, capfd, "unreachable")

"""The run worker outlives a database outage: while another process holds an exclusive lock on the
real SQLite file for longer than the busy timeout, claims fail, `/ok` says so with a 503, and once
the lock is released a delayed run and a new `runs.wait` both complete; the log names the failure
and the recovery.

SQLite only: the outage is SQLite's (a file lock another program holds). PostgreSQL's equivalent,
an unreachable server, is what the ticker's and the loop's same retry path handle.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.postgres import backend

pytestmark = pytest.mark.skipif(backend() == "postgres", reason="a lock on the SQLite file")


def _wait_for(check: Any, what: str, seconds: float = 120) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_a_locked_database_stalls_runs_reports_unhealthy_and_then_recovers(
    start_server: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "graphdock.sqlite3"
    server = start_server(db=db)
    http = httpx.Client(base_url=server.url, timeout=120)
    try:
        assert http.get("/ok").json() == {"ok": True}
        thread = http.post("/threads", json={}).json()["thread_id"]
        delayed = http.post(
            f"/threads/{thread}/runs",
            json={"assistant_id": "echo", "input": {"text": "late"}, "after_seconds": 1},
        )
        assert delayed.status_code == 200, delayed.text

        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # the real write lock on the real file
        try:
            # The delayed run falls due, its claim waits out the 5 s busy timeout and fails.
            unhealthy = _wait_for(
                lambda: (r := http.get("/ok")).status_code == 503 and r, "/ok to report the outage"
            )
            assert unhealthy.json()["ok"] is False
            assert "the run worker cannot claim runs" in unhealthy.json()["detail"]
            assert "busy" in unhealthy.json()["detail"]
        finally:
            holder.execute("ROLLBACK")
            holder.close()

        _wait_for(lambda: http.get("/ok").status_code == 200, "/ok to recover")
        joined = http.get(f"/threads/{thread}/runs/{delayed.json()['run_id']}/join")
        assert joined.status_code == 200, joined.text
        assert joined.json()["text"] == "late"
        run = http.get(f"/threads/{thread}/runs/{delayed.json()['run_id']}").json()
        assert run["status"] == "success"
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

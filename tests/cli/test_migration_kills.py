"""SIGKILL `graphdock migrate` on a new database at several moments of its first run, then start
again: every later start completes (no lock left behind, no migration half applied or applied but
unrecorded), and the server then works. Real processes, a real SQLite file, the real PostgreSQL.

The moments are states the test sees in the database while the process runs (the file appears,
the bookkeeping table, the first tables, N migrations recorded, LangGraph's checkpoint tables);
the kill follows as soon as the state is seen, so it lands at or just after it.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yoyo

from graphdock.storage.postgres.store import MIGRATIONS as POSTGRES_MIGRATIONS
from graphdock.storage.sqlite.store import MIGRATIONS as SQLITE_MIGRATIONS
from tests.conftest import GRAPHS
from tests.postgres import database_for
from tests.processes import start

Query = Callable[[str], Any]  # one SQL statement -> its first row's first value (None if none)

MOMENTS: dict[str, str] = {
    "the bookkeeping table exists": "_yoyo_migration",
    "the assistants table exists": "assistants",
    "two migrations are recorded": "#2",
    "the threads table exists": "threads",
    "four migrations are recorded": "#4",
    "the checkpoint tables exist": "checkpoints",
}


def _argv(database: str) -> list[str]:
    return [sys.executable, "-m", "graphdock", "migrate", "--config", str(GRAPHS), "--database-url", database]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GRAPHDOCK_")}


def _sqlite_query(path: Path) -> Query:
    def query(sql: str) -> Any:
        if not path.exists():
            return None
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0) as conn:
                row = conn.execute(sql).fetchone()
        except sqlite3.Error:  # mid-write, or the table is not there yet
            return None
        return row[0] if row else None

    return query


def _postgres_query(url: str) -> Query:
    def query(sql: str) -> Any:
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                row = conn.execute(sql).fetchone()
        except psycopg.Error:
            return None
        return row[0] if row else None

    return query


def _reached(query: Query, moment: str, backend: str) -> bool:
    if moment.startswith("#"):
        return (query("SELECT count(*) FROM _yoyo_migration") or 0) >= int(moment[1:])
    if backend == "sqlite":
        return query(f"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{moment}'") == 1
    return query(f"SELECT to_regclass('public.{moment}') IS NOT NULL") is True


def _kill_at(database: str, query: Query, moment: str, backend: str, log: Path) -> bool:
    """Start a migration, SIGKILL it once `moment` is seen; True if it was still running then."""
    with log.open("ab") as out:
        process = subprocess.Popen(_argv(database), stdout=out, stderr=subprocess.STDOUT, env=_env())
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline and not _reached(query, moment, backend):
        time.sleep(0.001)
    running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return running


def _migrate(database: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_argv(database), capture_output=True, text=True, env=_env(), timeout=300)


def _recorded(query: Query) -> int:
    return int(query("SELECT count(*) FROM _yoyo_migration") or 0)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_first_start_killed_during_migrations_never_blocks_the_next(backend: str, tmp_path: Path) -> None:
    killed_mid_run = 0
    for n, moment in enumerate(MOMENTS.values()):
        if backend == "sqlite":
            path = tmp_path / f"db{n}" / "graphdock.sqlite3"
            path.parent.mkdir()
            database, query, folder = f"sqlite:///{path}", _sqlite_query(path), SQLITE_MIGRATIONS
        else:
            database = database_for(str(tmp_path / f"db{n}"))
            query, folder = _postgres_query(database), POSTGRES_MIGRATIONS
        killed_mid_run += _kill_at(database, query, moment, backend, tmp_path / "killed.log")
        # A second kill, while the first one's leftovers are being taken over.
        killed_mid_run += _kill_at(database, query, "#1", backend, tmp_path / "killed.log")

        done = _migrate(database)
        assert done.returncode == 0, f"after a kill at {moment!r}:\n{done.stderr[-3000:]}"
        assert _recorded(query) == len(yoyo.read_migrations(str(folder))), moment
    # The moments are not all passed before the test sees them: most kills land mid-run.
    assert killed_mid_run >= 3

    # The last database serves: a thread, a run to its end.
    server = start(tmp_path, database)
    try:
        thread = httpx.post(f"{server.url}/threads", json={}, timeout=60)
        assert thread.status_code == 200, thread.text
        run = httpx.post(
            f"{server.url}/threads/{thread.json()['thread_id']}/runs/wait",
            json={"assistant_id": "echo", "input": {"text": "after"}},
            timeout=120,
        )
        assert run.status_code == 200, run.text
    finally:
        server.stop()


def test_a_sqlite_database_left_with_unrecorded_tables_by_an_older_graphdock_migrates(
    tmp_path: Path,
) -> None:
    # What a kill between applying 0004 and recording it left before: its tables, no record.
    path = tmp_path / "graphdock.sqlite3"
    backend = yoyo.get_backend(f"sqlite:///{path}")
    every = yoyo.read_migrations(str(SQLITE_MIGRATIONS))
    with backend.lock():
        backend.apply_migrations(every.filter(lambda m: m.id < "0005"))
    backend.execute("DELETE FROM _yoyo_migration WHERE migration_id LIKE '0004%'")
    backend.connection.close()

    done = _migrate(f"sqlite:///{path}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert _recorded(_sqlite_query(path)) == len(every)

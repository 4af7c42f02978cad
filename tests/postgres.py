"""The PostgreSQL the tests use: real, never mocked; skipped on a laptop without one, required under CI."""

from __future__ import annotations

import hashlib
import os

import psycopg
import pytest

from tests.needs import unavailable

# The test database is created on first use and emptied before each test that uses it.
URL = os.environ.get("GRAPHDOCK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/graphdock_test")


def postgres_url() -> str:
    """The URL of an existing, reachable test database; skips (or fails under CI) otherwise."""
    admin = URL.rsplit("/", 1)[0] + "/postgres"
    name = URL.rsplit("/", 1)[1]
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL is not reachable at {admin} ({exc}); set GRAPHDOCK_TEST_POSTGRES_URL"
        unavailable(reason)
    return URL


def empty(url: str) -> None:
    """Remove every row graphdock stored, keeping the schema (migrations are applied on open)."""
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            name
            for name in ("assistants", "assistant_versions", "threads", "runs", "crons", "sweeps")
            if (conn.execute("SELECT to_regclass(%s)", (f"public.{name}",)).fetchone() or [None])[0]
        ]
        if tables:
            conn.execute(f"TRUNCATE {', '.join(tables)}")


_made: dict[str, str] = {}


def database_for(key: str) -> str:
    """A database of its own for each test server (keyed by the SQLite path it would have used):
    new and empty on first use, the same one on a restart."""
    if key not in _made:
        name = "gd_" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:16]
        base = postgres_url()
        with psycopg.connect(base.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        _made[key] = base.rsplit("/", 1)[0] + "/" + name
    return _made[key]


def backend() -> str:
    """Which database the API suite's servers use: GRAPHDOCK_TEST_BACKEND=sqlite (default) or postgres."""
    chosen = os.environ.get("GRAPHDOCK_TEST_BACKEND", "sqlite")
    if chosen not in {"sqlite", "postgres"}:
        raise pytest.UsageError(f"GRAPHDOCK_TEST_BACKEND={chosen!r}: expected sqlite or postgres")
    return chosen


def drop_made() -> None:
    """Drop the databases this session made (called when the session ends)."""
    if not _made:
        return
    with psycopg.connect(URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        for url in _made.values():
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    _made.clear()

"""The PostgreSQL the tests use: real, never mocked; skipped on a laptop without one, required under CI."""

from __future__ import annotations

import os

import psycopg
import pytest

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
        if os.environ.get("CI"):
            pytest.fail(reason + " — under CI these tests must run")
        pytest.skip(reason)
    return URL


def empty(url: str) -> None:
    """Remove every row graphdock stored, keeping the schema (migrations are applied on open)."""
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('public.assistants')").fetchone()
        if exists and exists[0]:
            conn.execute("TRUNCATE assistants, assistant_versions")

"""PostgreSQL: migration 0014 counts the versions of assistants stored before it."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import yoyo

from graphdock.storage.migrations import apply_pending
from graphdock.storage.postgres.store import MIGRATIONS, PostgresStorage
from graphdock.storage.records import AssistantFilter, Page
from tests.postgres import postgres_url

AID = "00000000-0000-4000-8000-00000000000a"


async def test_assistants_stored_before_the_count_are_counted_by_the_migration(tmp_path: Path) -> None:
    base = postgres_url()
    url = base + "_0014"
    admin = base.rsplit("/", 1)[0] + "/postgres"
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        folder = tmp_path / "migrations"
        shutil.copytree(MIGRATIONS, folder, ignore=lambda _dir, names: [n for n in names if n[:4] >= "0014"])
        backend = yoyo.get_backend(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            apply_pending(backend, folder)
        finally:
            backend.connection.close()
        with psycopg.connect(url, autocommit=True) as conn:  # as an older graphdock wrote them
            conn.execute(
                "INSERT INTO assistants (assistant_id, graph_id, config, context, metadata, name,"
                " version, created_at, updated_at, last_version)"
                " VALUES (%s, 'agent', '{}', '{}', '{}', 'old', 3, now(), now(), 4)",
                (AID,),
            )
            for version in (1, 3, 4):
                conn.execute(
                    "INSERT INTO assistant_versions (assistant_id, graph_id, config, context, metadata, name,"
                    " version, created_at) VALUES (%s, 'agent', '{}', '{}', '{}', 'old', %s, now())",
                    (AID, version),
                )
        storage = PostgresStorage(url)
        await storage.open()  # applies 0014
        try:
            found, _ = await storage.search_assistants_with_tallies(
                AssistantFilter(), Page(), "created_at", True
            )
            assert [a.assistant_id for a, _ in found] == [AID]
            tally = found[0][1]
            assert tally is not None
            assert (tally.version_count, tally.next_version) == (3, 5)
        finally:
            await storage.close()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

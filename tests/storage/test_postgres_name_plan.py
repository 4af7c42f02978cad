"""PostgreSQL: a name search reads the pg_trgm index's matches before sorting them, and answers as
the plain query does (the one it runs where pg_trgm is not available)."""

from __future__ import annotations

import uuid

import psycopg

from graphdock.storage.name_search import head_rows
from graphdock.storage.postgres.rows import search_sql
from graphdock.storage.postgres.store import PostgresStorage
from graphdock.storage.records import AssistantFilter, Page, Snapshot
from tests.postgres import empty, postgres_url


async def test_a_name_search_plan_starts_from_the_trigram_index_and_matches_the_plain_query() -> None:
    url = postgres_url()
    empty(url)
    storage = PostgresStorage(url)
    await storage.open()
    try:
        assert storage._name_trigrams, "pg_trgm is available on the test server: the index should exist"
        for start in range(0, 3000, 500):
            for i in range(start, start + 500):
                snapshot = Snapshot("agent", {}, {}, {"n": i}, f"name {i}", None)
                await storage.create_assistant(str(uuid.uuid4()), snapshot, "raise")
    finally:
        await storage.close()
    where = AssistantFilter(name="Name 17")
    indexed, params = search_sql(where, "created_at", True, Page(limit=10), name_trigrams=True)
    plain, plain_params = search_sql(where, "created_at", True, Page(limit=10), name_trigrams=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE assistants")
        # A table this small is cheapest to scan; at 100,000 rows the planner picks the index itself.
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.execute("EXPLAIN " + indexed, params))
        assert "assistants_name_trgm" in plan, plan
        assert "One-Time Filter" in plan, plan
        # Without the fence the planner walks created_at and filters every row it meets.
        assert "assistants_name_trgm" not in "\n".join(
            r[0] for r in conn.execute("EXPLAIN " + plain, plain_params)
        )
        rows = conn.execute(indexed, params).fetchall()
        assert [r[5] for r in rows] == [
            "name 1799",
            "name 1798",
            *(f"name {i}" for i in range(1797, 1788, -1)),
        ]
        assert rows == conn.execute(plain, plain_params).fetchall()
        # A needle matching more rows than are sorted from the index walks, with the same answer.
        common, common_params = search_sql(
            AssistantFilter(name="name"), "name", False, Page(5, 7), name_trigrams=True
        )
        plain, plain_params = search_sql(
            AssistantFilter(name="name"), "name", False, Page(5, 7), name_trigrams=False
        )
        assert conn.execute(common, common_params).fetchall() == conn.execute(plain, plain_params).fetchall()


async def test_a_common_needle_never_reads_the_trigram_index_and_a_rare_one_pays_only_the_head() -> None:
    url = postgres_url()
    empty(url)
    storage = PostgresStorage(url)
    await storage.open()
    try:
        for i in range(300):
            snapshot = Snapshot("agent", {}, {}, {"n": i}, f"name {i}", None)
            await storage.create_assistant(str(uuid.uuid4()), snapshot, "raise")
    finally:
        await storage.close()
    head = head_rows(Page(limit=10), "created_at")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE assistants")
        conn.execute("SET enable_seqscan = off")  # as at 100,000 rows, where the planner picks indexes

        def analyzed(needle: str) -> list[str]:
            sql, params = search_sql(
                AssistantFilter(name=needle), "created_at", True, Page(10), name_trigrams=True
            )
            return [r[0] for r in conn.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql, params)]

        common = analyzed("NAME")
        # The newest rows held the page: it came from them, and the index matches were never read.
        hits = common.index("  CTE hits")
        assert "never executed" in common[hits + 1], "\n".join(common)
        assert not [
            line for line in common if "assistants_name_trgm" in line and "never executed" not in line
        ]
        rare = analyzed("name 17")
        # The head read its rows, no more, then the index served the page.
        heads = [line for line in rare if "Index Scan Backward using assistants_created_at" in line]
        assert any(f"(actual rows={head} loops=1)" in line for line in heads), "\n".join(rare)
        assert any("assistants_name_trgm" in line and "never executed" not in line for line in rare), rare

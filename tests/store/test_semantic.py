"""store.index: semantic search ranked by meaning (SQLite, sqlite-vec), and PostgreSQL without
pgvector refusing to start with one message that says so.

The embeddings are langchain_core's DeterministicFakeEmbedding (tests/graphs/memory/embeddings.py):
the same text always gets the same vector, so a query equal to a stored text must rank that item
first with a score of 1, whatever the other vectors are.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from tests.conftest import RunningServer, settings_for
from tests.postgres import backend
from tests.store.conftest import project

TEXTS = {
    "tea": "I like green tea in the morning",
    "lyon": "I live in Lyon near the river",
    "cat": "My cat is called Pixel",
    "job": "I work as a bicycle mechanic",
}

sqlite_only = pytest.mark.skipif(backend() == "postgres", reason="vector search needs pgvector, absent here")


@sqlite_only
async def test_semantic_search_ranks_by_meaning_with_scores(
    start_server: Callable[..., RunningServer],
) -> None:
    sdk = get_client(url=start_server(project("indexed.json")).url)
    for key, text in TEXTS.items():
        await sdk.store.put_item(["facts", "u1"], key, {"text": text, "topic": key})
    await sdk.store.put_item(["facts", "u2"], "other", {"text": TEXTS["cat"], "topic": "cat"})

    for key, text in TEXTS.items():
        found = (await sdk.store.search_items(["facts", "u1"], query=text, limit=4))["items"]
        assert found[0]["key"] == key
        scores = [i["score"] for i in found]
        assert scores[0] == pytest.approx(1.0)
        assert scores == sorted(scores, reverse=True)
        assert all(s < 0.99 for s in scores[1:])

    # A filter narrows what is ranked; a prefix narrows where.
    only_job = (await sdk.store.search_items(["facts"], query=TEXTS["cat"], filter={"topic": "job"}))["items"]
    assert [i["key"] for i in only_job] == ["job"]
    both_cats = (await sdk.store.search_items(["facts"], query=TEXTS["cat"], limit=2))["items"]
    assert sorted(i["key"] for i in both_cats) == ["cat", "other"]
    assert [i["score"] for i in both_cats] == pytest.approx([1.0, 1.0])
    await sdk.aclose()


@sqlite_only
async def test_what_a_graph_writes_is_indexed_and_recalled_by_meaning(
    start_server: Callable[..., RunningServer],
) -> None:
    sdk = get_client(url=start_server(project("indexed.json")).url)
    for text in TEXTS.values():
        await sdk.runs.wait(None, "memory", input={"user_id": "ann", "remember": text})
    # The graph's recall node searches with the query; the best match comes first.
    result = await sdk.runs.wait(None, "memory", input={"user_id": "ann", "recall": TEXTS["lyon"]})
    assert isinstance(result, dict)
    assert result["recalled"][0] == TEXTS["lyon"]
    assert result["count"] == 4
    # ... and the API ranks what the graph wrote.
    found = (await sdk.store.search_items(["memories", "ann"], query=TEXTS["job"], limit=1))["items"]
    assert found[0]["value"]["text"] == TEXTS["job"]
    assert found[0]["score"] == pytest.approx(1.0)
    await sdk.aclose()


@sqlite_only
async def test_an_item_put_with_index_false_is_not_ranked(start_server: Callable[..., RunningServer]) -> None:
    sdk = get_client(url=start_server(project("indexed.json")).url)
    await sdk.store.put_item(["p"], "plain", {"text": TEXTS["tea"]}, index=False)
    await sdk.store.put_item(["p"], "indexed", {"text": TEXTS["job"]})
    found = (await sdk.store.search_items(["p"], query=TEXTS["tea"]))["items"]
    assert [i["key"] for i in found] == ["indexed"]
    await sdk.aclose()


@pytest.mark.skipif(backend() != "postgres", reason="the refusal is PostgreSQL's (without pgvector)")
def test_postgres_without_pgvector_refuses_to_start_with_one_message(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "graphdock.sqlite3", project("indexed.json"))
    for command in ("migrate", "serve"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "graphdock",
                command,
                "--config",
                str(project("indexed.json")),
                "--database-url",
                settings.resolved_database_url,
                *(["--port", "0"] if command == "serve" else []),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert "pgvector" in done.stderr
        assert "Traceback" not in done.stderr

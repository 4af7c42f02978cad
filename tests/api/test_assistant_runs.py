"""GET /assistants/{id}/runs and run_stats in the versions list, through the SDK and httpx.

A version that fails where the one before did not is the story: version 1 runs `echo`, version 2
switches the graph to `failing`. Then who sees what, with per-owner threads on shared assistants.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.conftest import TESTS, RunningServer, serve, settings_for

SHARED_PROJECT = TESTS / "graphs" / "auth_shared" / "langgraph.json"


async def finished(
    client: LangGraphClient, thread_id: str | None, assistant_id: str, text: str
) -> dict[str, Any]:
    """Start a run and wait for its end, failed or not; returns the run."""
    if thread_id is None:
        thread_id = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread_id, assistant_id, input={"text": text})
    await client.runs.join(thread_id, run["run_id"])
    done: dict[str, Any] = dict(await client.runs.get(thread_id, run["run_id"]))
    assert done["status"] in ("success", "error"), done
    return done


async def test_runs_by_version_and_run_stats_show_the_failing_version(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    a = await client.assistants.create("echo", name="Flaky")
    aid = a["assistant_id"]
    thread = (await client.threads.create())["thread_id"]
    ok = [await finished(client, thread, aid, f"ok {n}") for n in range(2)]
    await client.assistants.update(aid, graph_id="failing")
    bad = await finished(client, None, aid, "boom")
    assert [r["status"] for r in ok] == ["success", "success"]
    assert bad["status"] == "error"

    # Through the SDK's own HTTP client: newest first, across both threads.
    runs = await client.http.get(f"/assistants/{aid}/runs")
    assert [r["run_id"] for r in runs] == [bad["run_id"], ok[1]["run_id"], ok[0]["run_id"]]
    assert [r["assistant_version"] for r in runs] == [2, 1, 1]
    assert {r["thread_id"] for r in runs} == {thread, bad["thread_id"]}
    v1 = await client.http.get(f"/assistants/{aid}/runs", params={"version": 1})
    assert [r["run_id"] for r in v1] == [ok[1]["run_id"], ok[0]["run_id"]]
    errors = await client.http.get(f"/assistants/{aid}/runs", params={"status": "error"})
    assert [r["run_id"] for r in errors] == [bad["run_id"]]
    assert errors[0]["error"]["error"] == "ValueError"
    none = await client.http.get(f"/assistants/{aid}/runs", params={"version": 2, "status": "success"})
    assert none == []

    # Paged like the other searches.
    page = await http.get(f"/assistants/{aid}/runs", params={"limit": 2})
    assert page.status_code == 200, page.text
    assert len(page.json()) == 2
    assert page.headers["x-pagination-next"] == "2"
    last = await http.get(f"/assistants/{aid}/runs", params={"limit": 2, "offset": 2})
    assert [r["run_id"] for r in last.json()] == [ok[0]["run_id"]]
    assert "x-pagination-next" not in last.headers
    assert last.headers["x-pagination-total"] == "3"

    # run_stats on each item of the SDK's versions list.
    versions = await client.assistants.get_versions(aid)
    stats = {v["version"]: v["run_stats"] for v in versions}  # type: ignore[typeddict-item]
    assert (stats[2]["runs"], stats[2]["errors"]) == (1, 1)
    assert (stats[1]["runs"], stats[1]["errors"]) == (2, 0)
    for s in stats.values():
        assert s["p50_duration_ms"] >= 0
        assert s["p95_duration_ms"] >= s["p50_duration_ms"]
    assert stats[2]["last_run_at"] == bad["created_at"]
    assert stats[1]["last_run_at"] == ok[1]["created_at"]

    # A version nothing ran yet: zeros, no durations.
    await client.assistants.update(aid, graph_id="echo")
    fresh = (await client.assistants.get_versions(aid, limit=1))[0]
    assert fresh["version"] == 3
    assert fresh["run_stats"] == {  # type: ignore[typeddict-item]
        "runs": 0,
        "errors": 0,
        "p50_duration_ms": None,
        "p95_duration_ms": None,
        "last_run_at": None,
    }


async def test_version_count_and_next_version_come_from_the_server(
    client: LangGraphClient, http: httpx.AsyncClient, tag: dict[str, str]
) -> None:
    a = await client.assistants.create("echo", metadata=tag)
    aid = a["assistant_id"]
    await client.assistants.update(aid, name="two")
    await client.assistants.update(aid, name="three")
    await client.assistants.set_latest(aid, 2)
    r = await http.delete(f"/assistants/{aid}/versions/3")
    assert r.status_code == 204, r.text

    summary = await client.http.get(f"/assistants/{aid}/versions/summary")
    assert summary == {"assistant_id": aid, "version": 2, "version_count": 2, "next_version": 4}
    found = await client.assistants.search(metadata=tag)
    assert [(x["version_count"], x["next_version"]) for x in found] == [(2, 4)]  # type: ignore[typeddict-item]
    selected = await http.post(
        "/assistants/search", json={"metadata": tag, "select": ["assistant_id", "next_version"]}
    )
    assert selected.json() == [{"assistant_id": aid, "next_version": 4}]
    # The next update gets that number.
    assert (await client.assistants.update(aid, name="four"))["version"] == 4


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ({"version": "0"}, ["query", "version"]),
        ({"version": "x"}, ["query", "version"]),
        ({"status": "done"}, ["query", "status"]),
        ({"limit": "0"}, ["query", "limit"]),
        ({"limit": "1001"}, ["query", "limit"]),
        ({"offset": "-1"}, ["query", "offset"]),
    ],
)
async def test_bad_queries_are_422_naming_the_parameter(
    http: httpx.AsyncClient, query: dict[str, str], loc: list[str]
) -> None:
    a = await http.post("/assistants", json={"graph_id": "echo"})
    r = await http.get(f"/assistants/{a.json()['assistant_id']}/runs", params=query)
    assert r.status_code == 422, r.text
    assert r.json()["loc"] == loc
    assert r.json()["detail"].startswith(loc[1])


async def test_unknown_assistant_is_404(http: httpx.AsyncClient) -> None:
    missing = "00000000-0000-4000-8000-00000000beef"
    for path in (f"/assistants/{missing}/runs", f"/assistants/{missing}/versions/summary"):
        r = await http.get(path)
        assert r.status_code == 404, r.text


async def test_422_bodies_carry_the_field_path_as_data(http: httpx.AsyncClient) -> None:
    r = await http.post("/assistants", json={"graph_id": "agent", "context": {"model_name": 3}})
    assert r.status_code == 422, r.text
    assert r.json()["loc"] == ["context", "model_name"]
    r = await http.post("/assistants", json={"graph_id": "echo", "name": 5})
    assert r.status_code == 422, r.text
    assert r.json()["loc"] == ["name"]


# -- who sees what ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serve(
        settings_for(tmp_path_factory.mktemp("shared-auth") / "graphdock.sqlite3", SHARED_PROJECT)
    ) as running:
        yield running


@pytest.fixture
async def users(shared_server: RunningServer) -> AsyncIterator[dict[str, LangGraphClient]]:
    made = {
        u: get_client(url=shared_server.url, headers={"Authorization": f"Bearer token-{u}"}, api_key=None)
        for u in ("alice", "bob", "carol", "dave")
    }
    yield made
    for c in made.values():
        await c.aclose()


async def test_runs_on_threads_a_user_cannot_see_are_neither_listed_nor_counted(
    users: dict[str, LangGraphClient], shared_server: RunningServer
) -> None:
    alice, bob = users["alice"], users["bob"]
    aid = (await alice.assistants.create("echo", name="Team bot"))["assistant_id"]
    mine = [await finished(alice, None, aid, "a1"), await finished(alice, None, aid, "a2")]
    theirs = await finished(bob, None, aid, "b1")

    assert [r["run_id"] for r in await alice.http.get(f"/assistants/{aid}/runs")] == [
        mine[1]["run_id"],
        mine[0]["run_id"],
    ]
    assert [r["run_id"] for r in await bob.http.get(f"/assistants/{aid}/runs")] == [theirs["run_id"]]
    alice_stats = (await alice.assistants.get_versions(aid))[0]["run_stats"]  # type: ignore[typeddict-item]
    bob_stats = (await bob.assistants.get_versions(aid))[0]["run_stats"]  # type: ignore[typeddict-item]
    assert (alice_stats["runs"], bob_stats["runs"]) == (2, 1)

    async with httpx.AsyncClient(base_url=shared_server.url, timeout=30) as raw:
        carol = {"Authorization": "Bearer token-carol"}
        dave = {"Authorization": "Bearer token-dave"}
        # carol may not see the assistant: 404, exactly like a missing one.
        for path in (f"/assistants/{aid}/runs", f"/assistants/{aid}/versions/summary"):
            r = await raw.get(path, headers=carol)
            assert r.status_code == 404, r.text
        r = await raw.post(f"/assistants/{aid}/versions", json={}, headers=carol)
        assert r.status_code == 404, r.text
        # dave may read the assistant but not search threads: no runs for him, stats null.
        r = await raw.get(f"/assistants/{aid}/runs", headers=dave)
        assert r.status_code == 403, r.text
        r = await raw.post(f"/assistants/{aid}/versions", json={}, headers=dave)
        assert r.status_code == 200, r.text
        assert [v["run_stats"] for v in r.json()] == [None]
        r = await raw.get(f"/assistants/{aid}/runs")
        assert r.status_code == 401, r.text

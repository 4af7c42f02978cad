"""Versions through HTTP: what each PATCH field does, rollbacks, concurrency, validation, restarts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.api.http_projects import GRAPHS, project
from tests.conftest import ASSISTANT_FIELDS, GUIDE_V1, GUIDE_V2, RunningServer


async def _versions(client: LangGraphClient, assistant_id: str) -> list[int]:
    return [v["version"] for v in await client.assistants.get_versions(assistant_id, limit=1000)]


async def test_create_answers_200_with_version_1_and_the_sdk_fields(
    client: LangGraphClient, tag: dict[str, str]
) -> None:
    a = await client.assistants.create("agent", config=GUIDE_V1, metadata=tag, name="", description="d")
    assert set(a) == set(ASSISTANT_FIELDS)
    assert a["version"] == 1
    assert a["name"] == "Untitled", "an empty name becomes Untitled"
    assert a["created_at"] == a["updated_at"]
    assert a["created_at"].endswith("+00:00")
    assert uuid.UUID(a["assistant_id"]).version == 4


async def test_if_exists_raise_is_409_and_do_nothing_returns_the_existing_assistant_unchanged(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    aid = str(uuid.uuid4())
    first = await client.assistants.create("agent", config=GUIDE_V1, assistant_id=aid, name="first")
    r = await http.post("/assistants", json={"graph_id": "agent", "assistant_id": aid})
    assert r.status_code == 409, r.text
    again = await client.assistants.create(
        "agent", config=GUIDE_V2, assistant_id=aid, name="second", if_exists="do_nothing"
    )
    assert again == first
    assert await _versions(client, aid) == [1]


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        pytest.param({}, {}, id="empty patch still makes a version"),
        pytest.param({"name": "renamed"}, {"name": "renamed"}, id="name"),
        pytest.param({"description": "new words"}, {"description": "new words"}, id="description"),
        pytest.param({"config": {}}, {}, id="empty config counts as omitted"),
        pytest.param(
            {"config": {"tags": ["x"]}}, {"config": {"tags": ["x"]}}, id="config replaces the whole config"
        ),
        pytest.param(
            {"config": GUIDE_V2},
            {"config": GUIDE_V2, "context": GUIDE_V2["configurable"]},
            id="configurable is mirrored into context",
        ),
        pytest.param(
            {"context": GUIDE_V2["configurable"]},
            {"config": {**GUIDE_V2, "recursion_limit": 7}, "context": GUIDE_V2["configurable"]},
            id="context is mirrored into configurable and the rest of config is kept",
        ),
        pytest.param({"metadata": {"b": 2}}, {"metadata": {"a": 1, "b": 2}}, id="metadata is shallow-merged"),
        pytest.param(
            {"metadata": {"a": {"x": 1}}}, {"metadata": {"a": {"x": 1}}}, id="merge replaces a key's value"
        ),
        pytest.param({"graph_id": "functional"}, {"graph_id": "functional"}, id="graph_id"),
    ],
)
async def test_each_patch_appends_one_version_and_applies_its_field_rule(
    http: httpx.AsyncClient, patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    start = {
        "graph_id": "agent",
        "config": {**GUIDE_V1, "recursion_limit": 7},
        "metadata": {"a": 1},
        "name": "n",
        "description": "d",
    }
    created = (await http.post("/assistants", json=start)).json()
    r = await http.patch(f"/assistants/{created['assistant_id']}", json=patch)
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["version"] == 2
    unchanged = {k: created[k] for k in ("graph_id", "config", "context", "metadata", "name", "description")}
    assert updated == {**created, **unchanged, **expected, "version": 2, "updated_at": updated["updated_at"]}
    assert updated["updated_at"] > created["updated_at"]
    # The version row is the same snapshot as the active row.
    [v2, v1] = (await http.post(f"/assistants/{created['assistant_id']}/versions", json={})).json()
    assert {k: v2[k] for k in unchanged} == {k: updated[k] for k in unchanged}
    assert {k: v1[k] for k in unchanged} == unchanged


async def test_set_latest_restores_the_whole_snapshot_and_can_roll_forward(http: httpx.AsyncClient) -> None:
    v1 = (
        await http.post(
            "/assistants",
            json={
                "graph_id": "agent",
                "context": {"model_name": "openai"},
                "metadata": {"stage": 1},
                "name": "one",
                "description": "d1",
            },
        )
    ).json()
    aid = v1["assistant_id"]
    v2 = (
        await http.patch(
            f"/assistants/{aid}",
            json={
                "graph_id": "functional",
                "context": {"x": 1},
                "metadata": {"stage": 2},
                "name": "two",
                "description": "d2",
            },
        )
    ).json()
    snapshot = ("graph_id", "config", "context", "metadata", "name", "description")
    back = (await http.post(f"/assistants/{aid}/latest", json={"version": 1})).json()
    assert {k: back[k] for k in snapshot} == {k: v1[k] for k in snapshot}
    assert back["version"] == 1
    forward = (await http.post(f"/assistants/{aid}/latest", json={"version": 2})).json()
    assert {k: forward[k] for k in snapshot} == {k: v2[k] for k in snapshot}
    # Rolling back appends nothing; the next PATCH still takes the next unused number.
    assert (await http.patch(f"/assistants/{aid}", json={})).json()["version"] == 3


@pytest.mark.parametrize("version", [0, -1, 3, 10**6])
async def test_set_latest_to_a_missing_version_is_404_and_changes_nothing(
    http: httpx.AsyncClient, version: int
) -> None:
    a = (await http.post("/assistants", json={"graph_id": "agent"})).json()
    await http.patch(f"/assistants/{a['assistant_id']}", json={"name": "v2"})
    r = await http.post(f"/assistants/{a['assistant_id']}/latest", json={"version": version})
    assert r.status_code == 404, r.text
    assert (await http.get(f"/assistants/{a['assistant_id']}")).json()["version"] == 2


async def test_versions_page_past_the_end_is_an_empty_list(http: httpx.AsyncClient) -> None:
    a = (await http.post("/assistants", json={"graph_id": "agent"})).json()
    r = await http.post(f"/assistants/{a['assistant_id']}/versions", json={"offset": 5})
    assert r.status_code == 200, r.text
    assert r.json() == []


async def test_versions_filter_by_metadata_containment(client: LangGraphClient) -> None:
    a = await client.assistants.create("agent", metadata={"env": "dev"})
    await client.assistants.update(a["assistant_id"], metadata={"env": "prod", "team": {"name": "x"}})
    await client.assistants.update(a["assistant_id"], metadata={"env": "dev"})
    found = await client.assistants.get_versions(a["assistant_id"], metadata={"env": "dev"})
    assert [v["version"] for v in found] == [3, 1]
    nested = await client.assistants.get_versions(a["assistant_id"], metadata={"team": {"name": "x"}})
    assert [v["version"] for v in nested] == [3, 2]


async def test_64_concurrent_patches_give_64_consecutive_versions(server: RunningServer) -> None:
    # Separate connections, as 64 independent editors would have.
    clients = [get_client(url=server.url) for _ in range(8)]
    a = await clients[0].assistants.create("agent", config=GUIDE_V1)
    aid = a["assistant_id"]

    async def edit(i: int) -> dict[str, Any]:
        config = {"configurable": {"model_name": "openai", "system_prompt": f"edit {i}"}}
        return dict(await clients[i % 8].assistants.update(aid, config=config, metadata={"edit": i}))

    results = await asyncio.gather(*(edit(i) for i in range(64)))
    assert sorted(r["version"] for r in results) == list(range(2, 66))
    versions = await clients[0].assistants.get_versions(aid, limit=100)
    assert [v["version"] for v in versions] == list(range(65, 0, -1))
    active = await clients[0].assistants.get(aid)
    assert active["version"] == 65
    top = versions[0]
    assert {k: active[k] for k in ("config", "context", "metadata")} == {
        k: top[k] for k in ("config", "context", "metadata")
    }
    # Each response described exactly the version it created.
    by_version = {v["version"]: v for v in versions}
    for r in results:
        assert r["config"] == by_version[r["version"]]["config"]
    for c in clients:
        await c.aclose()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"config": {"configurable": {"model_name": "gpt-4"}}}, "config.configurable.model_name"),
        ({"context": {"model_name": "gpt-4"}}, "context.model_name"),
        ({"context": {"system_prompt": 42}}, "context.system_prompt"),
    ],
)
async def test_values_that_contradict_the_graph_schema_are_422_naming_the_field(
    http: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    r = await http.post("/assistants", json={"graph_id": "agent", **body})
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(field), r.text
    a = (await http.post("/assistants", json={"graph_id": "agent"})).json()
    r = await http.patch(f"/assistants/{a['assistant_id']}", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith(field), r.text
    versions = (await http.post(f"/assistants/{a['assistant_id']}/versions", json={})).json()
    assert [v["version"] for v in versions] == [1], "a failed PATCH appends nothing"


async def test_missing_required_fields_are_accepted_at_write_time(http: httpx.AsyncClient) -> None:
    # system_prompt is required by the schema, but a run may supply it.
    r = await http.post("/assistants", json={"graph_id": "agent", "context": {"model_name": "openai"}})
    assert r.status_code == 200, r.text


async def test_renaming_does_not_revalidate_values_stored_under_another_graph(
    http: httpx.AsyncClient,
) -> None:
    a = (
        await http.post("/assistants", json={"graph_id": "functional", "context": {"model_name": "gpt-4"}})
    ).json()
    # Moving it to `agent` checks the stored values against agent's schema…
    r = await http.patch(f"/assistants/{a['assistant_id']}", json={"graph_id": "agent"})
    assert r.status_code == 422, r.text
    # …but a rename alone does not.
    r = await http.patch(f"/assistants/{a['assistant_id']}", json={"name": "renamed"})
    assert r.status_code == 200, r.text


async def test_delete_is_204_with_an_empty_body_and_removes_every_version(http: httpx.AsyncClient) -> None:
    a = (await http.post("/assistants", json={"graph_id": "agent"})).json()
    await http.patch(f"/assistants/{a['assistant_id']}", json={"name": "v2"})
    r = await http.delete(f"/assistants/{a['assistant_id']}", params={"delete_threads": "false"})
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert (await http.get(f"/assistants/{a['assistant_id']}")).status_code == 404
    assert (await http.post(f"/assistants/{a['assistant_id']}/versions", json={})).status_code == 404
    assert (await http.delete(f"/assistants/{a['assistant_id']}")).status_code == 404


async def test_everything_survives_a_restart_including_edits_to_default_assistants(start_server: Any) -> None:
    first: RunningServer = start_server()
    c = get_client(url=first.url)
    default = uuid.uuid5(uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8"), "agent")
    edited = await c.assistants.update(str(default), config=GUIDE_V2, name="my agent")
    mine = await c.assistants.create("agent", config=GUIDE_V1)
    await c.assistants.update(mine["assistant_id"], config=GUIDE_V2)
    await c.aclose()
    first.stop()

    second: RunningServer = start_server()  # same test, same database file
    c = get_client(url=second.url)
    assert await c.assistants.get(str(default)) == edited
    assert await _versions(c, mine["assistant_id"]) == [2, 1]
    assert (await c.assistants.get(mine["assistant_id"]))["config"] == GUIDE_V2
    await c.aclose()


async def test_a_config_patch_is_checked_against_the_assistants_own_graph_in_a_small_project(
    start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    # With few graphs, a PATCH of config.configurable is checked against each graph's schemas
    # before the row is read (one statement on PostgreSQL); the assistant's own graph decides.
    running = start_server(project(tmp_path, graphs={"functional": f"{GRAPHS}/functional.py:graph"}))
    body = {"config": {"configurable": {"model_name": "gpt-4"}}}  # functional's schema allows it, agent's not
    async with httpx.AsyncClient(base_url=running.url, timeout=30) as http:
        agent = (await http.post("/assistants", json={"graph_id": "agent"})).json()["assistant_id"]
        functional = (await http.post("/assistants", json={"graph_id": "functional"})).json()["assistant_id"]
        r = await http.patch(f"/assistants/{agent}", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["detail"].startswith("config.configurable.model_name"), r.text
        versions = (await http.post(f"/assistants/{agent}/versions", json={})).json()
        assert [v["version"] for v in versions] == [1], "a failed PATCH appends nothing"
        for aid, configurable in (
            (functional, {"model_name": "gpt-4"}),
            (agent, {"model_name": "anthropic"}),
        ):
            r = await http.patch(f"/assistants/{aid}", json={"config": {"configurable": configurable}})
            assert r.status_code == 200, r.text
            answer = r.json()
            assert (answer["version"], answer["config"], answer["context"]) == (
                2,
                {"configurable": configurable},
                configurable,
            )
            assert (await http.get(f"/assistants/{aid}")).json() == answer

"""What an assistant's graph looks like over HTTP: /graph, /schemas and /subgraphs, by SDK and httpx."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError

from tests.conftest import GRAPHS, RunningServer, serve, settings_for

NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
GRAPH_IDS = list(json.loads(GRAPHS.read_text())["graphs"])
SCHEMA_KEYS = {"input_schema", "output_schema", "state_schema", "config_schema", "context_schema"}
ENDS = {"__start__", "__end__"}


def default_id(graph_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, graph_id))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """This module's own server: on the shared one, other tests may edit the default assistants."""
    with serve(settings_for(tmp_path_factory.mktemp("graph_routes") / "graphdock.sqlite3")) as running:
        yield running


def node_ids(drawn: dict[str, Any]) -> set[str]:
    return {node["id"] for node in drawn["nodes"]}


# -- /graph -------------------------------------------------------------------------------------------

# The nodes of the `nested` graph (parent -> child -> grandchild) at each xray depth.
FLAT = ENDS | {"start", "child"}
ONE_LEVEL = ENDS | {"start", "child:enter", "child:grandchild"}
ALL_LEVELS = ENDS | {"start", "child:enter", "child:grandchild:leaf"}


@pytest.mark.parametrize("by", ["graph id", "assistant id"])
@pytest.mark.parametrize(
    ("xray", "expected"),
    [
        pytest.param(None, FLAT, id="absent"),
        pytest.param("false", FLAT, id="false"),
        pytest.param("False", FLAT, id="False"),
        pytest.param("1", ONE_LEVEL, id="1"),
        pytest.param("2", ALL_LEVELS, id="2"),
        pytest.param("true", ALL_LEVELS, id="true"),
        pytest.param("True", ALL_LEVELS, id="True"),
    ],
)
async def test_graph_route_draws_subgraphs_to_the_xray_depth(
    client: LangGraphClient, http: httpx.AsyncClient, by: str, xray: str | None, expected: set[str]
) -> None:
    ref = "nested" if by == "graph id" else (await client.assistants.create("nested"))["assistant_id"]
    r = await http.get(f"/assistants/{ref}/graph", params={"xray": xray} if xray is not None else None)
    assert r.status_code == 200, r.text
    assert node_ids(r.json()) == expected, f"xray={xray}"


async def test_graph_route_returns_edges_and_no_module_paths(http: httpx.AsyncClient) -> None:
    r = await http.get("/assistants/nested/graph", params={"xray": "true"})
    assert r.status_code == 200, r.text
    edges = {(e["source"], e["target"]) for e in r.json()["edges"]}
    assert edges == {
        ("__start__", "start"),
        ("start", "child:enter"),
        ("child:enter", "child:grandchild:leaf"),
        ("child:grandchild:leaf", "__end__"),
    }
    leaked = [n for n in r.json()["nodes"] if isinstance(n.get("data"), dict) and "id" in n["data"]]
    assert leaked == [], "node data must not carry the runnable's class path"


@pytest.mark.parametrize("xray", [True, False, 1, 2])
async def test_sdk_get_graph_answers_as_the_raw_route(
    client: LangGraphClient, http: httpx.AsyncClient, xray: bool | int
) -> None:
    by_sdk = await client.assistants.get_graph(default_id("nested"), xray=xray)
    raw = await http.get(f"/assistants/{default_id('nested')}/graph", params={"xray": str(xray).lower()})
    assert raw.status_code == 200, raw.text
    assert by_sdk == raw.json()


@pytest.mark.parametrize("xray", ["-1", "yes", "1.5", "null"])
async def test_graph_route_rejects_an_xray_that_is_not_a_boolean_or_positive_integer(
    http: httpx.AsyncClient, xray: str
) -> None:
    r = await http.get("/assistants/nested/graph", params={"xray": xray})
    assert r.status_code == 422, r.text
    assert "xray" in r.json()["detail"]


async def test_a_graph_id_on_the_graph_route_stands_for_that_graphs_default_assistant(
    http: httpx.AsyncClient,
) -> None:
    by_graph = await http.get("/assistants/agent/graph")
    by_uuid = await http.get(f"/assistants/{default_id('agent')}/graph")
    assert (by_graph.status_code, by_uuid.status_code) == (200, 200), by_graph.text
    assert by_graph.json() == by_uuid.json()


@pytest.mark.parametrize(
    "path",
    [
        "/assistants/agent/schemas",
        "/assistants/nested/subgraphs",
        "/assistants/nested/subgraphs/child",
        "/assistants/agent",
        "/assistants/not_a_graph/graph",
    ],
)
async def test_a_graph_id_in_place_of_the_uuid_is_422_on_every_other_route(
    http: httpx.AsyncClient, path: str
) -> None:
    r = await http.get(path)
    assert r.status_code == 422, r.text
    assert "UUID" in r.json()["detail"]


@pytest.mark.parametrize("route", ["graph", "schemas", "subgraphs", "subgraphs/child"])
async def test_graph_routes_of_an_unknown_assistant_are_404(http: httpx.AsyncClient, route: str) -> None:
    r = await http.get(f"/assistants/{uuid.uuid4()}/{route}")
    assert r.status_code == 404, r.text


@pytest.mark.parametrize(
    ("graph_id", "v1", "v1_nodes", "v2", "v2_nodes"),
    [
        ("factory_config", {"variant": "loud"}, {"shout"}, {"variant": "quiet"}, {"echo"}),
        ("factory_async", {"audit": True}, {"echo", "audit"}, {"audit": False}, {"echo"}),
    ],
)
async def test_graph_route_builds_a_factory_graph_from_the_active_versions_config(
    client: LangGraphClient,
    graph_id: str,
    v1: dict[str, Any],
    v1_nodes: set[str],
    v2: dict[str, Any],
    v2_nodes: set[str],
) -> None:
    aid = (await client.assistants.create(graph_id, config={"configurable": v1}))["assistant_id"]
    assert node_ids(await client.assistants.get_graph(aid)) == ENDS | v1_nodes
    await client.assistants.update(aid, config={"configurable": v2})
    assert node_ids(await client.assistants.get_graph(aid)) == ENDS | v2_nodes, "after the update"
    await client.assistants.set_latest(aid, 1)
    assert node_ids(await client.assistants.get_graph(aid)) == ENDS | v1_nodes, "after set_latest to v1"


# -- the default assistant of every graph -------------------------------------------------------------

# The nodes besides __start__/__end__ that each test graph draws for an empty config.
NODES = {
    "agent": {"respond"},
    "functional": {"graph"},
    "uncompiled": {"typed"},
    "dataclass": {"data"},
    "alias": {"alias"},
    "factory": {"greet"},
    "factory_config": {"echo"},
    "factory_async": {"echo"},
    "nested": {"start", "child"},
    "plain": {"echo"},
    "echo": {"echo"},
    "slow": {"a", "b", "c"},
    "interrupting": {"before", "ask", "after"},
    "failing": {"fail"},
    "chat": {"chat"},
    "observer": {"observe"},
}


def test_the_node_table_covers_every_test_graph() -> None:
    assert sorted(NODES) == sorted(GRAPH_IDS), "add the new graph of tests/graphs/langgraph.json to NODES"


@pytest.mark.parametrize("by", ["graph id", "assistant id"])
@pytest.mark.parametrize("graph_id", GRAPH_IDS)
async def test_every_graphs_default_assistant_draws_its_graph(
    http: httpx.AsyncClient, graph_id: str, by: str
) -> None:
    ref = graph_id if by == "graph id" else default_id(graph_id)
    r = await http.get(f"/assistants/{ref}/graph")
    assert r.status_code == 200, r.text
    assert node_ids(r.json()) == ENDS | NODES[graph_id]


@pytest.mark.parametrize("graph_id", GRAPH_IDS)
async def test_every_graphs_default_assistant_answers_schemas_and_subgraphs(
    client: LangGraphClient, graph_id: str
) -> None:
    schemas = await client.assistants.get_schemas(default_id(graph_id))
    assert set(schemas) == {"graph_id"} | SCHEMA_KEYS
    assert schemas["graph_id"] == graph_id
    subgraphs = await client.assistants.get_subgraphs(default_id(graph_id))
    assert set(subgraphs) == ({"child"} if graph_id == "nested" else set())


# -- /schemas -----------------------------------------------------------------------------------------


async def test_agent_schemas_describe_its_context_with_the_enum_and_the_required_prompt(
    client: LangGraphClient,
) -> None:
    a = await client.assistants.create("agent", context={"system_prompt": "be brief"})
    schemas = await client.assistants.get_schemas(a["assistant_id"])
    assert schemas["graph_id"] == "agent"
    context = schemas["context_schema"]
    assert context is not None
    assert context["required"] == ["system_prompt"]
    assert context["properties"]["model_name"]["enum"] == ["anthropic", "openai"]
    assert context["properties"]["model_name"]["default"] == "anthropic"
    assert context["properties"]["system_prompt"]["type"] == "string"
    # As on the official server: langgraph's (deprecated) config_schema types `configurable` by
    # the context schema, so a context graph reports the same fields under config_schema.
    assert schemas["config_schema"] == context
    assert "messages" in schemas["input_schema"]["properties"]


@pytest.mark.parametrize(
    ("graph_id", "context_fields", "required", "config_fields"),
    [
        ("agent", {"model_name", "system_prompt"}, ["system_prompt"], {"model_name", "system_prompt"}),
        # thread_id is a key langgraph reads from configurable itself: hidden from config_schema only.
        ("uncompiled", {"user_id", "verbose", "thread_id"}, ["user_id"], {"user_id", "verbose"}),
        ("dataclass", {"api_key", "region"}, ["api_key"], {"api_key", "region"}),
        ("alias", {"temperature"}, None, {"temperature"}),
        ("factory_async", {"tenant"}, ["tenant"], {"tenant"}),
    ],
)
async def test_schemas_of_graphs_with_a_context_schema_list_its_fields(
    client: LangGraphClient,
    graph_id: str,
    context_fields: set[str],
    required: list[str] | None,
    config_fields: set[str],
) -> None:
    schemas = await client.assistants.get_schemas(default_id(graph_id))
    context, config = schemas["context_schema"], schemas["config_schema"]
    assert context is not None
    assert config is not None
    assert (set(context["properties"]), context.get("required")) == (context_fields, required)
    assert (set(config["properties"]), config.get("required")) == (config_fields, required)


@pytest.mark.parametrize("graph_id", ["plain", "nested", "functional", "factory", "factory_config"])
async def test_schemas_of_a_graph_without_context_schema_have_empty_config_and_null_context(
    client: LangGraphClient, graph_id: str
) -> None:
    a = await client.assistants.create(graph_id)
    schemas = await client.assistants.get_schemas(a["assistant_id"])
    assert (schemas["config_schema"], schemas["context_schema"]) == ({}, None)
    assert schemas["input_schema"] is not None
    assert schemas["state_schema"] is not None


# -- /subgraphs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "recurse", "expected"),
    [
        (None, False, {"child"}),
        (None, True, {"child", "child|grandchild"}),
        ("child", False, {"child"}),
        ("child", True, {"child"}),
        ("child|grandchild", True, {"child|grandchild"}),
        # Without recurse only direct children are looked at, as langgraph's get_subgraphs does.
        ("child|grandchild", False, set()),
        ("nope", True, set()),
    ],
)
async def test_subgraphs_of_the_nested_graph_by_namespace_and_recurse(
    client: LangGraphClient, namespace: str | None, recurse: bool, expected: set[str]
) -> None:
    a = await client.assistants.create("nested")
    found = await client.assistants.get_subgraphs(a["assistant_id"], namespace=namespace, recurse=recurse)
    assert set(found) == expected
    for ns, schemas in found.items():
        assert set(schemas) == SCHEMA_KEYS, ns
        # Only the child and grandchild have `depth`: these are their own schemas, not the parent's.
        assert "depth" in schemas["state_schema"]["properties"], ns
        assert (schemas["config_schema"], schemas["context_schema"]) == ({}, None), ns


@pytest.mark.parametrize(
    ("recurse", "expected"),
    [
        ("true", {"child", "child|grandchild"}),
        ("True", {"child", "child|grandchild"}),
        ("1", {"child", "child|grandchild"}),
        ("false", {"child"}),
        ("False", {"child"}),
        ("0", {"child"}),
    ],
)
async def test_subgraphs_recurse_flag_accepts_every_boolean_spelling_the_clients_send(
    http: httpx.AsyncClient, recurse: str, expected: set[str]
) -> None:
    r = await http.get(f"/assistants/{default_id('nested')}/subgraphs", params={"recurse": recurse})
    assert r.status_code == 200, r.text
    assert set(r.json()) == expected


async def test_subgraphs_reject_a_recurse_flag_that_is_not_a_boolean(http: httpx.AsyncClient) -> None:
    r = await http.get(f"/assistants/{default_id('nested')}/subgraphs", params={"recurse": "maybe"})
    assert r.status_code == 422, r.text


async def test_a_deleted_assistant_has_no_graph(client: LangGraphClient) -> None:
    a = await client.assistants.create("plain")
    await client.assistants.delete(a["assistant_id"])
    with pytest.raises(NotFoundError):
        await client.assistants.get_graph(a["assistant_id"])

"""GraphRegistry through its public methods, against the real test graphs in tests/graphs.

Async tests run under pytest-asyncio in auto mode (pyproject: `asyncio_mode = "auto"`), so they
carry no marker.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.pregel import Pregel

from graphdock.errors import GraphLoadError, InvalidRequest, NotFound
from graphdock.project import GraphSpec, ProjectConfig, load_project_config
from graphdock.runtime.factories import Access
from graphdock.runtime.graphs import AnyPregel, GraphRegistry

GRAPHS = Path(__file__).parents[1] / "graphs"
GREETING = "GRAPHDOCK_TEST_GREETING"  # set by tests/graphs/langgraph.json's env


@pytest.fixture(scope="module")
async def registry() -> GraphRegistry:
    return await GraphRegistry.load(load_project_config(GRAPHS / "langgraph.json"))


def write_project(tmp_path: Path, graphs: dict[str, str], files: dict[str, str]) -> ProjectConfig:
    for name, source in files.items():
        (tmp_path / name).write_text(source, encoding="utf-8")
    (tmp_path / "langgraph.json").write_text(json.dumps({"graphs": graphs}), encoding="utf-8")
    return load_project_config(tmp_path / "langgraph.json")


async def built(registry: GraphRegistry, graph_id: str, config: dict[str, Any]) -> AnyPregel:
    """The graph as one use gets it (a factory's is built for it)."""
    async with registry.using(graph_id, config, Access("assistants.read")) as graph:
        return graph


def node_ids(drawn: dict[str, Any]) -> set[str]:
    return {node["id"] for node in drawn["nodes"]}


# --- loading ---------------------------------------------------------------------------------


async def test_graph_ids_keep_langgraph_json_order(registry: GraphRegistry) -> None:
    assert registry.graph_ids == (
        "agent",
        "functional",
        "uncompiled",
        "dataclass",
        "alias",
        "factory",
        "factory_config",
        "factory_async",
        "nested",
        "plain",
        "echo",
        "slow",
        "interrupting",
        "failing",
        "chat",
        "observer",
    )
    assert registry.has("agent")
    assert not registry.has("Agent")


async def test_description_comes_from_langgraph_json(registry: GraphRegistry) -> None:
    assert registry.description("agent") == (
        "Shaped like examples/agent: pydantic context with model_name and system_prompt."
    )
    assert registry.description("plain") is None


@pytest.mark.parametrize(
    ("graph_id", "config", "graph_input", "context", "expected"),
    [
        # compiled StateGraph
        ("agent", {}, {"messages": [("human", "hi")]}, {"system_prompt": "be brief"}, None),
        # Functional API entrypoint: a Pregel that is not a CompiledStateGraph
        ("functional", {}, "abc", None, "cba"),
        # uncompiled StateGraph, compiled on load
        ("uncompiled", {}, {"text": "t", "steps": []}, {"user_id": "u"}, {"text": "t", "steps": ["typed"]}),
        # sync factory without arguments; greets with the env from langgraph.json
        ("factory", {}, {"text": "t"}, None, {"text": "hello from langgraph.json: t"}),
        # sync factory with config, returning an uncompiled StateGraph
        ("factory_config", {"configurable": {"variant": "loud"}}, {"text": "t"}, None, {"text": "T"}),
        ("factory_config", {}, {"text": "t"}, None, {"text": "t"}),
        # async factory with config
        ("factory_async", {"configurable": {"audit": True}}, {"text": "t"}, None, {"text": "t [audited]"}),
        ("factory_async", {}, {"text": "t"}, None, {"text": "t"}),
        # a module path (`plain.graph:graph`), importable because langgraph.json's folder is on sys.path
        ("plain", {}, {"text": "t"}, None, {"text": "t"}),
        ("nested", {}, {"text": "t"}, None, {"text": "t>start>enter>leaf"}),
    ],
)
async def test_each_loading_form_builds_a_runnable_graph(
    registry: GraphRegistry,
    graph_id: str,
    config: dict[str, Any],
    graph_input: Any,
    context: Any,
    expected: Any,
) -> None:
    graph = await built(registry, graph_id, config)
    assert isinstance(graph, Pregel)
    result = await graph.ainvoke(graph_input, context=context)
    if graph_id == "agent":
        assert result["messages"][-1].content == "[anthropic] be brief | you said: hi"
    else:
        assert result == expected


async def test_unnamed_graphs_are_named_after_their_graph_id(registry: GraphRegistry) -> None:
    assert (await built(registry, "plain", {})).name == "plain"
    assert (await built(registry, "factory_async", {})).name == "factory_async"
    assert (await built(registry, "functional", {})).name == "functional"


async def test_a_compiled_graph_is_built_once_and_a_factory_per_call(registry: GraphRegistry) -> None:
    assert await built(registry, "agent", {}) is await built(registry, "agent", {})
    assert await built(registry, "factory", {}) is not await built(registry, "factory", {})


async def test_a_factory_cannot_change_the_callers_config(registry: GraphRegistry) -> None:
    config: dict[str, Any] = {"configurable": {"variant": "loud"}}
    await built(registry, "factory_config", config)
    assert config == {"configurable": {"variant": "loud"}}


async def test_unknown_graph_is_not_found_and_names_the_known_graphs(registry: GraphRegistry) -> None:
    for call in (
        lambda: built(registry, "nope", {}),
        lambda: registry.schemas("nope", {}),
        lambda: registry.drawable("nope", {}, False),
        lambda: registry.subgraphs("nope", {}, None, False),
    ):
        with pytest.raises(NotFound) as caught:
            await call()
        assert "'nope'" in caught.value.detail
        assert "agent, functional, uncompiled" in caught.value.detail
    with pytest.raises(NotFound):
        registry.write_schemas("nope")
    with pytest.raises(NotFound):
        registry.description("nope")


async def test_files_with_the_same_basename_load_as_different_modules() -> None:
    # nested/graph.py and plain/graph.py both define `graph`; a module named after the basename
    # alone would hand the second graph id the first file's graph.
    project = ProjectConfig(
        path=GRAPHS / "langgraph.json",
        graphs=(
            GraphSpec("a", GRAPHS / "nested" / "graph.py", None, "graph"),
            GraphSpec("b", GRAPHS / "plain" / "graph.py", None, "graph"),
        ),
    )
    registry = await GraphRegistry.load(project)
    assert "child" in node_ids(await registry.drawable("a", {}, False))
    assert node_ids(await registry.drawable("b", {}, False)) == {"__start__", "echo", "__end__"}
    # Each file's classes stay reachable under their own module name (the serializer's lookup).
    for graph_id, folder in (("a", "nested"), ("b", "plain")):
        state = (await built(registry, graph_id, {})).builder.state_schema
        module = importlib.import_module(state.__module__)
        assert module.__file__ == str(GRAPHS / folder / "graph.py")
        assert module.State is state


async def test_graphs_of_one_file_share_one_importable_module(registry: GraphRegistry) -> None:
    typed = await built(registry, "uncompiled", {})
    data = await built(registry, "dataclass", {})
    module = sys.modules[data.context_schema.__module__]
    assert typed.context_schema is module.TypedContext
    # The checkpoint serializer re-imports a state or context class by its module name.
    assert importlib.import_module(module.__name__).DataclassContext is data.context_schema
    serde = JsonPlusSerializer(allowed_msgpack_modules=[(module.__name__, "DataclassContext")])
    value = data.context_schema(api_key="k", region="us")
    assert serde.loads_typed(serde.dumps_typed(value)) == value


async def test_env_from_langgraph_json_is_applied_before_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GREETING, "placeholder")  # so that monkeypatch restores the variable
    monkeypatch.delenv(GREETING)
    registry = await GraphRegistry.load(load_project_config(GRAPHS / "langgraph.json"))
    graph = await built(registry, "factory", {})
    assert await graph.ainvoke({"text": "t"}) == {"text": "hello from langgraph.json: t"}


async def test_env_from_langgraph_json_does_not_override_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(GREETING, "hello from the shell")
    registry = await GraphRegistry.load(load_project_config(GRAPHS / "langgraph.json"))
    graph = await built(registry, "factory", {})
    assert await graph.ainvoke({"text": "t"}) == {"text": "hello from the shell: t"}


# --- load errors -----------------------------------------------------------------------------

BROKEN = load_project_config(GRAPHS / "broken" / "langgraph.json")


@pytest.mark.parametrize(
    ("graph_id", "expected"),
    [
        (
            "raises",
            ["'raises'", "broken/raises.py:graph", "RuntimeError: database unreachable at import time"],
        ),
        ("missing", ["'missing'", "broken/missing.py:grpah", "AttributeError", "'grpah'", "builder, graph"]),
        ("wrong_type", ["'wrong_type'", "broken/missing.py:NOT_A_GRAPH", "TypeError", "is a int"]),
    ],
)
async def test_a_broken_graph_fails_to_load_naming_graph_file_and_error(
    graph_id: str, expected: list[str]
) -> None:
    spec = next(spec for spec in BROKEN.graphs if spec.graph_id == graph_id)
    with pytest.raises(GraphLoadError) as caught:
        await GraphRegistry.load(dataclasses.replace(BROKEN, graphs=(spec,)))
    for fragment in expected:
        assert fragment in str(caught.value)


async def test_an_exception_at_import_is_chained_and_leaves_no_module_behind() -> None:
    spec = next(spec for spec in BROKEN.graphs if spec.graph_id == "raises")
    with pytest.raises(GraphLoadError) as caught:
        await GraphRegistry.load(dataclasses.replace(BROKEN, graphs=(spec,)))
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert not [name for name in sys.modules if "raises" in name and name.startswith("graphdock_graph")]


@pytest.mark.parametrize(
    ("target", "source", "expected"),
    [
        ("./bad.py:graph", "def graph(:\n", ["'g'", "bad.py:graph", "SyntaxError"]),
        ("./nowhere.py:graph", None, ["'g'", "nowhere.py:graph", "FileNotFoundError"]),
        ("no_such_pkg_for_graphdock.mod:graph", None, ["ModuleNotFoundError", "no_such_pkg_for_graphdock"]),
        # (config, runtime) is a ServerRuntime factory; three required arguments fit no form.
        (
            "./three.py:make",
            "def make(config, runtime, extra):\n    pass\n",
            ["TypeError", "(config, runtime, extra)"],
        ),
    ],
)
async def test_unimportable_graphs_fail_to_load(
    tmp_path: Path, target: str, source: str | None, expected: list[str]
) -> None:
    files = {target.split(":")[0].removeprefix("./"): source} if source else {}
    project = write_project(tmp_path, {"g": target}, files)
    with pytest.raises(GraphLoadError) as caught:
        await GraphRegistry.load(project)
    for fragment in expected:
        assert fragment in str(caught.value)


# --- schemas ---------------------------------------------------------------------------------

AGENT_CONTEXT = {
    "properties": {
        "model_name": {
            "default": "anthropic",
            "description": "Which model family answers.",
            "enum": ["anthropic", "openai"],
            "title": "Model Name",
            "type": "string",
        },
        "system_prompt": {
            "description": "The instructions the model follows.",
            "title": "System Prompt",
            "type": "string",
        },
    },
    "required": ["system_prompt"],
    "title": "Context",
    "type": "object",
}


async def test_pydantic_context_schema(registry: GraphRegistry) -> None:
    schemas = await registry.schemas("agent", {})
    assert schemas["context_schema"] == AGENT_CONTEXT
    # config_schema is the configurable part of the (deprecated) config schema: the same model.
    assert schemas["config_schema"] == AGENT_CONTEXT
    assert schemas["input_schema"] is not None
    assert schemas["input_schema"]["properties"].keys() == {"messages"}
    assert schemas["state_schema"] is not None
    assert schemas["state_schema"]["title"] == "agent_state"
    assert schemas["state_schema"]["properties"].keys() == {"messages"}


async def test_typeddict_context_schema_and_internal_keys_left_out_of_config_schema(
    registry: GraphRegistry,
) -> None:
    schemas = await registry.schemas("uncompiled", {})
    context = schemas["context_schema"]
    assert context is not None
    assert context["title"] == "TypedContext"
    assert context["required"] == ["user_id"]
    assert context["properties"].keys() == {"user_id", "verbose", "thread_id"}
    config = schemas["config_schema"]
    assert config is not None
    assert config["properties"].keys() == {"user_id", "verbose"}
    assert config["required"] == ["user_id"]


async def test_dataclass_context_schema(registry: GraphRegistry) -> None:
    schemas = await registry.schemas("dataclass", {})
    context = schemas["context_schema"]
    assert context is not None
    assert context["title"] == "DataclassContext"
    assert context["required"] == ["api_key"]
    assert context["properties"]["region"] == {
        "default": "eu",
        "enum": ["eu", "us"],
        "title": "Region",
        "type": "string",
    }
    assert schemas["config_schema"] == context


async def test_config_schema_alias_behaves_like_context_schema(registry: GraphRegistry) -> None:
    expected = {
        "properties": {"temperature": {"default": 0.5, "title": "Temperature", "type": "number"}},
        "title": "AliasContext",
        "type": "object",
    }
    schemas = await registry.schemas("alias", {})
    assert schemas["context_schema"] == expected
    assert schemas["config_schema"] == expected
    assert registry.write_schemas("alias") == (expected, expected)


@pytest.mark.parametrize("graph_id", ["plain", "nested", "factory", "factory_config", "functional"])
async def test_a_graph_without_context_schema_has_empty_config_and_null_context(
    registry: GraphRegistry, graph_id: str
) -> None:
    schemas = await registry.schemas(graph_id, {})
    assert schemas["config_schema"] == {}
    assert schemas["context_schema"] is None
    assert registry.write_schemas(graph_id) == ({}, None)


async def test_functional_graph_schemas(registry: GraphRegistry) -> None:
    schemas = await registry.schemas("functional", {})
    assert schemas["input_schema"] == {"title": "functional_input", "type": "string"}
    assert schemas["output_schema"] == {"title": "functional_output", "type": "string"}
    # Its state is the `__end__` channel, which pydantic cannot take as a field name as such.
    assert schemas["state_schema"] == {
        "properties": {"__end__": {"default": None, "title": "End  ", "type": "string"}},
        "title": "functional_state",
        "type": "object",
    }


async def test_factory_schemas_come_from_the_graph_built_for_the_config(registry: GraphRegistry) -> None:
    schemas = await registry.schemas("factory_async", {"configurable": {"audit": True}})
    tenant = {
        "properties": {"tenant": {"title": "Tenant", "type": "string"}},
        "required": ["tenant"],
        "title": "TenantContext",
        "type": "object",
    }
    assert schemas["context_schema"] == tenant
    assert schemas["state_schema"] is not None
    assert schemas["state_schema"]["title"] == "factory_async_state"
    # Write-time schemas come from the graph the factory built for an empty config at load.
    assert registry.write_schemas("factory_async") == (tenant, tenant)


async def test_compiled_graph_schemas_are_cached_and_a_copy_is_returned(registry: GraphRegistry) -> None:
    first = await registry.schemas("agent", {})
    first["context_schema"] = None  # a caller adding or replacing keys must not poison the cache
    second = await registry.schemas("agent", {})
    assert second["context_schema"] == AGENT_CONTEXT
    assert second["input_schema"] is first["input_schema"]  # not recomputed


async def test_write_schemas_validate_an_assistants_context(registry: GraphRegistry) -> None:
    config_schema, context_schema = registry.write_schemas("agent")
    assert config_schema is not None
    assert context_schema is not None
    jsonschema.validate({"model_name": "openai", "system_prompt": "hi"}, context_schema)
    with pytest.raises(jsonschema.ValidationError, match="'gpt' is not one of"):
        jsonschema.validate({"model_name": "gpt", "system_prompt": "hi"}, context_schema)
    with pytest.raises(jsonschema.ValidationError, match="'system_prompt' is a required property"):
        jsonschema.validate({"model_name": "openai"}, config_schema)


GRAPH_WITH_OPAQUE_STATE = """
from typing_extensions import TypedDict
from langgraph.graph import END, START, StateGraph

class Opaque:
    pass

class State(TypedDict):
    text: str
    handle: Opaque

builder = StateGraph(State)
builder.add_node("n", lambda state: {})
builder.add_edge(START, "n")
builder.add_edge("n", END)
graph = builder.compile()
"""


async def test_a_schema_part_that_cannot_be_generated_is_null(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"opaque": "./opaque.py:graph"}, {"opaque.py": GRAPH_WITH_OPAQUE_STATE})
    registry = await GraphRegistry.load(project)
    schemas = await registry.schemas("opaque", {})
    assert schemas["input_schema"] is None
    assert schemas["output_schema"] is None
    # The state schema describes what it can and types the rest as Any (an empty schema).
    assert schemas["state_schema"] is not None
    assert schemas["state_schema"]["properties"]["text"]["type"] == "string"
    assert schemas["state_schema"]["properties"]["handle"] == {"default": None, "title": "Handle"}
    assert schemas["config_schema"] == {}


FACTORY_NEEDING_CONFIG = """
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

class State(TypedDict):
    text: str

def make(config):
    suffix = config["configurable"]["suffix"]  # KeyError for an empty config
    builder = StateGraph(State)
    builder.add_node("n", lambda state: {"text": state["text"] + suffix})
    builder.add_edge(START, "n")
    builder.add_edge("n", END)
    return builder
"""


async def test_a_factory_that_needs_config_still_loads_without_write_schemas(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"needy": "./needy.py:make"}, {"needy.py": FACTORY_NEEDING_CONFIG})
    registry = await GraphRegistry.load(project)
    assert registry.write_schemas("needy") == (None, None)
    graph = await built(registry, "needy", {"configurable": {"suffix": "!"}})
    assert await graph.ainvoke({"text": "t"}) == {"text": "t!"}
    with pytest.raises(KeyError):
        await built(registry, "needy", {})


# --- drawing and subgraphs -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xray", "expected"),
    [
        (False, {"__start__", "start", "child", "__end__"}),
        (1, {"__start__", "start", "child:enter", "child:grandchild", "__end__"}),
        (True, {"__start__", "start", "child:enter", "child:grandchild:leaf", "__end__"}),
        (2, {"__start__", "start", "child:enter", "child:grandchild:leaf", "__end__"}),
    ],
)
async def test_drawable_expands_subgraphs_as_deep_as_xray_asks(
    registry: GraphRegistry, xray: bool | int, expected: set[str]
) -> None:
    drawn = await registry.drawable("nested", {}, xray)
    assert node_ids(drawn) == expected
    assert {"source": "__start__", "target": "start"} in drawn["edges"]


async def test_drawable_drops_the_runnable_class_path(registry: GraphRegistry) -> None:
    drawn = await registry.drawable("agent", {}, False)
    respond = next(node for node in drawn["nodes"] if node["id"] == "respond")
    assert respond == {"id": "respond", "type": "runnable", "data": {"name": "respond"}}


async def test_drawable_of_a_factory_graph_depends_on_the_config(registry: GraphRegistry) -> None:
    loud = await registry.drawable("factory_config", {"configurable": {"variant": "loud"}}, False)
    quiet = await registry.drawable("factory_config", {}, False)
    assert node_ids(loud) == {"__start__", "shout", "__end__"}
    assert node_ids(quiet) == {"__start__", "echo", "__end__"}


UNDRAWABLE = """
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from typing_extensions import TypedDict

class State(TypedDict):
    text: str

class Undrawable(CompiledStateGraph):
    async def aget_graph(self, config=None, *, xray=False):
        raise NotImplementedError

    async def aget_subgraphs(self, *, namespace=None, recurse=False):
        raise NotImplementedError
        yield

builder = StateGraph(State)
builder.add_node("n", lambda state: state)
builder.add_edge(START, "n")
builder.add_edge("n", END)
compiled = builder.compile(name="undrawable")
graph = Undrawable(**{k: v for k, v in vars(compiled).items() if k != "__orig_class__"})
"""


async def test_a_graph_that_cannot_be_drawn_is_an_invalid_request(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"undrawable": "./undrawable.py:graph"}, {"undrawable.py": UNDRAWABLE})
    registry = await GraphRegistry.load(project)
    with pytest.raises(InvalidRequest, match="The graph does not support visualization"):
        await registry.drawable("undrawable", {}, False)
    with pytest.raises(InvalidRequest, match="The graph does not support visualization"):
        await registry.subgraphs("undrawable", {}, None, False)


@pytest.mark.parametrize(
    ("namespace", "recurse", "expected"),
    [
        (None, False, ["child"]),
        (None, True, ["child", "child|grandchild"]),
        ("child", False, ["child"]),
        ("child|grandchild", True, ["child|grandchild"]),
        ("child|grandchild", False, []),  # a nested namespace needs recurse
        ("nope", True, []),
    ],
)
async def test_subgraphs_by_namespace_and_recursion(
    registry: GraphRegistry, namespace: str | None, recurse: bool, expected: list[str]
) -> None:
    assert list(await registry.subgraphs("nested", {}, namespace, recurse)) == expected


async def test_subgraph_schemas_are_the_subgraphs_own(registry: GraphRegistry) -> None:
    subgraphs = await registry.subgraphs("nested", {}, None, True)
    child = subgraphs["child"]
    assert child["input_schema"] is not None
    assert child["input_schema"]["title"] == "ChildState"
    assert child["input_schema"]["properties"].keys() == {"text", "depth"}
    assert child["state_schema"] is not None
    # Only the top graph takes its graph id as name; subgraphs keep langgraph's default.
    assert child["state_schema"]["title"] == "LangGraphState"
    assert child["state_schema"]["properties"].keys() == {"text", "depth"}
    assert child["config_schema"] == {}
    assert child["context_schema"] is None
    parent = await registry.schemas("nested", {})
    assert parent["input_schema"] is not None
    assert parent["input_schema"]["properties"].keys() == {"text"}
    # langgraph gives the parent a channel for each key of a subgraph node's input, so the
    # parent's state (its stream channels) includes the child's `depth`.
    assert parent["state_schema"] is not None
    assert parent["state_schema"]["properties"].keys() == {"text", "depth"}


async def test_a_graph_without_subgraphs_has_none(registry: GraphRegistry) -> None:
    assert await registry.subgraphs("plain", {}, None, True) == {}

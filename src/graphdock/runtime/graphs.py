"""The user's graphs: imported once from langgraph.json, built per request, described as JSON schemas."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import os
import re
import sys
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, TypeAlias, TypedDict, cast

import structlog
from langgraph.channels import BaseChannel
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore
from pydantic import BaseModel, ConfigDict, Field, RootModel, TypeAdapter, create_model

from graphdock.errors import GraphLoadError, InvalidRequest, NotFound
from graphdock.project import GraphSpec, ProjectConfig
from graphdock.runtime.factories import Access, Factory, as_factory, entered

log = structlog.get_logger(__name__)

# Schemas, drawings, subgraphs: the graph's structure only.
_INTROSPECTION = Access("assistants.read")

# Keys langgraph itself reads from `configurable`; the official server hides them from config_schema.
_INTERNAL_KEYS = ("__pregel_checkpointer", "__pregel_store", "checkpoint_id", "checkpoint_ns", "thread_id")
# Field names pydantic cannot take as-is (private or clashing with BaseModel's own attributes).
_RESERVED_FIELD_NAMES = frozenset(name for name in dir(BaseModel) if not name.startswith("_"))
_STATE_MODEL_CONFIG = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

# The graphs are the user's: their state, input and context types are unknown here.
AnyPregel: TypeAlias = Pregel[Any, Any, Any, Any]


class GraphSchemas(TypedDict):
    input_schema: dict[str, Any] | None
    output_schema: dict[str, Any] | None
    state_schema: dict[str, Any] | None
    config_schema: dict[str, Any] | None
    context_schema: dict[str, Any] | None


_WriteSchemas = tuple[dict[str, Any] | None, dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class _Graph:
    spec: GraphSpec
    source: AnyPregel | Factory
    schemas: GraphSchemas | None  # cached for compiled graphs only: a factory's graph depends on config
    write_schemas: _WriteSchemas
    # Whether LangGraph builds the context into its class (pydantic, dataclass): see builds_context.
    builds_context: bool = False


class GraphRegistry:
    def __init__(self, graphs: dict[str, _Graph]) -> None:
        self._graphs = graphs
        self._store: BaseStore | None = None
        # A compiled graph with the store attached, made once: a copy per run cost a validation of
        # the whole graph each time (about a tenth of a stateless run's CPU).
        self._compiled: dict[str, AnyPregel] = {}

    def use_store(self, store: BaseStore) -> None:
        """The Store every graph built from now on gets (runtime.store, a node's `store`, get_store())."""
        self._store = store
        self._compiled.clear()

    @classmethod
    async def load(cls, project: ProjectConfig) -> GraphRegistry:
        prepare_imports(project)
        # Several graph ids often share one file; it is executed once so they share its classes.
        modules: dict[str, ModuleType] = {}
        graphs: dict[str, _Graph] = {}
        for spec in project.graphs:
            try:
                value = _resolve(spec, project.root, modules)
            except GraphLoadError:
                raise
            except ModuleNotFoundError as exc:
                # LangChain's templates import their own package (`from react_agent import ...`) from a
                # `src/` layout, which is importable only once the project is installed.
                hint = f"; install the project and its dependencies first: pip install -e {project.root}"
                raise _load_error(spec, f"ModuleNotFoundError: {exc}{hint}") from exc
            except Exception as exc:  # anything the user's module raises at import
                raise _load_error(spec, f"{type(exc).__name__}: {exc}") from exc
            graphs[spec.graph_id] = await _prepare(spec, value)
            log.info("graph.loaded", graph_id=spec.graph_id, location=spec.location)
        return cls(graphs)

    @property
    def graph_ids(self) -> tuple[str, ...]:
        return tuple(self._graphs)

    def has(self, graph_id: str) -> bool:
        return graph_id in self._graphs

    def description(self, graph_id: str) -> str | None:
        return self._get(graph_id).spec.description

    def display_name(self, graph_id: str) -> str:
        """The name the graph gave itself (`compile(name=...)`), else its id: as the official server names
        default assistants. "LangGraph" is LangGraph's own default, so it names nothing."""
        source = self._get(graph_id).source
        name = source.name if isinstance(source, Pregel) else None
        return name if name and name != "LangGraph" else graph_id

    @asynccontextmanager
    async def using(self, graph_id: str, config: dict[str, Any], access: Access) -> AsyncIterator[AnyPregel]:
        """The graph for one use (a factory's graph is built for it, and exited after it)."""
        graph = self._get(graph_id)
        if isinstance(graph.source, Pregel):
            compiled = self._compiled.get(graph_id)
            if compiled is None:
                compiled = self._compiled[graph_id] = self._with_store(graph.source)
            yield compiled
            return
        async with _built(graph.spec, graph.source, config, replace(access, store=self._store)) as built:
            yield self._with_store(built)

    def _with_store(self, graph: AnyPregel) -> AnyPregel:
        # As on the official server, the server's store replaces any the graph was compiled with.
        return graph if self._store is None else graph.copy(update={"store": self._store})

    async def schemas(self, graph_id: str, config: dict[str, Any]) -> GraphSchemas:
        """The schemas of the graph; cached ones are shared, so treat the result as read-only."""
        cached = self._get(graph_id).schemas
        if cached is not None:
            return GraphSchemas(**cached)
        async with self.using(graph_id, config, _INTROSPECTION) as graph:
            return _graph_schemas(graph)

    async def drawable(self, graph_id: str, config: dict[str, Any], xray: bool | int) -> dict[str, Any]:
        async with self.using(graph_id, config, _INTROSPECTION) as graph:
            try:
                drawn = (await graph.aget_graph(xray=xray)).to_json()
            except NotImplementedError:
                raise InvalidRequest("The graph does not support visualization") from None
        # The official server drops each runnable's class path (`data.id`): it leaks module names.
        for node in drawn.get("nodes", []):
            if isinstance(data := node.get("data"), dict):
                data.pop("id", None)
        return drawn

    async def subgraphs(
        self, graph_id: str, config: dict[str, Any], namespace: str | None, recurse: bool
    ) -> dict[str, GraphSchemas]:
        async with self.using(graph_id, config, _INTROSPECTION) as graph:
            try:
                # A remote subgraph (RemoteGraph) would have to be asked over HTTP: null schemas.
                return {
                    ns: _graph_schemas(subgraph) if isinstance(subgraph, Pregel) else _no_schemas()
                    async for ns, subgraph in graph.aget_subgraphs(namespace=namespace, recurse=recurse)
                }
            except NotImplementedError:
                raise InvalidRequest("The graph does not support visualization") from None

    def write_schemas(self, graph_id: str) -> _WriteSchemas:
        """(config_schema, context_schema) to validate an assistant's configurable and context against."""
        return self._get(graph_id).write_schemas

    def builds_context(self, graph_id: str) -> bool:
        """Whether LangGraph builds a run's context into the graph's context class (a pydantic model
        or a dataclass), which fails when a required field is missing. A TypedDict context is handed
        to the graph as the dict given: a missing key is the graph's business (`.get()`), not an error."""
        return self._get(graph_id).builds_context

    def _get(self, graph_id: str) -> _Graph:
        try:
            return self._graphs[graph_id]
        except KeyError:
            known = ", ".join(self._graphs)
            raise NotFound(f"Graph {graph_id!r} not found. Known graphs: {known}") from None


def _load_error(spec: GraphSpec, reason: str) -> GraphLoadError:
    return GraphLoadError(f"Cannot load graph {spec.graph_id!r} from {spec.location}: {reason}")


def _resolve(spec: GraphSpec, root: Path, modules: dict[str, ModuleType]) -> AnyPregel | Factory:
    key = str(spec.file) if spec.file is not None else cast(str, spec.module)
    if key not in modules:
        modules[key] = import_file(spec.file, root) if spec.file is not None else importlib.import_module(key)
    module = modules[key]
    try:
        value = getattr(module, spec.attr)
    except AttributeError:
        found = [name for name, v in vars(module).items() if isinstance(v, Pregel | StateGraph)]
        hint = f" (graphs it defines: {', '.join(found)})" if found else ""
        raise _load_error(spec, f"AttributeError: the module has no attribute {spec.attr!r}{hint}") from None
    if isinstance(value, Pregel):
        return _named(value, spec.graph_id)
    if isinstance(value, StateGraph):
        return _named(value.compile(), spec.graph_id)
    if callable(value):
        return as_factory(value, partial(_load_error, spec))
    kind = type(value).__name__
    raise _load_error(
        spec, f"TypeError: {spec.attr} is a {kind}, not a graph, a StateGraph or a graph factory"
    )


def prepare_imports(project: ProjectConfig) -> None:
    """What the project's modules expect before they are imported: graph files import their
    siblings and the project's local packages as top-level modules, and read its env."""
    for folder in (project.root, *project.dependencies):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    for name, setting in project.env.items():
        os.environ.setdefault(name, setting)


def import_file(file: Path, root: Path) -> ModuleType:
    # A stable name per file: unique (so two `graph.py` files don't collide), the same across
    # restarts (the checkpoint serializer re-imports pydantic/dataclass state classes by module
    # name), and registered in sys.modules (so that re-import, pickling and forward refs work).
    relative = file.relative_to(root) if file.is_relative_to(root) else file
    readable = re.sub(r"\W", "_", relative.with_suffix("").as_posix().replace("/", "__"))
    digest = hashlib.sha1(relative.as_posix().encode(), usedforsecurity=False).hexdigest()[:8]
    name = f"graphdock_graph__{readable}_{digest}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"{file} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]  # leave no half-executed module behind
        raise
    return module


@asynccontextmanager
async def _built(
    spec: GraphSpec, factory: Factory, config: dict[str, Any], access: Access
) -> AsyncIterator[AnyPregel]:
    async with entered(factory, config, access) as result:
        graph = result.compile() if isinstance(result, StateGraph) else result
        if not isinstance(graph, Pregel):
            raise _load_error(spec, f"the factory returned a {type(result).__name__}, not a graph")
        yield _named(graph, spec.graph_id)


def _named(graph: AnyPregel, graph_id: str) -> AnyPregel:
    # As in the official server, an unnamed graph takes its graph id as name; it shows in schema
    # titles (`agent_state`) and stream events.
    return graph.copy(update={"name": graph_id}) if graph.name == "LangGraph" else graph


async def _prepare(spec: GraphSpec, value: AnyPregel | Factory) -> _Graph:
    if isinstance(value, Pregel):
        schemas = _graph_schemas(value)
        return _Graph(
            spec,
            value,
            schemas,
            (schemas["config_schema"], schemas["context_schema"]),
            _builds_context(value),
        )
    # A factory's schemas may depend on the config; validation at write time uses what the
    # factory builds for an empty config. A factory that needs config to build anything must not
    # stop the server (the official one never calls factories at start-up): it gets no validation.
    try:
        async with _built(spec, value, {}, _INTROSPECTION) as built:
            schemas = _graph_schemas(built)
            builds_context = _builds_context(built)
    except Exception as exc:
        log.warning(
            "graph.factory_failed_at_load", graph_id=spec.graph_id, error=f"{type(exc).__name__}: {exc}"
        )
        return _Graph(spec, value, None, (None, None))
    return _Graph(spec, value, None, (schemas["config_schema"], schemas["context_schema"]), builds_context)


def _builds_context(graph: AnyPregel) -> bool:
    # As LangGraph decides when it coerces a run's context (pregel's _coerce_context).
    schema = getattr(graph, "context_schema", None)
    return isinstance(schema, type) and (issubclass(schema, BaseModel) or dataclasses.is_dataclass(schema))


def _graph_schemas(graph: AnyPregel) -> GraphSchemas:
    return GraphSchemas(
        input_schema=_guarded(graph, "input", graph.get_input_jsonschema),
        output_schema=_guarded(graph, "output", graph.get_output_jsonschema),
        state_schema=_guarded(graph, "state", lambda: _state_jsonschema(graph)),
        config_schema=_guarded(graph, "config", lambda: _configurable_jsonschema(graph)),
        context_schema=_guarded(graph, "context", graph.get_context_jsonschema),
    )


def _no_schemas() -> GraphSchemas:
    return GraphSchemas(
        input_schema=None, output_schema=None, state_schema=None, config_schema=None, context_schema=None
    )


def _guarded(
    graph: AnyPregel, part: str, compute: Callable[[], dict[str, Any] | None]
) -> dict[str, Any] | None:
    # A schema that cannot be generated (an arbitrary type in the state, say) must not break the
    # route; the official server answers null for that part, and so do we.
    try:
        return compute()
    except Exception as exc:
        log.warning("graph.schema_failed", graph=graph.name, part=part, error=f"{type(exc).__name__}: {exc}")
        return None


def _configurable_jsonschema(graph: AnyPregel) -> dict[str, Any]:
    # config_schema() is deprecated but is what the official server reports: a model whose
    # `configurable` field is typed by the context schema (absent without one).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        config_model = graph.config_schema()
    field = config_model.model_fields.get("configurable")
    if field is None or field.annotation is None:
        return {}
    schema: dict[str, Any] = TypeAdapter(field.annotation).json_schema()
    for key in _INTERNAL_KEYS:
        schema.get("properties", {}).pop(key, None)
        # Unlike the official server, also un-require it: a schema requiring a property it does
        # not declare would reject every assistant at write time.
        if key in schema.get("required", ()):
            schema["required"] = [name for name in schema["required"] if name != key]
    return schema


def _state_jsonschema(graph: AnyPregel) -> dict[str, Any]:
    # The state is what the graph streams in "values" mode: one optional field per stream channel,
    # typed by what the channel accepts; a type pydantic cannot describe becomes Any.
    types = {name: _describable_update_type(graph, name) for name in graph.stream_channels_list}
    title = graph.get_name("State")
    if list(types) == ["__root__"]:  # a StateGraph over a non-dict state type, e.g. a list
        root = types["__root__"]
        return create_model(title, __base__=RootModel[Any], root=(root, None)).model_json_schema()
    fields: dict[str, Any] = {}
    for name, annotation in types.items():
        if name.startswith("_") or name in _RESERVED_FIELD_NAMES:  # e.g. "__end__" of an @entrypoint
            label = name.lstrip("_").replace("_", " ").title()
            fields[f"private_{name}"] = (annotation, Field(None, alias=name, title=label))
        else:
            fields[name] = (annotation, None)
    model: type[BaseModel] = create_model(title, __config__=_STATE_MODEL_CONFIG, **fields)
    return model.model_json_schema()


def _describable_update_type(graph: AnyPregel, channel_name: str) -> Any:
    channel = graph.channels[channel_name]
    annotation = channel.UpdateType if isinstance(channel, BaseChannel) else Any
    try:
        create_model("Probe", __config__=_STATE_MODEL_CONFIG, value=(annotation, None)).model_json_schema()
    except Exception:
        return Any
    return annotation

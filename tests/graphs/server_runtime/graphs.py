"""Graph factories in every form `langgraph_sdk.runtime.ServerRuntime` allows (issue 17, item 2).

Each factory notes each call in the file named by GRAPHDOCK_TEST_FACTORY_LOG (read at call time):
`<graph> enter <access_context>` and, for context managers, `<graph> exit <access_context>`. The
graphs all have one node that reports what its factory was given: the access context, and for a
run the context's `tenant`, and whether the factory's resource is still open while it runs.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph_sdk.runtime import ServerRuntime
from typing_extensions import TypedDict


class Context(TypedDict):
    tenant: str


class State(TypedDict, total=False):
    text: str
    built_for: str
    tenant: str | None
    variant: str | None
    resource_open: bool


def _note(line: str) -> None:
    path = os.environ.get("GRAPHDOCK_TEST_FACTORY_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(line + "\n")


def _graph(
    runtime: ServerRuntime[Context] | None,
    config: RunnableConfig | None,
    resource: dict[str, bool] | None = None,
) -> CompiledStateGraph:
    built_for = runtime.access_context if runtime is not None else "config-only"
    ert = runtime.execution_runtime if runtime is not None else None
    tenant = (ert.context or {}).get("tenant") if ert is not None else None
    variant = (config or {}).get("configurable", {}).get("variant")

    def report(state: State) -> dict[str, Any]:
        return {
            "built_for": built_for,
            "tenant": tenant,
            "variant": variant,
            "resource_open": bool(resource and resource["open"]),
        }

    builder = StateGraph(State, context_schema=Context)
    builder.add_node("report", report)
    builder.add_edge(START, "report")
    builder.add_edge("report", END)
    return builder.compile()


# (runtime), sync, annotated ServerRuntime[Context].
def by_runtime(runtime: ServerRuntime[Context]) -> CompiledStateGraph:
    _note(f"by_runtime enter {runtime.access_context}")
    return _graph(runtime, None)


# (config, runtime), async.
async def by_config_and_runtime(
    config: RunnableConfig, runtime: ServerRuntime[Context]
) -> CompiledStateGraph:
    _note(f"by_config_and_runtime enter {runtime.access_context}")
    return _graph(runtime, config)


# (runtime), async.
async def aby_runtime(runtime: ServerRuntime[Context]) -> CompiledStateGraph:
    _note(f"aby_runtime enter {runtime.access_context}")
    return _graph(runtime, None)


# (config, runtime), sync.
def by_config_and_runtime_sync(config: RunnableConfig, runtime: ServerRuntime[Context]) -> CompiledStateGraph:
    _note(f"by_config_and_runtime_sync enter {runtime.access_context}")
    return _graph(runtime, config)


# A sync context manager taking the runtime: entered for each use, exited after it.
@contextmanager
def managed(runtime: ServerRuntime[Context]) -> Iterator[CompiledStateGraph]:
    resource = {"open": True}
    _note(f"managed enter {runtime.access_context}")
    try:
        yield _graph(runtime, None, resource)
    finally:
        resource["open"] = False
        _note(f"managed exit {runtime.access_context}")


# An async context manager taking config and runtime.
@asynccontextmanager
async def amanaged(
    config: RunnableConfig, runtime: ServerRuntime[Context]
) -> AsyncIterator[CompiledStateGraph]:
    resource = {"open": True}
    _note(f"amanaged enter {runtime.access_context}")
    try:
        yield _graph(runtime, config, resource)
    finally:
        resource["open"] = False
        _note(f"amanaged exit {runtime.access_context}")

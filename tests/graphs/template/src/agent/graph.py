"""The template's graph: a TypedDict context whose one key is required, yet read with `.get()`.

As in `new-langgraph-project`, the graph runs without any context ("Configured with None"): a
TypedDict context is handed to the graph as the dict given, so a missing key is no error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.graph import StateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict


class Context(TypedDict):
    my_configurable_param: str


@dataclass
class State:
    changeme: str = "example"


async def call_model(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    return {
        "changeme": f"output from call_model. Configured with {(runtime.context or {}).get('my_configurable_param')}"
    }


graph = (
    StateGraph(State, context_schema=Context)
    .add_node(call_model)
    .add_edge("__start__", "call_model")
    .compile(name="New Graph")
)

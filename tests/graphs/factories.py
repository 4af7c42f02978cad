"""Test graphs `factory`, `factory_config` and `factory_async`: the three factory forms."""

from __future__ import annotations

import os
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from typing_extensions import TypedDict

# Read at import, so it proves langgraph.json's env was applied before the file was imported.
GREETING = os.environ.get("GRAPHDOCK_TEST_GREETING", "<unset>")


class State(TypedDict):
    text: str


class TenantContext(TypedDict):
    tenant: str


def _greet(state: State) -> State:
    return {"text": f"{GREETING}: {state['text']}"}


def _shout(state: State) -> State:
    return {"text": state["text"].upper()}


def _echo(state: State) -> State:
    return {"text": state["text"]}


def _audit(state: State) -> State:
    return {"text": state["text"] + " [audited]"}


def _chain(builder: StateGraph, *nodes: str) -> StateGraph:
    previous = START
    for node in nodes:
        builder.add_edge(previous, node)
        previous = node
    builder.add_edge(previous, END)
    return builder


# factory: zero arguments, returns a compiled graph.
def make_graph() -> CompiledStateGraph:
    builder = StateGraph(State)
    builder.add_node("greet", _greet)
    return _chain(builder, "greet").compile()


# factory_config: one `config` argument, returns an *uncompiled* StateGraph shaped by the config.
def make_graph_for(config: RunnableConfig) -> StateGraph:
    loud = config["configurable"].get("variant") == "loud"
    builder = StateGraph(State)
    builder.add_node("shout" if loud else "echo", _shout if loud else _echo)
    return _chain(builder, "shout" if loud else "echo")


# factory_async: an async factory taking `config`, with a TypedDict context schema.
async def amake_graph(config: RunnableConfig) -> CompiledStateGraph:
    configurable: dict[str, Any] = config["configurable"]
    builder = StateGraph(State, context_schema=TenantContext)
    builder.add_node("echo", _echo)
    if configurable.get("audit"):
        builder.add_node("audit", _audit)
        return _chain(builder, "echo", "audit").compile()
    return _chain(builder, "echo").compile()

"""Test graphs `uncompiled`, `dataclass` and `alias`: one per kind of context schema."""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NotRequired

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel
from typing_extensions import TypedDict


class State(TypedDict):
    text: str
    steps: Annotated[list[str], operator.add]


def _record(name: str) -> Callable[[State], dict[str, list[str]]]:
    def node(state: State) -> dict[str, list[str]]:
        return {"steps": [name]}

    return node


def _one_node_builder(node: str, **kwargs: Any) -> StateGraph:
    builder = StateGraph(State, **kwargs)
    builder.add_node(node, _record(node))
    builder.add_edge(START, node)
    builder.add_edge(node, END)
    return builder


class TypedContext(TypedDict):
    user_id: str
    verbose: NotRequired[bool]
    # An internal configurable key: the official server drops it from config_schema.
    thread_id: NotRequired[str]


@dataclass
class DataclassContext:
    api_key: str
    region: Literal["eu", "us"] = "eu"


class AliasContext(BaseModel):
    temperature: float = 0.5


# uncompiled: a StateGraph builder, not compiled; the server compiles it on load.
typed_builder = _one_node_builder("typed", context_schema=TypedContext)

# dataclass: a compiled graph whose context schema is a dataclass.
dataclass_graph = _one_node_builder("data", context_schema=DataclassContext).compile()

# alias: the deprecated `config_schema=` keyword, which langgraph maps to context_schema. Its
# deprecation warning is silenced here, where it is deliberate, so test output stays readable.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    alias_graph = _one_node_builder("alias", config_schema=AliasContext).compile()

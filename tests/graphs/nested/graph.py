"""Test graph `nested`: parent -> `child` subgraph -> `grandchild` subgraph, for subgraphs and xray."""

from __future__ import annotations

from collections.abc import Callable

from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict


class State(TypedDict):
    text: str


class ChildState(TypedDict):
    text: str
    # Only the child and grandchild declare it, so their input schemas differ from the parent's.
    depth: int


def _step(name: str, depth: int | None = None) -> Callable[[ChildState], dict[str, object]]:
    # Each node appends its name, so the output shows the path: "t>start>enter>leaf".
    def node(state: ChildState) -> dict[str, object]:
        update: dict[str, object] = {"text": f"{state['text']}>{name}"}
        if depth is not None:
            update["depth"] = depth
        return update

    return node


grandchild_builder = StateGraph(ChildState)
grandchild_builder.add_node("leaf", _step("leaf", 2))
grandchild_builder.add_edge(START, "leaf")
grandchild_builder.add_edge("leaf", END)
grandchild = grandchild_builder.compile()

child_builder = StateGraph(ChildState)
child_builder.add_node("enter", _step("enter", 1))
child_builder.add_node("grandchild", grandchild)
child_builder.add_edge(START, "enter")
child_builder.add_edge("enter", "grandchild")
child_builder.add_edge("grandchild", END)
child = child_builder.compile()

builder = StateGraph(State)
builder.add_node("start", _step("start"))
builder.add_node("child", child)
builder.add_edge(START, "start")
builder.add_edge("start", "child")
builder.add_edge("child", END)
graph = builder.compile()

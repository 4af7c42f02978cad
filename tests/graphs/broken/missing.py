"""Broken test graphs `missing` (the attribute is misspelled in langgraph.json) and `wrong_type`."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict


class State(TypedDict):
    text: str


builder = StateGraph(State)
builder.add_node("echo", lambda state: state)
builder.add_edge(START, "echo")
builder.add_edge("echo", END)
graph = builder.compile()

NOT_A_GRAPH = 42

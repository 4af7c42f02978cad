"""A graph that reports the plain string values of its run's configurable: the configurable_headers probe."""

from __future__ import annotations

from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph


class Seen(TypedDict, total=False):
    seen: dict[str, str]


def _report(state: Seen, config: RunnableConfig) -> dict[str, Any]:
    configurable = config.get("configurable", {})
    plain = {k: v for k, v in configurable.items() if isinstance(v, str) and not k.startswith("__")}
    return {"seen": plain}


builder = StateGraph(Seen)
builder.add_node("report", _report)
builder.add_edge(START, "report")
builder.add_edge("report", END)
graph = builder.compile()

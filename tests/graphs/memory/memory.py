"""A memory graph shaped like LangChain's memory-agent template: a node writes what the user said
to the store under their namespace, another recalls memories by meaning (or lists them when the
store has no index). The three ways a node reaches the store are each used once."""

from __future__ import annotations

import uuid
from typing import Any

from langgraph.config import get_store
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from typing_extensions import TypedDict


class State(TypedDict, total=False):
    user_id: str
    remember: str
    recall: str
    recalled: list[str]
    count: int


async def remember(state: State, *, store: BaseStore) -> dict[str, Any]:
    if text := state.get("remember"):
        await store.aput(("memories", state["user_id"]), uuid.uuid4().hex, {"text": text})
    return {}


async def recall(state: State, runtime: Runtime[None]) -> dict[str, Any]:
    assert runtime.store is not None
    found = await runtime.store.asearch(("memories", state["user_id"]), query=state.get("recall"), limit=3)
    return {"recalled": [item.value["text"] for item in found]}


async def count(state: State) -> dict[str, Any]:
    found = await get_store().asearch(("memories", state["user_id"]), limit=100)
    return {"count": len(found)}


graph = (
    StateGraph(State)
    .add_node(remember)
    .add_node(recall)
    .add_node(count)
    .add_edge(START, "remember")
    .add_edge("remember", "recall")
    .add_edge("recall", "count")
    .add_edge("count", END)
    .compile()
)

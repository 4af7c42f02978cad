"""A help desk for the UI's runs and threads screens: messages, a review interrupt, a failing mode.

`mode: fail` makes every run fail (a bad version to roll back from); `review: true` stops before
the answer is sent and asks (an interrupt to resume from the thread screen). Deterministic, no LLM.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel, Field


class Desk(BaseModel):
    mode: Literal["ok", "fail"] = Field("ok", description="fail: every run raises (a broken version).")
    review: bool = Field(False, description="Ask a person before the answer goes out.")


def answer(state: MessagesState, runtime: Runtime[Desk]) -> dict[str, Any]:
    if runtime.context.mode == "fail":
        raise ValueError("the desk is in fail mode")
    last = state["messages"][-1].content if state["messages"] else ""
    return {"messages": [("ai", f"echo: {last}")]}


def review(state: MessagesState, runtime: Runtime[Desk]) -> dict[str, Any]:
    if not runtime.context.review:
        return {}
    decision = interrupt({"question": "Send this answer?", "answer": state["messages"][-1].content})
    return {"messages": [("ai", f"reviewed: {decision}")]}


builder = StateGraph(MessagesState, context_schema=Desk)
builder.add_node("answer", answer)
builder.add_node("review", review)
builder.add_edge(START, "answer")
builder.add_edge("answer", "review")
builder.add_edge("review", END)
graph = builder.compile()

"""Test graph `agent`: the shape of examples/agent (pydantic context), answering deterministically."""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field


class Context(BaseModel):
    model_name: Literal["anthropic", "openai"] = Field("anthropic", description="Which model family answers.")
    system_prompt: str = Field(description="The instructions the model follows.")


def respond(state: MessagesState, runtime: Runtime[Context]) -> dict[str, list[tuple[str, str]]]:
    ctx = runtime.context
    model = getattr(ctx, "model_name", "anthropic")
    prompt = getattr(ctx, "system_prompt", "")
    last = state["messages"][-1].content if state["messages"] else ""
    return {"messages": [("ai", f"[{model}] {prompt} | you said: {last}")]}


builder = StateGraph(MessagesState, context_schema=Context)
builder.add_node("respond", respond)
builder.add_edge(START, "respond")
builder.add_edge("respond", END)
graph = builder.compile()

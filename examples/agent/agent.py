"""The bundled example: the graph of the LangGraph guide "How to version Assistants", minus the LLM.

Its context schema is the guide's (`model_name`, `system_prompt`); the one node answers
deterministically from them, so which assistant version ran is visible in the output.
"""

from __future__ import annotations

from typing import Literal

from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field


class Config(BaseModel):
    model_name: Literal["anthropic", "openai"] = Field("anthropic", description="Which model family answers.")
    system_prompt: str = Field(description="The instructions the model follows.")


def respond(state: MessagesState, runtime: Runtime[Config]) -> dict[str, list[tuple[str, str]]]:
    ctx = runtime.context
    model = getattr(ctx, "model_name", "anthropic")
    prompt = getattr(ctx, "system_prompt", "")
    last = state["messages"][-1].content if state["messages"] else ""
    return {"messages": [("ai", f"[{model}] {prompt} | you said: {last}")]}


builder = StateGraph(MessagesState, context_schema=Config)
builder.add_node("respond", respond)
builder.add_edge(START, "respond")
builder.add_edge("respond", END)
graph = builder.compile()

"""A graph whose context schema has nested values, for the UI's generated form (JSON editors)."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field


class Limits(BaseModel):
    max_tokens: int = 256
    stop: list[str] = Field(default_factory=list)


class Context(BaseModel):
    system_prompt: str = Field("Be brief.", description="The instructions the model follows.")
    temperature: float | None = Field(None, description="Sampling temperature; empty for the model's own.")
    tools: list[str] = Field(default_factory=list, description="Tool names.")
    limits: Limits = Field(default_factory=Limits, description="Generation limits.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")


def respond(state: MessagesState, runtime: Runtime[Context]) -> dict[str, Any]:
    return {"messages": [("ai", runtime.context.model_dump_json())]}


builder = StateGraph(MessagesState, context_schema=Context)
builder.add_node("respond", respond)
builder.add_edge(START, "respond")
builder.add_edge("respond", END)
graph = builder.compile()

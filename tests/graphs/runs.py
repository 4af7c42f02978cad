"""Test graphs for runs: each isolates one behaviour (echo, sleep, interrupt, fail, stream, config)."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any, Literal

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel, Field
from typing_extensions import TypedDict


class Steps(TypedDict, total=False):
    text: str
    steps: Annotated[list[str], operator.add]
    # slow: seconds each of its three steps sleeps
    delay: float


def _echo(state: Steps) -> dict[str, Any]:
    return {"steps": ["echo"], "text": state.get("text", "")}


# echo: one node, no context; the cheapest possible run (the benchmark's trivial graph).
echo = StateGraph(Steps).add_node("echo", _echo).add_edge(START, "echo").add_edge("echo", END).compile()

# remembering: echo compiled with a checkpointer of its own, which stateless runs use (runs on a
# thread get graphdock's). Not in langgraph.json: the tests that need it serve a project of their own.
remembering = (
    StateGraph(Steps)
    .add_node("echo", _echo)
    .add_edge(START, "echo")
    .add_edge("echo", END)
    .compile(checkpointer=InMemorySaver())
)


def _sleeper(name: str) -> Any:
    async def node(state: Steps) -> dict[str, Any]:
        await asyncio.sleep(state.get("delay", 0.2))
        return {"steps": [name]}

    return node


# slow: three nodes a → b → c, each sleeping `delay` seconds: long enough to cancel, queue behind.
_slow = StateGraph(Steps)
for _name in ("a", "b", "c"):
    _slow.add_node(_name, _sleeper(_name))
slow = _slow.add_edge(START, "a").add_edge("a", "b").add_edge("b", "c").add_edge("c", END).compile()


def _ask(state: Steps) -> dict[str, Any]:
    answer = interrupt({"question": "approve?", "text": state.get("text", "")})
    return {"steps": [f"answer:{answer}"]}


# interrupting: before → ask (calls interrupt()) → after; resume with Command(resume=...).
interrupting = (
    StateGraph(Steps)
    .add_node("before", lambda s: {"steps": ["before"]})
    .add_node("ask", _ask)
    .add_node("after", lambda s: {"steps": ["after"]})
    .add_edge(START, "before")
    .add_edge("before", "ask")
    .add_edge("ask", "after")
    .add_edge("after", END)
    .compile()
)


def _fail(state: Steps) -> dict[str, Any]:
    raise ValueError(f"cannot handle {state.get('text', '')!r}")


# failing: its only node raises ValueError naming the input text.
failing = StateGraph(Steps).add_node("fail", _fail).add_edge(START, "fail").add_edge("fail", END).compile()


async def _chat(state: MessagesState) -> dict[str, Any]:
    write = get_stream_writer()
    write({"progress": "thinking"})
    model = GenericFakeChatModel(messages=iter([AIMessage(content="hello there friend", id="ai-1")]))
    reply = await model.ainvoke(state["messages"])
    write({"progress": "done"})
    return {"messages": [reply]}


# chat: a fake chat model that streams "hello there friend" token by token, plus custom events.
chat = (
    StateGraph(MessagesState).add_node("chat", _chat).add_edge(START, "chat").add_edge("chat", END).compile()
)


class Context(BaseModel):
    model_name: Literal["anthropic", "openai"] = Field("anthropic", description="Which model family answers.")
    system_prompt: str = Field("You are helpful.", description="The instructions the model follows.")


class Seen(TypedDict, total=False):
    text: str
    seen: dict[str, Any]


def _observe(state: Seen, config: RunnableConfig, runtime: Runtime[Context]) -> dict[str, Any]:
    configurable = config.get("configurable", {})
    ctx = runtime.context
    return {
        "seen": {
            "configurable_model": configurable.get("model_name"),
            "configurable_prompt": configurable.get("system_prompt"),
            "context_model": getattr(ctx, "model_name", None),
            "context_prompt": getattr(ctx, "system_prompt", None),
            "assistant_version": configurable.get("assistant_version"),
            "tags": config.get("tags", []),
        }
    }


# observer: reports what the run saw (configurable, context, version) in its state: the versioning probe.
observer = (
    StateGraph(Seen, context_schema=Context)
    .add_node("observe", _observe)
    .add_edge(START, "observe")
    .add_edge("observe", END)
    .compile()
)

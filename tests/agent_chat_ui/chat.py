"""The graph agent-chat-ui talks to in `make agent-chat-ui`: a streamed answer from a deterministic
fake chat model, and, when asked for approval, a proposal followed by an Agent Inbox interrupt
(the UI renders it as a form under the last AI message)."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt

PROPOSAL = "I would like to send an email to ada@example.com."


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") for part in content if isinstance(part, dict))


async def respond(state: MessagesState) -> dict[str, Any]:
    asked = _text(state["messages"][-1])
    reply = (
        PROPOSAL
        if "approval" in asked.lower()
        else f"Hello from graphdock! You said: {asked}. This answer streams word by word."
    )
    model = GenericFakeChatModel(messages=iter([AIMessage(content=reply)]))
    # Invoked inside the node, so LangGraph streams its tokens in `messages` mode.
    return {"messages": [await model.ainvoke(state["messages"])]}


def confirm(state: MessagesState) -> dict[str, Any]:
    # The Agent Inbox shape (HumanInterrupt) agent-chat-ui turns into Accept/Edit/Respond/Ignore.
    decision = interrupt(
        [
            {
                "action_request": {"action": "send_email", "args": {"to": "ada@example.com"}},
                "config": {
                    "allow_accept": True,
                    "allow_edit": True,
                    "allow_respond": True,
                    "allow_ignore": True,
                },
                "description": "May I send the email to ada@example.com?",
            }
        ]
    )
    kind = decision[0]["type"] if isinstance(decision, list) and decision else "unknown"
    return {"messages": [AIMessage(content=f"Decision received: {kind}. The email is sent.")]}


def _next(state: MessagesState) -> str:
    return "confirm" if _text(state["messages"][-1]) == PROPOSAL else END


graph = (
    StateGraph(MessagesState)
    .add_node("respond", respond)
    .add_node("confirm", confirm)
    .add_edge(START, "respond")
    .add_conditional_edges("respond", _next, ["confirm", END])
    .add_edge("confirm", END)
    .compile()
)

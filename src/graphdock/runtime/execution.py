"""Executing one run: drive the graph, turn its output into the API's stream events, report how it ended.

The API's stream modes mostly are LangGraph's own; three need translating: `messages-tuple` is
LangGraph's `messages` passed through, `messages` accumulates chunks into `messages/partial` and
`messages/complete` events (what the SDKs' chat helpers read), and `events` runs the graph through
`astream_events`, whose root `on_chain_stream` events carry the other modes' chunks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import structlog
from langchain_core.messages import BaseMessage, BaseMessageChunk, message_chunk_to_message
from langchain_core.runnables import RunnableConfig
from langgraph.types import StateSnapshot

from graphdock.runtime.graphs import AnyPregel
from graphdock.runtime.serialize import dumps, to_json
from graphdock.runtime.streams import RunStream

log = structlog.get_logger("graphdock.runs")

# The run's identity in its config (domain/run_config.py puts it there), for the failure log.
_IDENTITY = ("run_id", "thread_id", "graph_id", "assistant_id", "assistant_version")

# API stream mode → the LangGraph mode that feeds it.
_GRAPH_MODE = {
    "values": "values",
    "updates": "updates",
    "messages": "messages",
    "messages-tuple": "messages",
    "custom": "custom",
    "debug": "debug",
    "tasks": "tasks",
    "checkpoints": "checkpoints",
}

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class RunPlan:
    graph: AnyPregel  # with the checkpointer attached when the run keeps state
    input: Any  # the input dict, None to continue, or a langgraph Command
    config: Json
    context: Json | None
    stream_modes: tuple[str, ...]
    subgraphs: bool = False
    interrupt_before: Any = None
    interrupt_after: Any = None
    durability: str | None = None
    stateful: bool = True


@dataclass(frozen=True, slots=True)
class RunResult:
    status: Literal["success", "error"]
    values: Any = None
    interrupts: dict[str, list[Json]] = field(default_factory=dict)
    # Pending nodes: the thread stops "interrupted" when any are left.
    next: tuple[str, ...] = ()
    error: Json | None = None
    # Whether the graph ran with a checkpointer (graphdock's, or one it was compiled with), so
    # may have written checkpoints: a stateless run's graph without one wrote none.
    checkpointed: bool = False


async def execute(plan: RunPlan, stream: RunStream) -> RunResult:
    """Run the graph to its end (or an interrupt); CancelledError passes through to the caller."""
    out = _Emitter(stream, plan.stream_modes, subgraphs=plan.subgraphs)
    # "values" always: the root's values are needed whatever the client asked for.
    graph_modes = sorted({_GRAPH_MODE[m] for m in plan.stream_modes if m in _GRAPH_MODE} | {"values"})
    options: Json = {
        "stream_mode": graph_modes,
        # Subgraphs' chunks only when the client wants them (the emitter would drop them): asked
        # for, LangGraph streams every run through a thread-safe waiter, ~15 % of its own cost for
        # a one-node graph. `events` reads them from its root's on_chain_stream events, which carry
        # (namespace, mode, chunk) only with them.
        "subgraphs": plan.subgraphs or "events" in plan.stream_modes,
        "interrupt_before": plan.interrupt_before,
        "interrupt_after": plan.interrupt_after,
        "context": plan.context,
        "durability": plan.durability,
    }
    checkpointed = plan.graph.checkpointer not in (None, False)
    try:
        async for ns, mode, chunk in _chunks(plan, options, out):
            out.chunk(ns, mode, chunk)
    except Exception as exc:
        # The graph's own failure: the operator needs its traceback and which run it was, at the
        # default level (the client gets type and message in its error event).
        who = plan.config.get("configurable", {})
        log.error(
            "run.graph_failed",
            exc_info=exc,
            **{key: who.get(key) for key in _IDENTITY},
        )
        error = {"error": type(exc).__name__, "message": str(exc)}
        stream.publish("error", dumps(error))
        return RunResult("error", values=to_json(out.values), error=error, checkpointed=checkpointed)
    if plan.stateful:
        # The thread's state now: without the checkpoint_id a run may have started from (resuming
        # at a checkpoint the client named), which would read that old checkpoint back.
        configurable = {k: v for k, v in plan.config.get("configurable", {}).items() if k != "checkpoint_id"}
        latest = {**plan.config, "configurable": configurable}
        state = await plan.graph.aget_state(cast(RunnableConfig, latest))
        return RunResult(
            "success",
            values=to_json(state.values),
            interrupts=interrupts_of(state),
            next=state.next,
            checkpointed=checkpointed,
        )
    return RunResult("success", values=to_json(out.values), checkpointed=checkpointed)


async def _chunks(
    plan: RunPlan, options: Json, out: _Emitter
) -> AsyncIterator[tuple[tuple[str, ...], str, Any]]:
    if "events" not in plan.stream_modes:
        stream: Any = plan.graph.astream  # called with the options above; its overloads can't see them
        chunks = stream(plan.input, cast(RunnableConfig, plan.config), **options)
        if options["subgraphs"]:
            async for ns, mode, chunk in chunks:
                yield ns, mode, chunk
        else:  # the root's chunks alone, without their (empty) namespace
            async for mode, chunk in chunks:
                yield (), mode, chunk
        return
    events: Any = plan.graph.astream_events
    async for event in events(plan.input, cast(RunnableConfig, plan.config), version="v2", **options):
        out.publish("events", event)
        # The graph's own stream output rides on its root run's on_chain_stream events.
        if event["event"] == "on_chain_stream" and not event.get("parent_ids"):
            chunk = event["data"].get("chunk")
            if isinstance(chunk, tuple) and len(chunk) == 3:
                yield chunk


def interrupts_of(state: StateSnapshot) -> dict[str, list[Json]]:
    """A thread's pending interrupts by task id, as the SDK's Thread.interrupts holds them."""
    return {
        task.id: [to_json(i) for i in task.interrupts]  # Interrupt(value, id) → {"value", "id"}
        for task in state.tasks
        if task.interrupts
    }


class _Emitter:
    """Publishes the chunks a client asked for, in the API's event names."""

    def __init__(self, stream: RunStream, modes: tuple[str, ...], *, subgraphs: bool) -> None:
        self._stream = stream
        self._modes = set(modes)
        self._subgraphs = subgraphs
        self.values: Any = None
        self._messages: dict[str, BaseMessageChunk] = {}

    def publish(self, event: str, data: Any) -> None:
        self._stream.publish(event, dumps(data))

    def chunk(self, ns: tuple[str, ...], mode: str, chunk: Any) -> None:
        suffix = "|" + "|".join(ns) if ns else ""
        if mode == "values" and not ns:
            state = (
                {k: v for k, v in chunk.items() if k != "__interrupt__"} if isinstance(chunk, dict) else chunk
            )
            self.values = state  # converted once, at the end
        # Subgraph output is always produced (the root values need it), but only sent on request.
        if ns and not self._subgraphs:
            return
        if mode == "messages":
            self._message(chunk, suffix)
            return
        if mode in self._modes:
            self.publish(mode + suffix, chunk)

    def _message(self, chunk: Any, suffix: str) -> None:
        message, metadata = chunk
        if "messages-tuple" in self._modes:
            self.publish("messages" + suffix, (message, metadata))
        if "messages" not in self._modes or not isinstance(message, BaseMessage):
            return
        key = message.id or ""
        if key not in self._messages and not isinstance(message, BaseMessageChunk):
            self.publish("messages/metadata" + suffix, {key: {"metadata": metadata}})
            self.publish("messages/complete" + suffix, [message])
            return
        if isinstance(message, BaseMessageChunk):
            if key not in self._messages:
                self.publish("messages/metadata" + suffix, {key: {"metadata": metadata}})
                self._messages[key] = message
            else:
                self._messages[key] = self._messages[key] + message
            # The message so far, as a message (type "ai", not "AIMessageChunk"), as the official server sends it.
            self.publish("messages/partial" + suffix, [message_chunk_to_message(self._messages[key])])
        else:
            self.publish("messages/complete" + suffix, [message])

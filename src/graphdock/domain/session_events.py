"""The thread streaming session's events: a thread's runs as the SDK's `client.threads.stream` reads them.

The session (`POST /threads/{id}/stream/events`, or its WebSocket) follows the thread's stream
with replay (ThreadStreams.replay) and turns each run's events into protocol envelopes
(langchain_protocol's `Event`): `{"type": "event", "event_id", "seq", "method", "params":
{"namespace", "timestamp", "data"}}`. `lifecycle` events are made here at each run's start
(`running`) and end (`completed`, `failed`, or `interrupted`); an interrupt becomes an
`input.requested` event; `messages-tuple` chunks become message blocks (runtime/message_blocks.py).

`seq` counts one connection's events from 1, all channels included, so that every connection
replaying the same runs numbers them alike and a client's `since` means the same on the next one;
`event_id` names the run event an envelope came from, for the SDKs' dedup across connections.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from graphdock.domain.thread_streams import Item, RunEnded, RunFollowed, ThreadEvent
from graphdock.errors import InvalidRequest
from graphdock.runtime.message_blocks import MessageBlocks
from graphdock.storage.records import Json

CHANNELS = ("values", "updates", "checkpoints", "messages", "tools", "custom", "lifecycle", "input", "tasks")
# Run stream modes a session's runs are created with: what the channels above are made from.
RUN_MODES = ("values", "updates", "messages-tuple", "custom", "tasks", "checkpoints")
NO_CHANNELS = "channels is required and must be a non-empty array"


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What one stream (or WebSocket subscription) asked for."""

    channels: frozenset[str]
    namespaces: tuple[tuple[str, ...], ...] | None = None
    depth: int | None = None

    def matches(self, envelope: Json) -> bool:
        method: str = envelope["method"]
        data = envelope["params"]["data"]
        channel = "input" if method == "input.requested" else method
        if channel not in self.channels:
            name = data.get("name") if method == "custom" and isinstance(data, dict) else None
            if not (isinstance(name, str) and f"custom:{name}" in self.channels):
                return False
        namespace: list[str] = envelope["params"]["namespace"]
        prefixes = self.namespaces if self.namespaces is not None else ((),)
        return any(
            tuple(namespace[: len(p)]) == p and (self.depth is None or len(namespace) - len(p) <= self.depth)
            for p in prefixes
        )


def parse_filter(body: Any) -> tuple[EventFilter, int | None]:
    """A stream request's filter and its `since`; InvalidRequest naming what is wrong.

    As on the official server, a malformed `namespaces`, `depth` or `since` is ignored rather
    than refused (only the channels must be right)."""
    channels = body.get("channels") if isinstance(body, dict) else None
    if not isinstance(channels, list) or not channels:
        raise InvalidRequest(NO_CHANNELS)
    bad = [repr(c) if not isinstance(c, str) else c for c in channels if not _known(c)]
    if bad:
        raise InvalidRequest(
            f"channels contains unsupported entries: {', '.join(bad[:5])}. "
            f"Allowed: {', '.join(CHANNELS)}, or any `custom:<name>`."
        )
    raw = body.get("namespaces")
    namespaces = (
        tuple(tuple(ns) for ns in raw if isinstance(ns, list) and all(isinstance(s, str) for s in ns))
        if isinstance(raw, list)
        else ()
    )
    depth = body.get("depth")
    since = body.get("since")
    wanted = EventFilter(
        frozenset(channels),
        namespaces or None,
        depth if isinstance(depth, int) and not isinstance(depth, bool) and depth >= 0 else None,
    )
    return wanted, since if isinstance(since, int) and not isinstance(since, bool) and since >= 0 else None


def _known(channel: Any) -> bool:
    return isinstance(channel, str) and (
        channel in CHANNELS or (channel.startswith("custom:") and len(channel) > 7)
    )


async def envelopes(
    items: AsyncGenerator[Item], wanted: EventFilter, since: int | None
) -> AsyncIterator[Json]:
    """One stream's envelopes: those its filter takes, after `since`."""
    session = SessionEvents()
    try:
        async for item in items:
            for envelope in session.translate(item):
                if (since is None or envelope["seq"] > since) and wanted.matches(envelope):
                    yield envelope
    finally:
        await items.aclose()  # now, not when collected: it stops watching the thread


def _checkpoint(data: Any) -> Any:
    """LangGraph's `checkpoints` stream chunk as the protocol's Checkpoint: `{id, parent_id?, step, source}`."""
    if not isinstance(data, dict):
        return data

    def checkpoint_id(config: Any) -> Any:
        return ((config or {}).get("configurable") or {}).get("checkpoint_id")

    metadata = data.get("metadata") or {}
    made: Json = {
        "id": checkpoint_id(data.get("config")),
        "step": metadata.get("step"),
        "source": metadata.get("source"),
    }
    if parent := checkpoint_id(data.get("parent_config")):
        made["parent_id"] = parent
    return made


@dataclass
class _Run:
    graph_name: str
    messages: MessageBlocks = field(default_factory=MessageBlocks)
    interrupts: set[str] = field(default_factory=set)
    ended: bool = False


class SessionEvents:
    """One connection's translation: every run event in, its envelopes (all channels) out."""

    def __init__(self) -> None:
        self.seq = 0
        self._runs: dict[str, _Run] = {}

    def translate(self, item: Item) -> list[Json]:
        if isinstance(item, RunFollowed):
            run = item.run
            state = self._runs[run.run_id] = _Run(str(run.metadata.get("graph_id") or run.assistant_id))
            return [self._lifecycle(run.run_id, state, "running")]
        if isinstance(item, RunEnded):
            return self._ended(item)
        return self._event(item)

    def _event(self, item: ThreadEvent) -> list[Json]:
        state = self._runs.get(item.run_id)
        if state is None:
            return []
        mode, *namespace = item.event.event.split("|")
        data = orjson.loads(item.event.data)
        made: list[tuple[str, Any]] = []  # (method, data)
        if mode == "error":
            state.ended = True
            message = data.get("message") if isinstance(data, dict) else None
            return [self._lifecycle(item.run_id, state, "failed", error=str(message or data))]
        if mode == "values":
            # At an interrupt LangGraph repeats the last state with `__interrupt__` added: only
            # the interrupt is news.
            made.extend(self._interrupts(state, data))
            if not (isinstance(data, dict) and "__interrupt__" in data):
                made.append(("values", data))
        elif mode == "updates" and isinstance(data, dict):
            for node, values in data.items():
                if node == "__interrupt__":
                    made.extend(self._interrupts(state, {node: values}))
                else:
                    made.append(
                        (
                            "updates",
                            {
                                "node": node,
                                "values": values if isinstance(values, dict) else {"value": values},
                            },
                        )
                    )
        elif mode == "messages" and isinstance(data, list) and len(data) == 2:
            made.extend(("messages", block) for block in state.messages.feed(data[0], data[1]))
        elif mode == "custom":
            made.append(("custom", {"payload": data}))
        elif mode == "checkpoints":
            made.append(("checkpoints", _checkpoint(data)))
        elif mode == "tasks":
            made.append(("tasks", data))
        base = f"{item.run_id}:{item.event.id}"
        return [
            self._envelope(base if n == 0 else f"{base}.{n}", method, namespace, payload)
            for n, (method, payload) in enumerate(made)
        ]

    def _interrupts(self, state: _Run, data: Any) -> list[tuple[str, Any]]:
        """`input.requested` for each interrupt not announced yet (values and updates both carry them)."""
        found = data.get("__interrupt__") if isinstance(data, dict) else None
        made: list[tuple[str, Any]] = []
        for entry in found if isinstance(found, list) else []:
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("id"), str)
                and entry["id"] not in state.interrupts
            ):
                state.interrupts.add(entry["id"])
                made.append(("input.requested", {"interrupt_id": entry["id"], "payload": entry.get("value")}))
        return made

    def _ended(self, item: RunEnded) -> list[Json]:
        state = self._runs.pop(item.run.run_id, None)
        if state is None:
            return []
        out = [
            self._envelope(f"{item.run.run_id}:flush.{n}", "messages", [], block)
            for n, block in enumerate(state.messages.flush())
        ]
        if state.ended:
            return out
        if item.status == "success":
            status, error = ("interrupted" if state.interrupts else "completed"), None
        elif item.status == "interrupted":  # cancelled
            status, error = "interrupted", None
        else:
            message = (item.error or {}).get("message") if item.status else "The run was deleted"
            status, error = "failed", str(message or item.status)
        out.append(self._lifecycle(item.run.run_id, state, status, error=error))
        return out

    def _lifecycle(self, run_id: str, state: _Run, status: str, error: str | None = None) -> Json:
        data: Json = {"event": status, "graph_name": state.graph_name}
        if error is not None:
            data["error"] = error
        return self._envelope(f"{run_id}:lifecycle.{status}", "lifecycle", [], data)

    def _envelope(self, event_id: str, method: str, namespace: list[str], data: Any) -> Json:
        self.seq += 1
        return {
            "type": "event",
            "event_id": event_id,
            "seq": self.seq,
            "method": method,
            "params": {"namespace": namespace, "timestamp": int(time.time() * 1000), "data": data},
        }

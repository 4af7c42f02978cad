"""LangGraph's `messages-tuple` chunks as the thread streaming protocol's message blocks.

The SDK's thread streaming session (`client.threads.stream`, JS `ThreadStream`) reads the
`messages` channel not as LangGraph's `(message, metadata)` pairs but as one lifecycle per
message: `message-start`, then per content block `content-block-start`, `content-block-delta`s and
`content-block-finish`, then `message-finish` (langchain_protocol's `MessagesData`). A streamed
AI message arrives as chunks sharing its id, the last one marked `chunk_position: "last"`; a
message a node returns whole arrives once. Text, reasoning and tool-call chunks are translated;
other block types are passed whole at their finish.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

Json = dict[str, Any]

_ROLES = {"ai": "ai", "AIMessageChunk": "ai", "human": "human", "HumanMessageChunk": "human"}
_ROLES |= {"system": "system", "SystemMessageChunk": "system"}
# What a block's delta carries, by block type.
_DELTAS = {"text": ("text-delta", "text"), "reasoning": ("reasoning-delta", "reasoning")}


@dataclass
class _Block:
    index: int  # the wire index: the order blocks were first seen in
    content: Json


@dataclass
class _Message:
    blocks: dict[Any, _Block] = field(default_factory=dict)
    usage: Json | None = None


class MessageBlocks:
    """One run's messages: each chunk in, the protocol events it makes out (`data` payloads)."""

    def __init__(self) -> None:
        self._open: dict[str, _Message] = {}

    def feed(self, message: Any, metadata: Any) -> list[Json]:
        if not isinstance(message, dict):
            return []
        role = _ROLES.get(str(message.get("type")))
        if role is None:  # tool results travel on the tools channel, not as messages
            return []
        key = str(message.get("id") or "")
        chunked = str(message.get("type", "")).endswith("Chunk")
        out: list[Json] = []
        state = self._open.get(key)
        if state is None:
            state = _Message()
            start: Json = {"event": "message-start", "role": role, "id": key}
            node = metadata.get("langgraph_node") if isinstance(metadata, dict) else None
            if isinstance(node, str):
                start["metadata"] = {"langgraph_node": node}
            out.append(start)
            if chunked:
                self._open[key] = state
        for source, block in _blocks(message, chunked):
            out.extend(_add(state, source, block))
        if isinstance(message.get("usage_metadata"), dict):
            state.usage = message["usage_metadata"]
        if not chunked or message.get("chunk_position") == "last":
            self._open.pop(key, None)
            out.extend(_finish(state))
        return out

    def flush(self) -> list[Json]:
        """Finish the messages still open when the run ended (a model cut off mid-stream)."""
        out = [event for state in self._open.values() for event in _finish(state)]
        self._open.clear()
        return out


def _blocks(message: Json, chunked: bool) -> list[tuple[Any, Json]]:
    """(source key, block) pairs: the key says which earlier chunk's block a slice continues."""
    content = message.get("content")
    found: list[tuple[Any, Json]] = []
    if isinstance(content, str):
        if content:
            found.append((0, {"type": "text", "text": content}))
    elif isinstance(content, list):
        for position, item in enumerate(content):
            if isinstance(item, str):
                found.append((position, {"type": "text", "text": item}))
            elif isinstance(item, dict) and isinstance(item.get("type"), str):
                block = {k: v for k, v in item.items() if k != "index"}
                found.append((item.get("index", position), block))
    if chunked:
        for chunk in message.get("tool_call_chunks") or []:
            if isinstance(chunk, dict):
                block = {"type": "tool_call_chunk", "id": chunk.get("id"), "name": chunk.get("name")}
                block["args"] = chunk.get("args") or ""
                found.append((("tool", chunk.get("index")), block))
    else:
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict):
                found.append((("tool", call.get("id")), {"type": "tool_call", **call}))
    return found


def _add(state: _Message, source: Any, block: Json) -> list[Json]:
    out: list[Json] = []
    kind = block["type"]
    current = state.blocks.get(source)
    if current is None:
        current = state.blocks[source] = _Block(len(state.blocks), dict(block))
        skeleton = dict(block)
        if kind in _DELTAS:
            skeleton[_DELTAS[kind][1]] = ""
        elif kind == "tool_call_chunk":
            skeleton["args"] = ""
        out.append({"event": "content-block-start", "index": current.index, "content": skeleton})
    else:
        for name in ("text", "reasoning", "args"):
            if isinstance(block.get(name), str) and isinstance(current.content.get(name), str):
                current.content[name] += block[name]
    if kind in _DELTAS and block.get(_DELTAS[kind][1]):
        delta_type, name = _DELTAS[kind]
        out.append(
            {
                "event": "content-block-delta",
                "index": current.index,
                "delta": {"type": delta_type, name: block[name]},
            }
        )
    elif kind == "tool_call_chunk" and block.get("args"):
        delta = {"type": "tool-call-delta", "args": block["args"]}
        out.append({"event": "content-block-delta", "index": current.index, "delta": delta})
    return out


def _finish(state: _Message) -> list[Json]:
    out = [
        {"event": "content-block-finish", "index": b.index, "content": _finalized(b.content)}
        for b in state.blocks.values()
    ]
    finish: Json = {"event": "message-finish"}
    if state.usage:
        finish["usage"] = state.usage
    out.append(finish)
    return out


def _finalized(block: Json) -> Json:
    """A tool call's streamed arguments parsed, as the model's finished message holds them."""
    if block.get("type") != "tool_call_chunk":
        return block
    raw = block.get("args") or ""
    try:
        args = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        return {"type": "invalid_tool_call", "id": block.get("id"), "name": block.get("name"), "args": raw}
    return {"type": "tool_call", "id": block.get("id"), "name": block.get("name"), "args": args}

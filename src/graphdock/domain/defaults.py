"""Default assistants: one per graph, made at start-up, found by `metadata.created_by = system`."""

from __future__ import annotations

import uuid

from graphdock.storage.records import AssistantHistory, Snapshot

# The namespace the official server derives default assistant ids from; keeping it means a
# client that hard-codes uuid5(NS, "agent") finds the same assistant here.
DEFAULT_ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
SYSTEM_METADATA = {"created_by": "system"}


def default_assistant_id(graph_id: str) -> str:
    return str(uuid.uuid5(DEFAULT_ASSISTANT_NAMESPACE, graph_id))


def default_snapshot(graph_id: str, name: str, description: str | None) -> Snapshot:
    return Snapshot(graph_id, {}, {}, dict(SYSTEM_METADATA), name, description)


def is_untouched_default(history: AssistantHistory) -> bool:
    """A default assistant exactly as start-up made it: a placeholder, no user's work in it.

    Neither description nor name is compared: they come from langgraph.json and the graph's code
    (`compile(name=...)`), which may differ by server and by release.
    """
    a = history.assistant
    s = a.snapshot
    return (
        a.assistant_id == default_assistant_id(s.graph_id)
        and history.last_version == 1
        and len(history.versions) == 1
        and history.versions[0].change.kind == "create"
        and (s.config, s.context, s.metadata) == ({}, {}, SYSTEM_METADATA)
    )

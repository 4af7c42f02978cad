"""What a run sees: which assistant version, and the config and context merged from it and the run.

The official server freezes the first run's configurable into the thread; here every run starts
from the version active when it starts (or the one it is pinned to), on new and old threads
alike, for `configurable` and `context` both.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from graphdock.domain.defaults import default_assistant_id
from graphdock.errors import InvalidRequest
from graphdock.storage.records import Json, Snapshot

# `<assistant id or graph id>@<version>`: pins a run to a version through the unchanged SDKs,
# which pass assistant_id through as an opaque string.
_PINNED = re.compile(r"^(?P<ref>.+)@(?P<version>[0-9]+)$")


@dataclass(frozen=True, slots=True)
class AssistantRef:
    assistant_id: str
    version: int | None  # None: the active version when the run starts


def parse_assistant_ref(raw: str, graph_ids: tuple[str, ...]) -> AssistantRef:
    """An assistant UUID (any spelling) or a graph id (its default assistant), optionally `@N`."""
    ref, version = raw, None
    if (m := _PINNED.match(raw)) is not None:
        ref, version = m["ref"], int(m["version"])
        if not 1 <= version < 2**63:
            raise InvalidRequest(f"assistant_id: version {m['version']} is out of range")
    if ref in graph_ids:
        return AssistantRef(default_assistant_id(ref), version)
    try:
        return AssistantRef(str(uuid.UUID(ref)), version)
    except ValueError:
        raise InvalidRequest(
            f"assistant_id: {raw!r} is neither an assistant UUID nor a graph id "
            f"({', '.join(graph_ids)}); pin a version with '<id>@<version>'"
        ) from None


@dataclass(frozen=True, slots=True)
class RunIdentity:
    run_id: str
    thread_id: str
    assistant_id: str
    assistant_version: int
    graph_id: str
    user_id: str | None = None


def run_config(snapshot: Snapshot, run: Json, who: RunIdentity, metadata: Json) -> Json:
    """assistant config ⊕ run config ⊕ the run's identity (later wins, key by key).

    The identity also goes into `metadata`, which LangGraph copies into every checkpoint: so each
    checkpoint records the run and the assistant version that wrote it.
    """
    identity: Json = {
        "run_id": who.run_id,
        "thread_id": who.thread_id,
        "graph_id": who.graph_id,
        "assistant_id": who.assistant_id,
        "assistant_version": who.assistant_version,
    }
    if who.user_id is not None:
        identity["user_id"] = who.user_id
    config: Json = {
        **snapshot.config,
        **{k: v for k, v in run.items() if k not in ("configurable", "metadata")},
    }
    tags = [*snapshot.config.get("tags", []), *run.get("tags", [])]
    if tags:
        config["tags"] = list(dict.fromkeys(tags))
    config["configurable"] = {
        **snapshot.config.get("configurable", {}),
        **(run.get("configurable") or {}),
        **identity,
    }
    config["metadata"] = {**(run.get("metadata") or {}), **metadata, **identity}
    return config


def run_context(
    snapshot: Snapshot, run_config_: Json, run_context_: Json | None, schema: Json | None
) -> Json | None:
    """assistant context ⊕ run context (or the run's configurable when it gives none).

    Only the schema's own keys are kept: `configurable` carries thread ids and the like, which a
    context dataclass would refuse. A graph without a context schema gets no context.
    """
    if not schema:
        return None
    given = run_context_ if run_context_ is not None else (run_config_.get("configurable") or {})
    merged: Json = {**snapshot.context, **given}
    properties: dict[str, Any] | None = schema.get("properties")
    if properties is None:
        return merged
    return {k: v for k, v in merged.items() if k in properties}

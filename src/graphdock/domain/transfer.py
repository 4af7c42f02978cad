"""Moving assistants with their whole history between servers: what a consistent history is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from graphdock.domain.defaults import is_untouched_default
from graphdock.errors import InvalidRequest
from graphdock.schemas.transfer import ExportedAssistant
from graphdock.storage.base import ImportOutcome
from graphdock.storage.records import Assistant, AssistantHistory, AssistantVersion, Change, Snapshot


def history_to_wire(history: AssistantHistory) -> dict[str, Any]:
    a = history.assistant
    return {
        "assistant_id": a.assistant_id,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
        "version": a.version,
        "last_version": history.last_version,
        "versions": [
            {k: v for k, v in version.to_wire().items() if k != "assistant_id"}
            for version in history.versions
        ],
    }


def history_from_wire(item: ExportedAssistant, known_graphs: Sequence[str]) -> AssistantHistory:
    """Rebuild a history from a validated ExportedAssistant, refusing one that contradicts itself."""
    aid: str = item.assistant_id
    numbers = [v.version for v in item.versions]
    if len(set(numbers)) != len(numbers):
        raise InvalidRequest(f"assistants[{aid}].versions: version numbers repeat")
    if item.last_version < max(numbers):
        raise InvalidRequest(
            f"assistants[{aid}].last_version: {item.last_version} is below version {max(numbers)}"
        )
    versions = tuple(
        AssistantVersion(
            aid,
            v.version,
            Snapshot(v.graph_id, v.config, v.context, v.metadata, v.name, v.description),
            v.created_at,
            Change(v.change, v.changed_by, v.restored_from),
        )
        for v in sorted(item.versions, key=lambda v: v.version)
    )
    active = next((v for v in versions if v.version == item.version), None)
    if active is None:
        raise InvalidRequest(
            f"assistants[{aid}].version: the active version {item.version} is not among its versions"
        )
    if active.snapshot.graph_id not in known_graphs:
        raise InvalidRequest(
            f"assistants[{aid}]: its active version runs graph {active.snapshot.graph_id!r}, which this server "
            f"does not serve (known graphs: {', '.join(known_graphs)})"
        )
    # The active row is, by definition, the active version's snapshot.
    assistant = Assistant(aid, item.version, active.snapshot, item.created_at, item.updated_at)
    return AssistantHistory(assistant, item.last_version, versions)


def decide_import(stored: AssistantHistory | None, incoming: AssistantHistory) -> ImportOutcome:
    """What importing `incoming` does, given what is stored under its id.

    Default assistants are special: every server makes its own at start-up, with the same ids.
    An untouched default on either side carries no one's work, so it never blocks an import: an
    untouched incoming one is skipped, an untouched stored one gives way to the imported history.
    """
    if stored is None:
        return "create"
    if _fingerprint(stored) == _fingerprint(incoming) or is_untouched_default(incoming):
        return "unchanged"
    if is_untouched_default(stored):
        return "replace"
    return "conflict"


def _fingerprint(history: AssistantHistory) -> bytes:
    # As JSON, not with ==: Python says True == 1 == 1.0, JSON does not. The active row's
    # updated_at is left out: rolling back and forth again changes nothing real.
    a = history.assistant
    return orjson.dumps(
        [a.version, history.last_version, a.created_at, [v.to_wire() for v in history.versions]]
    )

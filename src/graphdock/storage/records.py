"""The rows storage hands to the domain: assistants (the active row) and their versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from graphdock.storage.visibility import Visibility

Json = dict[str, Any]

SortField = Literal["assistant_id", "created_at", "updated_at", "name", "graph_id"]
ChangeKind = Literal["create", "update", "restore", "import"]


def utc_now() -> str:
    # Fixed width (always microseconds, always +00:00) so that string order is time order on
    # every backend; plain `isoformat()` drops ".000000", which would break that.
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one version holds; set_latest copies all of it back to the active row."""

    graph_id: str
    config: Json
    context: Json
    metadata: Json
    name: str
    description: str | None

    def to_wire(self) -> Json:
        return {
            "graph_id": self.graph_id,
            "config": self.config,
            "context": self.context,
            "metadata": self.metadata,
            "name": self.name,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """The audit trail of one version: how it was made, by whom, from what."""

    kind: ChangeKind = "update"
    # The authenticated identity that made it; None while no auth is configured.
    by: str | None = None
    # For a restore: the version whose snapshot it copied.
    restored_from: int | None = None


CREATED = Change("create")
UPDATED = Change("update")


@dataclass(frozen=True, slots=True)
class AssistantVersion:
    assistant_id: str
    version: int
    snapshot: Snapshot
    created_at: str
    change: Change = field(default_factory=Change)

    def to_wire(self) -> Json:
        return {
            "assistant_id": self.assistant_id,
            **self.snapshot.to_wire(),
            "version": self.version,
            "created_at": self.created_at,
            # Beyond the SDK's AssistantVersion (clients ignore unknown keys): the audit trail.
            "change": self.change.kind,
            "changed_by": self.change.by,
            "restored_from": self.change.restored_from,
        }


@dataclass(frozen=True, slots=True)
class Assistant:
    assistant_id: str
    version: int
    snapshot: Snapshot
    created_at: str
    updated_at: str

    def to_wire(self) -> Json:
        return {
            "assistant_id": self.assistant_id,
            **self.snapshot.to_wire(),
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class AssistantHistory:
    """An assistant with every version it still has: the unit of export and import."""

    assistant: Assistant
    last_version: int
    versions: tuple[AssistantVersion, ...]


@dataclass(frozen=True, slots=True)
class AssistantFilter:
    """What search and count match on; every part is optional."""

    graph_id: str | None = None
    # Case-insensitive substring of the name.
    name: str | None = None
    # JSON containment, as PostgreSQL's `@>`.
    metadata: Json = field(default_factory=dict)
    # What the user may see (an auth handler's filter); None: everything.
    visible: Visibility | None = None


@dataclass(frozen=True, slots=True)
class Page:
    limit: int = 10
    offset: int = 0

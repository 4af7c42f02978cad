"""The storage interface: everything the domain may ask of a database, nothing more.

Each backend (SQLite now, PostgreSQL next) implements it and is held to the same contract suite
(tests/storage). Writes that touch two rows (the active row and a version) happen in one
transaction inside the backend; version numbers are allocated there too, and so is the If-Match
check (`if_version`), so that "check, then write" can never interleave with another writer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from graphdock.errors import Conflict, NotFound, PreconditionFailed
from graphdock.storage.records import (
    CREATED,
    UPDATED,
    Assistant,
    AssistantFilter,
    AssistantHistory,
    AssistantVersion,
    Change,
    Page,
    Snapshot,
    SortField,
)

# Called inside the write transaction with the current active row; returns the next snapshot or
# raises a GraphdockError, which rolls the transaction back. Must be pure and quick.
Revise = Callable[[Assistant], Snapshot]
# If-Match: the write happens only while the active version is one of these (None: always).
IfVersion = frozenset[int] | None


ImportOutcome = Literal["create", "replace", "unchanged", "conflict"]
# The domain's rule for one imported history, given what is stored under its id (or None);
# called inside the import transaction, so the decision and the write see the same rows.
Decide = Callable[[AssistantHistory | None, AssistantHistory], ImportOutcome]


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: tuple[str, ...]
    # A stored placeholder (an untouched default assistant) gave way to the imported history.
    replaced: tuple[str, ...]
    # Already present with the same history: importing twice changes nothing.
    unchanged: tuple[str, ...]


def assistant_not_found(assistant_id: str) -> NotFound:
    return NotFound(f"Assistant {assistant_id} not found")


def version_not_found(assistant_id: str, version: int) -> NotFound:
    return NotFound(f"Version {version} of assistant {assistant_id} not found")


def refuse_active_version(current: Assistant, version: int) -> None:
    """A version may be deleted unless it is the active one; deleting that would orphan the row."""
    if version == current.version:
        raise Conflict(
            f"Version {version} is the active version of assistant {current.assistant_id}; make another "
            "version active first (POST /assistants/{id}/latest), then delete this one"
        )


def require_version(current: Assistant, if_version: IfVersion) -> Assistant:
    """The If-Match check, made by every backend inside its write transaction."""
    if if_version is not None and current.version not in if_version:
        named = " or ".join(str(v) for v in sorted(if_version)) or "the one named"
        raise PreconditionFailed(
            f"Assistant {current.assistant_id} is at version {current.version}, not {named} (If-Match); "
            "fetch it again and retry"
        )
    return current


class Storage(Protocol):
    async def open(self) -> None:
        """Connect and bring the schema up to date."""

    async def close(self) -> None: ...

    async def create_assistant(
        self,
        assistant_id: str,
        snapshot: Snapshot,
        if_exists: Literal["raise", "do_nothing"],
        change: Change = CREATED,
    ) -> Assistant:
        """Insert version 1 and the active row; Conflict if the id exists and if_exists is raise."""

    async def get_assistant(self, assistant_id: str) -> Assistant:
        """NotFound if there is no such assistant."""

    async def revise_assistant(
        self, assistant_id: str, revise: Revise, *, if_version: IfVersion = None, change: Change = UPDATED
    ) -> Assistant:
        """Append version max+1 built by `revise` and make it active, atomically."""

    async def set_active_version(
        self, assistant_id: str, version: int, *, if_version: IfVersion = None
    ) -> Assistant:
        """Copy that version's whole snapshot to the active row; NotFound for either id."""

    async def delete_assistant(self, assistant_id: str, *, if_version: IfVersion = None) -> None:
        """Remove the assistant and every version; NotFound if absent."""

    async def get_version(self, assistant_id: str, version: int) -> AssistantVersion:
        """NotFound for an unknown assistant or version."""

    async def delete_version(self, assistant_id: str, version: int, *, if_version: IfVersion = None) -> None:
        """Remove one version that is not the active one (Conflict); its number is never reused."""

    async def list_versions(
        self, assistant_id: str, metadata: dict[str, object], page: Page
    ) -> list[AssistantVersion]:
        """Newest first; NotFound if the assistant does not exist, [] for an empty page."""

    async def search_assistants(
        self, where: AssistantFilter, page: Page, sort_by: SortField, descending: bool
    ) -> tuple[list[Assistant], bool]:
        """One page of active rows, and whether more rows follow it."""

    async def count_assistants(self, where: AssistantFilter) -> int: ...

    async def export_assistants(
        self, assistant_ids: Sequence[str] | None, page: Page
    ) -> tuple[list[AssistantHistory], bool]:
        """Whole histories, oldest assistant first (stable pages); unknown ids are skipped."""

    async def import_assistants(
        self, histories: Sequence[AssistantHistory], *, dry_run: bool, decide: Decide
    ) -> ImportReport:
        """All or nothing: Conflict naming every id `decide` calls a conflict."""

"""The storage interface: everything the domain may ask of a database, nothing more.

Each backend (SQLite now, PostgreSQL next) implements it and is held to the same contract suite
(tests/storage). Writes that touch two rows (the active row and a version) happen in one
transaction inside the backend; version numbers are allocated there too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

from graphdock.storage.records import Assistant, AssistantFilter, AssistantVersion, Page, Snapshot, SortField

# Called inside the write transaction with the current active row; returns the next snapshot or
# raises a GraphdockError, which rolls the transaction back. Must be pure and quick.
Revise = Callable[[Assistant], Snapshot]


class Storage(Protocol):
    async def open(self) -> None:
        """Connect and bring the schema up to date."""

    async def close(self) -> None: ...

    async def create_assistant(
        self, assistant_id: str, snapshot: Snapshot, if_exists: Literal["raise", "do_nothing"]
    ) -> Assistant:
        """Insert version 1 and the active row; Conflict if the id exists and if_exists is raise."""

    async def get_assistant(self, assistant_id: str) -> Assistant:
        """NotFound if there is no such assistant."""

    async def revise_assistant(self, assistant_id: str, revise: Revise) -> Assistant:
        """Append version max+1 built by `revise` and make it active, atomically."""

    async def set_active_version(self, assistant_id: str, version: int) -> Assistant:
        """Copy that version's whole snapshot to the active row; NotFound for either id."""

    async def delete_assistant(self, assistant_id: str) -> None:
        """Remove the assistant and every version; NotFound if absent."""

    async def list_versions(
        self, assistant_id: str, metadata: dict[str, object], page: Page
    ) -> list[AssistantVersion]:
        """Newest first; NotFound if the assistant does not exist, [] for an empty page."""

    async def search_assistants(
        self, where: AssistantFilter, page: Page, sort_by: SortField, descending: bool
    ) -> tuple[list[Assistant], bool]:
        """One page of active rows, and whether more rows follow it."""

    async def count_assistants(self, where: AssistantFilter) -> int: ...

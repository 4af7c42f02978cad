"""The rules of assistants and their versions: what create, update, rollback and search mean.

An assistant is a graph plus a configuration. Every update appends a version and makes it active;
`set_latest` makes an older (or newer) version active again by restoring its *whole* snapshot.
Storage makes each of these one transaction; this module decides what the new snapshot is.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from graphdock.domain.defaults import default_assistant_id, default_snapshot
from graphdock.domain.diff import diff_snapshots
from graphdock.domain.transfer import decide_import, history_from_wire, history_to_wire
from graphdock.domain.validation import Check, SchemaValidators
from graphdock.errors import ConflictingInput, InvalidRequest, NotFound
from graphdock.runtime.graphs import GraphRegistry
from graphdock.schemas.transfer import ExportedAssistant
from graphdock.storage.assistant_runs import VersionTally
from graphdock.storage.base import (
    Edit,
    IfVersion,
    ImportReport,
    Storage,
    assistant_not_found,
    version_not_found,
)
from graphdock.storage.records import (
    Assistant,
    AssistantFilter,
    AssistantVersion,
    Change,
    Json,
    Page,
    Snapshot,
    SortField,
)
from graphdock.storage.visibility import Visibility, stamped

# How many graphs with write schemas an update of config.configurable is checked against before
# the row is read (see Assistants._accepting_graphs); a schema check is a few microseconds.
_MOST_CHECKED = 4

BOTH_GIVEN = (
    "Cannot specify both configurable and context. Prefer setting context alone. Context was introduced "
    "in LangGraph 0.6.0 and is the long term planned replacement for configurable."
)


@dataclass(frozen=True, slots=True)
class AssistantChanges:
    """A PATCH: None means "keep what the active version has"."""

    graph_id: str | None = None
    config: Json | None = None
    context: Json | None = None
    metadata: Json | None = None
    name: str | None = None
    description: str | None = None


class Assistants:
    def __init__(
        self,
        storage: Storage,
        graphs: GraphRegistry,
        delete_threads: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._storage = storage
        self._graphs = graphs
        # Runs owns thread deletion (it must stop their runs first); injected to keep layers apart.
        self._delete_threads = delete_threads
        self._validators = SchemaValidators()

    async def ensure_defaults(self) -> None:
        """One assistant per graph; an existing one (maybe edited by a user) is left as it is."""
        for graph_id in self._graphs.graph_ids:
            name, description = self._graphs.display_name(graph_id), self._graphs.description(graph_id)
            snapshot = default_snapshot(graph_id, name, description)
            await self._storage.create_assistant(default_assistant_id(graph_id), snapshot, "do_nothing")

    async def create(
        self,
        *,
        graph_id: str,
        assistant_id: str | None,
        config: Json,
        context: Json | None,
        metadata: Json,
        name: str,
        description: str | None,
        if_exists: Literal["raise", "do_nothing"],
        author: str | None = None,
        visible: Visibility | None = None,
    ) -> Assistant:
        self.require_graph(graph_id)
        context_first = bool(context) and not config.get("configurable")
        config, context = _mirror(config, context, current_config=None)
        snapshot = Snapshot(
            graph_id, config, context or {}, stamped(metadata, visible), name or "Untitled", description
        )
        self._validate(snapshot, context_first=context_first)
        return await self._storage.create_assistant(
            assistant_id or str(uuid.uuid4()),
            snapshot,
            if_exists,
            Change("create", author),
            visible=visible,
        )

    async def get(self, assistant_id: str, *, visible: Visibility | None = None) -> Assistant:
        return await self._storage.get_assistant(assistant_id, visible=visible)

    async def update(
        self,
        assistant_id: str,
        changes: AssistantChanges,
        *,
        if_version: IfVersion = None,
        author: str | None = None,
        visible: Visibility | None = None,
    ) -> Assistant:
        if changes.graph_id is not None:
            self.require_graph(changes.graph_id)
        # `{}` counts as "config omitted", as on the official server.
        given_config = changes.config or None
        if given_config is None and changes.context is None and changes.graph_id is None:
            # Nothing to mirror or validate: an Edit, which storage may apply in one statement.
            edit = Edit(
                stamped(changes.metadata, visible) if changes.metadata else {},
                changes.name,
                changes.description,
            )
            return await self._storage.revise_assistant(
                assistant_id, edit, if_version=if_version, change=Change("update", author), visible=visible
            )
        if changes.graph_id is None and given_config is not None and given_config.get("configurable"):
            # The new config and its mirrored context do not depend on the active row: an Edit too.
            config, context = _mirror(given_config, changes.context, current_config=None)
            graphs = self._accepting_graphs(config, context)
            if graphs is not None:
                edit = Edit(
                    stamped(changes.metadata, visible) if changes.metadata else {},
                    changes.name,
                    changes.description,
                    config=config,
                    context=context,
                    graphs=graphs,
                    refuse=lambda snapshot: self._validate(snapshot, context_first=False),
                )
                return await self._storage.revise_assistant(
                    assistant_id,
                    edit,
                    if_version=if_version,
                    change=Change("update", author),
                    visible=visible,
                )

        def revise(current: Assistant) -> Snapshot:
            now = current.snapshot
            config, context = _mirror(given_config or {}, changes.context, current_config=now.config)
            snapshot = Snapshot(
                graph_id=changes.graph_id if changes.graph_id is not None else now.graph_id,
                config=config if (given_config or changes.context) else now.config,
                context=context if context is not None else now.context,
                metadata={**now.metadata, **stamped(changes.metadata, visible)}
                if changes.metadata
                else now.metadata,
                name=changes.name if changes.name is not None else now.name,
                description=changes.description if changes.description is not None else now.description,
            )
            # Only what this request changes is checked: renaming an assistant whose stored values
            # predate a schema change must not fail.
            if given_config or changes.context is not None or changes.graph_id is not None:
                self._validate(snapshot, context_first=changes.context is not None and not given_config)
            return snapshot

        return await self._storage.revise_assistant(
            assistant_id, revise, if_version=if_version, change=Change("update", author), visible=visible
        )

    async def set_latest(
        self,
        assistant_id: str,
        version: int,
        *,
        if_version: IfVersion = None,
        visible: Visibility | None = None,
    ) -> Assistant:
        await self._require_storable(assistant_id, version, visible)
        return await self._storage.set_active_version(
            assistant_id, version, if_version=if_version, visible=visible
        )

    async def delete(
        self,
        assistant_id: str,
        *,
        delete_threads: bool,
        if_version: IfVersion = None,
        visible: Visibility | None = None,
    ) -> None:
        await self._storage.delete_assistant(assistant_id, if_version=if_version, visible=visible)
        if delete_threads and self._delete_threads is not None:
            await self._delete_threads(assistant_id)

    # -- one version at a time -----------------------------------------------------------------

    async def get_version(
        self, assistant_id: str, version: int, *, visible: Visibility | None = None
    ) -> AssistantVersion:
        await self._require_storable(assistant_id, version, visible)
        return await self._storage.get_version(assistant_id, version, visible=visible)

    async def delete_version(
        self,
        assistant_id: str,
        version: int,
        *,
        if_version: IfVersion = None,
        visible: Visibility | None = None,
    ) -> None:
        """Any version but the active one; its number is never given again."""
        await self._require_storable(assistant_id, version, visible)
        await self._storage.delete_version(assistant_id, version, if_version=if_version, visible=visible)

    async def restore(
        self,
        assistant_id: str,
        version: int,
        *,
        if_version: IfVersion = None,
        author: str | None = None,
        visible: Visibility | None = None,
    ) -> Assistant:
        """Append a copy of an old version as the newest one (history stays linear and complete)."""
        old = await self.get_version(assistant_id, version, visible=visible)
        return await self._storage.revise_assistant(
            assistant_id,
            lambda _current: old.snapshot,
            if_version=if_version,
            change=Change("restore", author, restored_from=version),
            visible=visible,
        )

    async def diff(
        self,
        assistant_id: str,
        from_version: int,
        to_version: int | None,
        *,
        visible: Visibility | None = None,
    ) -> dict[str, Any]:
        """From one version to another, or to the active one when `to_version` is None."""
        old = (await self.get_version(assistant_id, from_version, visible=visible)).snapshot
        if to_version is None:
            active = await self.get(assistant_id, visible=visible)
            to_version, new = active.version, active.snapshot
        else:
            new = (await self.get_version(assistant_id, to_version, visible=visible)).snapshot
        return {
            "assistant_id": assistant_id,
            "from_version": from_version,
            "to_version": to_version,
            "changes": diff_snapshots(old, new),
        }

    # -- export and import ----------------------------------------------------------------------

    async def export(
        self, assistant_ids: Sequence[str] | None, page: Page
    ) -> tuple[list[dict[str, Any]], bool]:
        histories, more = await self._storage.export_assistants(assistant_ids, page)
        return [history_to_wire(h) for h in histories], more

    async def import_histories(self, items: Sequence[ExportedAssistant], *, dry_run: bool) -> ImportReport:
        """Keeps version numbers, the active version and the audit trail; idempotent; all or nothing."""
        histories = [history_from_wire(item, self._graphs.graph_ids) for item in items]
        ids = [h.assistant.assistant_id for h in histories]
        if len(set(ids)) != len(ids):
            raise InvalidRequest("assistants: the same assistant_id appears twice")
        return await self._storage.import_assistants(histories, dry_run=dry_run, decide=decide_import)

    async def _require_storable(self, assistant_id: str, version: int, visible: Visibility | None) -> None:
        if not 1 <= version < 2**63:  # no database could hold it: it cannot exist
            await self.get(assistant_id, visible=visible)  # a missing assistant is reported first
            raise version_not_found(assistant_id, version)

    async def versions(
        self, assistant_id: str, metadata: Json, page: Page, *, visible: Visibility | None = None
    ) -> list[AssistantVersion]:
        return await self._storage.list_versions(assistant_id, metadata, page, visible=visible)

    async def tally(self, assistant_id: str, *, visible: Visibility | None = None) -> VersionTally:
        """Version count and next version number (never reused: deleted numbers count)."""
        await self.get(assistant_id, visible=visible)
        found = (await self._storage.version_tallies([assistant_id])).get(assistant_id)
        if found is None:  # deleted in between
            raise assistant_not_found(assistant_id)
        return found

    async def search(
        self, where: AssistantFilter, page: Page, sort_by: SortField, descending: bool
    ) -> tuple[list[Assistant], bool]:
        if where.graph_id is not None:
            self.require_graph(where.graph_id)
        return await self._storage.search_assistants(where, page, sort_by, descending)

    async def search_with_tallies(
        self, where: AssistantFilter, page: Page, sort_by: SortField, descending: bool
    ) -> tuple[list[tuple[Assistant, VersionTally | None]], bool]:
        """search, each assistant with its version count and next version number (None: it was
        deleted in between)."""
        if where.graph_id is not None:
            self.require_graph(where.graph_id)
        return await self._storage.search_assistants_with_tallies(where, page, sort_by, descending)

    async def count(self, where: AssistantFilter) -> int:
        if where.graph_id is not None:
            self.require_graph(where.graph_id)
        return await self._storage.count_assistants(where)

    # -- what the assistant's graph looks like --------------------------------------------------

    def is_graph(self, graph_id: str) -> bool:
        return self._graphs.has(graph_id)

    async def drawable(
        self, assistant_or_graph_id: str, xray: bool | int, *, visible: Visibility | None = None
    ) -> dict[str, Any]:
        """Nodes and edges; a graph id stands for that graph's default assistant."""
        if self._graphs.has(assistant_or_graph_id):
            assistant_or_graph_id = default_assistant_id(assistant_or_graph_id)
        s = await self._served(assistant_or_graph_id, visible)
        return await self._graphs.drawable(s.graph_id, s.config, xray)

    async def schemas(self, assistant_id: str, *, visible: Visibility | None = None) -> dict[str, Any]:
        s = await self._served(assistant_id, visible)
        return {"graph_id": s.graph_id, **await self._graphs.schemas(s.graph_id, s.config)}

    async def subgraphs(
        self, assistant_id: str, namespace: str | None, recurse: bool, *, visible: Visibility | None = None
    ) -> dict[str, Any]:
        s = await self._served(assistant_id, visible)
        return dict(await self._graphs.subgraphs(s.graph_id, s.config, namespace, recurse))

    async def _served(self, assistant_id: str, visible: Visibility | None) -> Snapshot:
        """The active snapshot of an assistant whose graph this server still has."""
        snapshot = (await self.get(assistant_id, visible=visible)).snapshot
        self.require_graph(snapshot.graph_id)
        return snapshot

    def require_graph(self, graph_id: str) -> None:
        if not self._graphs.has(graph_id):
            known = ", ".join(self._graphs.graph_ids)
            raise NotFound(f"Graph '{graph_id}' not found. Known graphs: {known}")

    def _accepting_graphs(self, config: Json, context: Json | None) -> frozenset[str] | None:
        """The graphs whose schemas accept this config and context (the checks _validate makes),
        for an Edit that sets them before the row, so its graph, is read. None past _MOST_CHECKED
        graphs with schemas: checking them all would cost more than the round trip the Edit saves
        (the caller revises instead)."""
        accepting, checked = [], 0
        for graph_id in self._graphs.graph_ids:
            checks = self._checks(graph_id, config, context)
            if any(schema for _, _, schema in checks):
                checked += 1
                if checked > _MOST_CHECKED:
                    return None
                try:
                    self._validators.check(checks)
                except InvalidRequest:
                    continue
            accepting.append(graph_id)
        return frozenset(accepting)

    def _validate(self, snapshot: Snapshot, *, context_first: bool) -> None:
        checks = self._checks(snapshot.graph_id, snapshot.config, snapshot.context)
        # Name the field the client actually sent when both mirror the same bad value.
        self._validators.check(reversed(checks) if context_first else checks)

    def _checks(self, graph_id: str, config: Json, context: Json | None) -> list[Check]:
        """What a write checks: config.configurable and context against the graph's schemas."""
        config_schema, context_schema = self._graphs.write_schemas(graph_id)
        return [
            ("config.configurable", config.get("configurable", {}), config_schema),
            ("context", context, context_schema),
        ]


def _mirror(config: Json, context: Json | None, *, current_config: Json | None) -> tuple[Json, Json | None]:
    """Keep `config.configurable` and `context` equal: setting one sets the other."""
    if config.get("configurable") and context:
        raise ConflictingInput(BOTH_GIVEN)
    if config.get("configurable"):
        return config, config["configurable"]
    if context:
        # A PATCH that sets only context keeps the rest of the current config (tags, limits);
        # the official server replaces the whole config with {"configurable": context} here.
        base = config or current_config or {}
        return {**base, "configurable": context}, context
    return config, context

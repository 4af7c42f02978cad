"""The rules of threads: their rows, and their state as the thread's graph sees its checkpoints.

A thread belongs to a graph once a run has used it (`metadata.graph_id`, as on the official
server); its state, history and state updates are read through that graph, so the same reducers
and channels apply as during a run. A thread no run has touched has empty state.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.errors import InvalidUpdateError
from langgraph.types import StateSnapshot

from graphdock.domain.defaults import default_assistant_id
from graphdock.errors import InvalidRequest, NotApplicable, NotFound
from graphdock.runtime import checkpoints
from graphdock.runtime.checkpoints import Saver
from graphdock.runtime.execution import interrupts_of
from graphdock.runtime.factories import Access, AccessContext
from graphdock.runtime.graphs import AnyPregel, GraphRegistry
from graphdock.runtime.serialize import to_json
from graphdock.storage.base import Storage
from graphdock.storage.records import Json, Page
from graphdock.storage.retention import ThreadTtl
from graphdock.storage.threads import Thread, ThreadFilter, ThreadOutcome, ThreadSortField
from graphdock.storage.visibility import Visibility, stamped


class Threads:
    def __init__(self, storage: Storage, graphs: GraphRegistry, saver: Saver) -> None:
        self._storage = storage
        self._graphs = graphs
        self._saver = saver

    async def create(
        self,
        thread_id: str | None,
        metadata: Json,
        if_exists: Literal["raise", "do_nothing"],
        *,
        visible: Visibility | None = None,
        ttl: ThreadTtl | None = None,
    ) -> Thread:
        return await self._storage.create_thread(
            thread_id or str(uuid.uuid4()), stamped(metadata, visible), if_exists, visible=visible, ttl=ttl
        )

    async def get(self, thread_id: str, *, visible: Visibility | None = None) -> Thread:
        return await self._storage.get_thread(thread_id, visible=visible)

    async def update(
        self,
        thread_id: str,
        metadata: Json,
        *,
        visible: Visibility | None = None,
        ttl: ThreadTtl | None = None,
    ) -> Thread:
        # As on create, the writer's filter equalities are stamped; what cannot be stamped
        # ($contains, $or) is checked by storage, which refuses a row its writer could not see.
        return await self._storage.update_thread(
            thread_id, stamped(metadata, visible), visible=visible, ttl=ttl
        )

    async def delete(self, thread_id: str, *, visible: Visibility | None = None) -> None:
        """The row (and its runs) first, so a failure never leaves a row without its checkpoints."""
        await self._storage.delete_thread(thread_id, visible=visible)
        await self._saver.adelete_thread(thread_id)

    async def search(
        self, where: ThreadFilter, page: Page, sort_by: ThreadSortField, descending: bool
    ) -> tuple[list[Thread], bool]:
        return await self._storage.search_threads(where, page, sort_by, descending)

    async def count(self, where: ThreadFilter) -> int:
        return await self._storage.count_threads(where)

    async def copy(
        self, thread_id: str, *, visible: Visibility | None = None, created: Visibility | None = None
    ) -> Thread:
        """`visible`: what the caller may read (the source); `created`: their create filter."""
        source = await self.get(thread_id, visible=visible)
        copy = await self._storage.create_thread(
            str(uuid.uuid4()), stamped(source.metadata, created), "raise"
        )
        await checkpoints.copy_thread(self._saver, thread_id, copy.thread_id)
        if source.values is not None or source.interrupts:
            status = "idle" if source.status == "busy" else source.status
            copy = await self._storage.set_thread_state(
                copy.thread_id, ThreadOutcome(status, source.values, source.interrupts)
            )
        return copy

    async def prune(
        self,
        thread_ids: Sequence[str],
        strategy: Literal["delete", "keep_latest"],
        *,
        visible: Visibility | None = None,
    ) -> int:
        """Returns how many threads were pruned; unknown ids (and ones not `visible`) are skipped."""
        where = ThreadFilter(ids=tuple(thread_ids), visible=visible)
        known = [
            t.thread_id
            for t in (
                await self._storage.search_threads(
                    where, Page(limit=len(thread_ids) or 1), "created_at", False
                )
            )[0]
        ]
        if strategy == "delete":
            for thread_id in known:
                await self.delete(thread_id)
        else:
            await checkpoints.prune_threads(self._saver, known, "keep_latest")
        return len(known)

    # -- state ------------------------------------------------------------------------------------

    async def state(
        self,
        thread_id: str,
        checkpoint: Json | None = None,
        *,
        subgraphs: bool = False,
        visible: Visibility | None = None,
    ) -> Json:
        thread = await self.get(thread_id, visible=visible)
        async with self._graph(thread, "threads.read") as graph:
            if graph is None:
                return _empty_state(thread_id)
            snapshot = await graph.aget_state(_config(thread_id, checkpoint), subgraphs=subgraphs)
        if checkpoint and checkpoint.get("checkpoint_id") and not snapshot.metadata:
            raise NotFound(f"Checkpoint {checkpoint['checkpoint_id']} not found on thread {thread_id}")
        return state_to_wire(snapshot, thread_id)

    async def update_state(
        self,
        thread_id: str,
        values: Any,
        *,
        as_node: str | None,
        checkpoint: Json | None,
        visible: Visibility | None = None,
    ) -> Json:
        thread = await self.get(thread_id, visible=visible)
        async with self._graph(thread, "threads.update") as graph:
            if graph is None:
                raise NotApplicable(
                    f"Thread {thread_id} has no graph yet: run an assistant on it before updating its state"
                )
            try:
                saved = await graph.aupdate_state(_config(thread_id, checkpoint), values, as_node=as_node)
            except (InvalidUpdateError, ValueError, KeyError, TypeError) as exc:
                # LangGraph's own refusals: an unknown node, an ambiguous update, a wrong shape.
                raise InvalidRequest(f"Cannot update the state: {exc}") from exc
        await self.refresh(thread_id)
        return {"checkpoint": to_json(saved["configurable"])}

    async def refresh(self, thread_id: str) -> None:
        """Copy the thread's latest checkpoint into its row (after a run was stopped or forgotten)."""
        try:
            thread = await self.get(thread_id)
        except NotFound:
            return  # deleted meanwhile
        async with self._graph(thread, "threads.read") as graph:
            if graph is None:
                return
            snapshot = await graph.aget_state(_config(thread_id, None))
        await self._storage.set_thread_state(thread_id, outcome_of(snapshot))

    async def history(
        self,
        thread_id: str,
        *,
        limit: int,
        before: Json | None,
        metadata: Json | None,
        checkpoint: Json | None,
        visible: Visibility | None = None,
    ) -> list[Json]:
        for key in metadata or {}:
            if not _CHECKPOINT_FILTER_KEY.fullmatch(key):
                raise InvalidRequest(
                    f"metadata: filter key {key!r} may contain only letters, digits, '_', '-' and '.' "
                    "between them"
                )
        thread = await self.get(thread_id, visible=visible)
        before_config = RunnableConfig(configurable={"thread_id": thread_id, **before}) if before else None
        async with self._graph(thread, "threads.read") as graph:
            if graph is None:
                return []
            return [
                state_to_wire(s, thread_id)
                async for s in graph.aget_state_history(
                    _config(thread_id, checkpoint), filter=metadata or None, before=before_config, limit=limit
                )
            ]

    @asynccontextmanager
    async def _graph(self, thread: Thread, why: AccessContext) -> AsyncIterator[AnyPregel | None]:
        """The thread's graph with the checkpointer, for one use; None for a thread no run has used."""
        graph_id = thread.metadata.get("graph_id")
        if not isinstance(graph_id, str) or not self._graphs.has(graph_id):
            yield None
            return
        assistant_id = thread.metadata.get("assistant_id")
        config: Json = {}
        if isinstance(assistant_id, str) and assistant_id != default_assistant_id(graph_id):
            # If the assistant went away, the graph still reads the thread's checkpoints.
            with contextlib.suppress(NotFound):
                config = (await self._storage.get_assistant(assistant_id)).snapshot.config
        async with self._graphs.using(graph_id, config, Access(why)) as graph:
            yield graph.copy(update={"checkpointer": self._saver})


# The checkpointers write a history filter's keys into their SQL, and SQLite's refuses any other
# character with a ValueError; refused up front on every backend, so a filter is valid on both.
# A dot separates path segments there, so an empty segment (".a", "a.", "a..b") is a malformed
# JSON path (an error from SQLite itself).
_CHECKPOINT_FILTER_KEY = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


def outcome_of(snapshot: StateSnapshot) -> ThreadOutcome:
    # No checkpoint left (a rolled-back first run): the thread has no values, as when it was new.
    values = to_json(snapshot.values) if snapshot.metadata else None
    return ThreadOutcome("interrupted" if snapshot.next else "idle", values, interrupts_of(snapshot))


def state_to_wire(snapshot: StateSnapshot, thread_id: str) -> Json:
    """A StateSnapshot as the SDK's ThreadState."""
    return {
        "values": to_json(snapshot.values),
        "next": list(snapshot.next),
        "tasks": [
            {
                "id": t.id,
                "name": t.name,
                "path": to_json(t.path),
                "error": repr(t.error) if t.error else None,
                "interrupts": to_json(t.interrupts),
                "checkpoint": _checkpoint(t.state) if isinstance(t.state, dict) else None,
                "state": state_to_wire(t.state, thread_id) if isinstance(t.state, StateSnapshot) else None,
                "result": to_json(t.result),
            }
            for t in snapshot.tasks
        ],
        "metadata": to_json(snapshot.metadata or {}),
        "created_at": snapshot.created_at,
        "checkpoint": _checkpoint(snapshot.config),
        "parent_checkpoint": _checkpoint(snapshot.parent_config) if snapshot.parent_config else None,
        "interrupts": to_json(list(snapshot.interrupts)),
        # Deprecated spelling some clients still read.
        "checkpoint_id": snapshot.config.get("configurable", {}).get("checkpoint_id"),
        "parent_checkpoint_id": (snapshot.parent_config or {}).get("configurable", {}).get("checkpoint_id"),
    }


def _checkpoint(config: Any) -> Json:
    c = config.get("configurable", {})
    return {
        "thread_id": c.get("thread_id"),
        "checkpoint_ns": c.get("checkpoint_ns", ""),
        "checkpoint_id": c.get("checkpoint_id"),
        "checkpoint_map": c.get("checkpoint_map"),
    }


def _config(thread_id: str, checkpoint: Json | None) -> RunnableConfig:
    configurable: Json = {"thread_id": thread_id, "checkpoint_ns": ""}
    for key in ("checkpoint_ns", "checkpoint_id", "checkpoint_map"):
        if checkpoint and checkpoint.get(key) is not None:
            configurable[key] = checkpoint[key]
    return RunnableConfig(configurable=configurable)


def _empty_state(thread_id: str) -> Json:
    return {
        "values": {},
        "next": [],
        "tasks": [],
        "metadata": {},
        "created_at": None,
        "checkpoint": {
            "thread_id": thread_id,
            "checkpoint_ns": "",
            "checkpoint_id": None,
            "checkpoint_map": None,
        },
        "parent_checkpoint": None,
        "interrupts": [],
        "checkpoint_id": None,
        "parent_checkpoint_id": None,
    }

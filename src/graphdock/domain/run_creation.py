"""Creating a run: what a client asked for, the checks it must pass, and its row queued with its stream.

A run is accepted only if it could start: its assistant (and pinned version) exist and its merged
context satisfies the graph's schema, else 404/422 at creation. The multitask rule (run_rules.py)
is applied by storage in the transaction that queues the run; the runs it displaces are then
stopped. When this replica's worker has a free slot and the run is first in line, the same
transaction claims it and it starts executing at once; otherwise it waits in the queue and the
worker (here, and with replicas everywhere) is woken.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import structlog

from graphdock.domain.assistants import BOTH_GIVEN
from graphdock.domain.run_cancellation import Cancellation
from graphdock.domain.run_config import parse_assistant_ref, run_context
from graphdock.domain.run_rules import admission
from graphdock.domain.run_streams import RunStreams
from graphdock.domain.validation import SchemaValidators
from graphdock.domain.worker import Worker
from graphdock.errors import ConflictingInput, NotFound
from graphdock.runtime.graphs import GraphRegistry
from graphdock.runtime.streams import Followable
from graphdock.storage.base import Storage, version_not_found
from graphdock.storage.records import Json, Snapshot, utc_now
from graphdock.storage.threads import MultitaskStrategy, NewThread, Run
from graphdock.storage.visibility import Visibility, stamped

log = structlog.get_logger("graphdock.runs")


@dataclass(frozen=True, slots=True)
class RunRequest:
    """A run as the client asked for it (the SDKs' RunCreate), already type-checked."""

    assistant_id: str
    input: Any = None
    command: Json | None = None
    config: Json = field(default_factory=dict)
    context: Json | None = None
    metadata: Json = field(default_factory=dict)
    stream_mode: tuple[str, ...] = ("values",)
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    interrupt_before: Any = None
    interrupt_after: Any = None
    multitask_strategy: MultitaskStrategy = "enqueue"
    if_not_exists: Literal["create", "reject"] = "reject"
    on_completion: Literal["delete", "keep"] = "delete"
    after_seconds: float | None = None
    checkpoint: Json | None = None
    durability: str | None = None
    # Request headers langgraph.json's http.configurable_headers lets through; they reach the
    # run's configurable over its own (as on the platform), under the run's identity keys.
    headers: Json = field(default_factory=dict)
    # POSTed the finished run (domain/webhooks.py); checked against the URL policy before this.
    webhook: str | None = None


@dataclass(frozen=True, slots=True)
class Started:
    """A run just queued, and its stream, open from its first event."""

    run: Run
    stream: Followable


class Creation:
    def __init__(
        self,
        storage: Storage,
        graphs: GraphRegistry,
        streams: RunStreams,
        cancellation: Cancellation,
        worker: Worker,
        wake: Callable[[], Awaitable[None]],
    ) -> None:
        self._storage = storage
        self._graphs = graphs
        self._streams = streams
        self._cancellation = cancellation
        self._worker = worker
        self._wake = wake
        self._validators = SchemaValidators()

    async def create(
        self,
        thread_id: str | None,
        request: RunRequest,
        *,
        visible: Visibility | None = None,
        assistant_visible: Visibility | None = None,
    ) -> Started:
        """Queue a run (stateless when thread_id is None); returns it with its stream, open from event 1.

        `visible`: the threads the caller may run on (a new thread is stamped with what it needs
        for them to see it); `assistant_visible`: the assistants they may read, which alone they
        may run.
        """
        ref = parse_assistant_ref(request.assistant_id, self._graphs.graph_ids)
        version, snapshot = await assistant_snapshot(
            self._storage, ref.assistant_id, ref.version, assistant_visible
        )
        self._check(snapshot, request)
        stateless = thread_id is None
        thread_id = thread_id or str(uuid.uuid4())
        now = utc_now()
        identity = {"graph_id": snapshot.graph_id, "assistant_id": ref.assistant_id}
        run = Run(
            run_id=str(uuid.uuid4()),
            thread_id=thread_id,
            assistant_id=ref.assistant_id,
            created_at=now,
            updated_at=now,
            status="pending",
            metadata={**request.metadata, **identity},
            multitask_strategy=request.multitask_strategy,
            kwargs=_kwargs(request, stateless),
            pinned_version=ref.version,
            temporary=stateless and request.on_completion == "delete",
            not_before=_after(request.after_seconds),
        )
        new_thread = (
            NewThread(stamped(identity, visible), fresh=stateless)
            if stateless or request.if_not_exists == "create"
            else None
        )
        # Opened before the run exists, so that no event can slip past its creator.
        stream = self._streams.for_creator(run.run_id)
        # With a free slot here, the transaction that queues the run also claims it when the
        # worker's next claim would (storage applies the claim's rule), and it starts at once:
        # no claim of its own, no wake-up. The slot is held across the write, so that the
        # worker's own claims and other creators cannot take it meanwhile.
        lease = self._worker.reserve()
        try:
            run, displaced = await self._storage.create_run(
                run,
                new_thread=new_thread,
                admit=admission(request.multitask_strategy),
                visible=visible,
                start=lease,
            )
        except BaseException:
            if lease is not None:
                self._worker.release()
            self._streams.abandon(run.run_id)
            raise
        if lease is not None:
            if run.status == "running":
                # The claim recorded the version it executes; when it is the one read above
                # (versions never change), the executor need not read it again.
                self._worker.adopt(run, snapshot if run.assistant_version == version else None)
            else:
                self._worker.release()
        if not stateless:  # a stateless run's thread is new: no thread stream can be following it
            await self._streams.announce(run, stream)
        await self._cancellation.displace(displaced, request.multitask_strategy)
        if run.status == "pending":
            await self._wake()
        log.debug("run.created", run_id=run.run_id, thread_id=thread_id, assistant_id=ref.assistant_id)
        return Started(run, stream)

    async def check(self, request: RunRequest, *, assistant_visible: Visibility | None = None) -> None:
        """Whether the run could be created now (404/422/400 as create answers), creating nothing:
        a cron is accepted only if the runs it will make could start."""
        ref = parse_assistant_ref(request.assistant_id, self._graphs.graph_ids)
        _, snapshot = await assistant_snapshot(
            self._storage, ref.assistant_id, ref.version, assistant_visible
        )
        self._check(snapshot, request)

    def _check(self, snapshot: Snapshot, request: RunRequest) -> None:
        if request.config.get("configurable") and request.context:
            raise ConflictingInput(BOTH_GIVEN)
        if not self._graphs.has(snapshot.graph_id):
            raise NotFound(f"Graph '{snapshot.graph_id}' of this assistant is not served here")
        config_schema, context_schema = self._graphs.write_schemas(snapshot.graph_id)
        context = run_context(snapshot, request.config, request.context, context_schema)
        # configurable may omit what the context supplies. The merged context is what the graph
        # gets: refused here only where LangGraph would refuse it, so a wrong type or enum value
        # always, a missing field only when LangGraph must build the context's class from it (a
        # TypedDict context is passed as given, and the template graphs read it with .get()).
        self._validators.check(
            [("config.configurable", request.config.get("configurable") or {}, config_schema)]
        )
        self._validators.check(
            [("context", context if context is not None else {}, context_schema)],
            complete=self._graphs.builds_context(snapshot.graph_id),
        )


async def assistant_snapshot(
    storage: Storage, assistant_id: str, version: int | None, visible: Visibility | None
) -> tuple[int, Snapshot]:
    """The assistant's active version and snapshot, or `version`'s; NotFound naming which is missing."""
    if version is None:
        active = await storage.get_assistant(assistant_id, visible=visible)
        return active.version, active.snapshot
    try:
        return version, (await storage.get_version(assistant_id, version, visible=visible)).snapshot
    except NotFound:
        await storage.get_assistant(assistant_id, visible=visible)  # say which is missing
        raise version_not_found(assistant_id, version) from None


def _kwargs(request: RunRequest, stateless: bool) -> Json:
    return {
        "input": request.input,
        "command": request.command,
        "config": _with_headers(request.config, request.headers),
        "context": request.context,
        "stream_mode": list(request.stream_mode),
        "stream_subgraphs": request.stream_subgraphs,
        "stream_resumable": request.stream_resumable,
        "interrupt_before": request.interrupt_before,
        "interrupt_after": request.interrupt_after,
        "checkpoint": request.checkpoint,
        "durability": request.durability,
        "webhook": request.webhook,
        # As in the official server's run kwargs (the row's `temporary` column is what graphdock reads).
        "temporary": stateless and request.on_completion == "delete",
    }


def _after(seconds: float | None) -> str | None:
    if not seconds:
        return None
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="microseconds")


def _with_headers(config: Json, headers: Json) -> Json:
    if not headers:
        return config
    return {**config, "configurable": {**(config.get("configurable") or {}), **headers}}

"""The rules of runs: creating one (multitask, validation, pinning), executing it, waiting and cancelling.

A run is accepted only if it could start: its assistant (and pinned version) exist and its merged
context satisfies the graph's schema, else 404/422 at creation. It resolves the assistant's active
version again when it starts, so a rollback made while it waited in the queue reaches it, and it
records that version on the run row and in every checkpoint it writes.

With several replicas (Redis configured), any replica may execute a run: its events reach
clients on every replica through the relay, and a cancel reaches its executor as a signal. A run
retried after its replica died resumes from the last checkpoint its earlier attempt wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal, cast, get_args

import structlog
from langgraph.types import Command, Send
from redis.asyncio import Redis

from graphdock.domain.assistants import BOTH_GIVEN
from graphdock.domain.run_config import RunIdentity, parse_assistant_ref, run_config, run_context
from graphdock.domain.threads import Threads
from graphdock.domain.validation import SchemaValidators
from graphdock.domain.worker import Worker
from graphdock.errors import Conflict, ConflictingInput, GraphdockError, NotFound
from graphdock.runtime import checkpoints
from graphdock.runtime.checkpoints import Saver
from graphdock.runtime.execution import RunPlan, RunResult, execute
from graphdock.runtime.graphs import GraphRegistry
from graphdock.runtime.relay import Relay
from graphdock.runtime.serialize import dumps
from graphdock.runtime.signals import Signals
from graphdock.runtime.streams import Event, Followable, RunStream, StreamHub
from graphdock.storage.base import Storage, version_not_found
from graphdock.storage.records import Json, Page, Snapshot, utc_now
from graphdock.storage.threads import (
    ACTIVE_RUN,
    ExpiredLeases,
    MultitaskStrategy,
    NewThread,
    Run,
    RunStatus,
    ThreadFilter,
    ThreadOutcome,
)
from graphdock.storage.visibility import Visibility, stamped

# Each run's lifecycle logs at debug: at hundreds of runs a second, info lines cost ~15% of the CPU.
log = structlog.get_logger("graphdock.runs")

# What a client may ask of a run it cancels (the worker also stops runs for a shutdown).
CancelAction = Literal["interrupt", "rollback"]


@dataclass(frozen=True, slots=True)
class Started:
    """A run just queued, and its stream, open from its first event."""

    run: Run
    stream: Followable


@dataclass(frozen=True, slots=True)
class Scaling:
    """How runs are shared between replicas: leases always, Redis when there are several."""

    concurrency: int
    lease_seconds: float
    max_attempts: int
    redis: Redis | None = None
    # Namespaces this deployment's keys and channels in a Redis others may share.
    redis_prefix: str = "graphdock:"


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
    # run's configurable over its own (as on the platform), under the assistant's identity keys.
    headers: Json = field(default_factory=dict)


class Runs:
    def __init__(
        self,
        storage: Storage,
        graphs: GraphRegistry,
        threads: Threads,
        saver: Saver,
        scaling: Scaling,
    ) -> None:
        self._storage = storage
        self._graphs = graphs
        self._threads = threads
        self._saver = saver
        self._validators = SchemaValidators()
        self._lease_seconds = scaling.lease_seconds
        self.hub = StreamHub()
        self.worker = Worker(
            storage,
            self._execute,
            concurrency=scaling.concurrency,
            lease_seconds=scaling.lease_seconds,
            max_attempts=scaling.max_attempts,
            on_expired=self._expired,
        )
        self._relay: Relay | None = None
        self._signals: Signals | None = None
        if scaling.redis is not None:
            self._relay = Relay(scaling.redis, scaling.redis_prefix)
            self._signals = Signals(
                scaling.redis, scaling.redis_prefix, on_wake=self.worker.wake, on_cancel=self._cancel_signal
            )

    async def start(self) -> None:
        if self._relay is not None and self._signals is not None:
            self._relay.start()
            await self._signals.start()
        self.worker.start()

    async def stop(self, grace_seconds: float) -> None:
        await self.worker.shutdown(grace_seconds)
        if self._relay is not None and self._signals is not None:
            await self._signals.close()
            await self._relay.close()
        self.hub.shutdown()

    # -- creating ---------------------------------------------------------------------------------

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
        snapshot = await self._snapshot(ref.assistant_id, ref.version, assistant_visible)
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
            NewThread(stamped(identity, visible)) if stateless or request.if_not_exists == "create" else None
        )
        # Opened before the run exists, so that no event can slip past its creator.
        stream: Followable = (
            self._relay.follower(run.run_id, self._still_active(run.run_id))
            if self._relay is not None
            else self.hub.open(run.run_id)
        )
        try:
            run, displaced = await self._storage.create_run(
                run, new_thread=new_thread, strategy=request.multitask_strategy, visible=visible
            )
        except BaseException:
            self.hub.close(run.run_id, keep=False)
            raise
        await self._displace(displaced, request.multitask_strategy)
        self.worker.wake()
        if self._signals is not None:
            await self._signals.wake()  # any replica with a free slot may take it
        log.debug("run.created", run_id=run.run_id, thread_id=thread_id, assistant_id=ref.assistant_id)
        return Started(run, stream)

    async def _snapshot(self, assistant_id: str, version: int | None, visible: Visibility | None) -> Snapshot:
        if version is None:
            return (await self._storage.get_assistant(assistant_id, visible=visible)).snapshot
        try:
            return (await self._storage.get_version(assistant_id, version, visible=visible)).snapshot
        except NotFound:
            await self._storage.get_assistant(assistant_id, visible=visible)  # say which is missing
            raise version_not_found(assistant_id, version) from None

    def _check(self, snapshot: Snapshot, request: RunRequest) -> None:
        if request.config.get("configurable") and request.context:
            raise ConflictingInput(BOTH_GIVEN)
        if not self._graphs.has(snapshot.graph_id):
            raise NotFound(f"Graph '{snapshot.graph_id}' of this assistant is not served here")
        config_schema, context_schema = self._graphs.write_schemas(snapshot.graph_id)
        context = run_context(snapshot, request.config, request.context, context_schema)
        # configurable may omit what the context supplies; the merged context is what the graph
        # gets, so it must be complete.
        self._validators.check(
            [("config.configurable", request.config.get("configurable") or {}, config_schema)]
        )
        self._validators.check(
            [("context", context if context is not None else {}, context_schema)], complete=True
        )

    async def _displace(self, displaced: Sequence[Run], strategy: MultitaskStrategy) -> None:
        """Interrupt or roll back the runs a new run replaces (only those strategies displace)."""
        # Storage has already interrupted the pending ones, in the transaction that queued the new run.
        action: CancelAction = "rollback" if strategy == "rollback" else "interrupt"
        await self._stop(displaced, action, stopped={r.run_id for r in displaced})

    # -- reading ----------------------------------------------------------------------------------

    # `visible` below: the threads the caller may see; a run is seen through its thread.

    async def get(self, thread_id: str, run_id: str, *, visible: Visibility | None = None) -> Run:
        if visible is not None:
            await self._storage.get_thread(thread_id, visible=visible)
        return await self._storage.get_run(thread_id, run_id)

    async def list(
        self, thread_id: str, status: RunStatus | None, page: Page, *, visible: Visibility | None = None
    ) -> list[Run]:
        if visible is not None:
            await self._storage.get_thread(thread_id, visible=visible)
        return await self._storage.list_runs(thread_id, status, page)

    async def delete(self, thread_id: str, run_id: str, *, visible: Visibility | None = None) -> None:
        run = await self.get(thread_id, run_id, visible=visible)
        if run.status in ACTIVE_RUN:
            raise Conflict(f"Run {run_id} is {run.status}; cancel it before deleting it")
        await self._storage.delete_run(thread_id, run_id)

    async def result(self, run: Run, stream: Followable | None = None) -> Json:
        """The run's outcome as runs.wait/join return it: the thread's values, or `__error__`."""
        stream = stream or await self._live_stream(run)
        if stream is not None:
            outcome = await stream.outcome()
            if outcome is not None:
                return outcome
            try:
                run = await self._storage.get_run(None, run.run_id)
            except NotFound:  # rolled back: it left nothing behind
                return {}
        if run.error is not None:
            return {"__error__": run.error}
        try:
            thread = await self._storage.get_thread(run.thread_id)
        except NotFound:
            return {}
        return _result_body(thread.values, thread.interrupts)

    async def join_stream(self, run: Run, last_event_id: int | None) -> AsyncIterator[Event]:
        """A run's events from after `last_event_id` (None: from now on), until it ends."""
        stream = await self._live_stream(run)
        if stream is None:
            return
        async for event in stream.follow(last_event_id):
            yield event

    async def _live_stream(self, run: Run) -> Followable | None:
        """The stream of a run that has not ended (kept ones too); None once it is gone."""
        stream = self.hub.find(run.run_id)
        if stream is not None:
            return stream
        if self._relay is not None:
            kept = run.kwargs.get("stream_resumable") and await self._relay.exists(run.run_id)
            if run.status in ACTIVE_RUN or kept:
                return self._relay.follower(run.run_id, self._still_active(run.run_id))
            return None
        if run.status not in ACTIVE_RUN:
            return None
        # Pending (not claimed yet): open the stream its executor will publish into, then make
        # sure it did not end in between, or nobody would ever close what was just opened.
        stream = self.hub.open(run.run_id)
        if not await self._is_active(run.run_id) and stream.result is None and not stream.events:
            self.hub.close(run.run_id, keep=False)
            return None
        return stream

    # -- cancelling -------------------------------------------------------------------------------

    async def cancel(self, runs: Sequence[Run], action: CancelAction) -> None:
        pending = [r.run_id for r in runs if not self.worker.is_running(r.run_id)]
        stopped = {r.run_id for r in await self._storage.interrupt_pending(pending)}
        await self._stop(runs, action, stopped=stopped)
        self.worker.wake()

    async def _stop(self, runs: Sequence[Run], action: CancelAction, *, stopped: set[str]) -> None:
        """Cancel those executing here; of the rest, those storage has `stopped` (never started)
        lose their stream, and with rollback everything else: nothing ran, so nothing is kept."""
        for run in runs:
            if self.worker.cancel(run.run_id, action):
                continue
            if run.run_id in stopped:
                self._end_stream(run.run_id, None, keep=False)
                if action == "rollback":
                    await self._rollback(run)
            elif self._signals is not None:
                # Executing on another replica, or being claimed (here or there): its executor acts.
                await self._signals.cancel(run.run_id, action)
            elif await self._claimed_meanwhile(run.run_id) and not self.worker.cancel(run.run_id, action):
                self.worker.cancel_when_claimed(run.run_id, action)

    def _cancel_signal(self, run_id: str, action: str) -> None:
        if action in get_args(CancelAction):
            self.worker.cancel_when_claimed(run_id, cast(CancelAction, action))

    async def cancel_where(
        self,
        *,
        thread_id: str | None,
        run_ids: Sequence[str] | None,
        status: Literal["pending", "running", "all"] | None,
        action: CancelAction,
        visible: Visibility | None = None,
    ) -> None:
        runs = await self._storage.find_active_runs(thread_id=thread_id, run_ids=run_ids)
        if status in ("pending", "running"):
            runs = [r for r in runs if r.status == status]
        if visible is not None:
            # Only runs on threads the caller may see; the others are left alone, unmentioned.
            shown = await self._storage.search_threads(
                ThreadFilter(ids=tuple({r.thread_id for r in runs}), visible=visible),
                Page(limit=max(len(runs), 1)),
                "created_at",
                False,
            )
            seen = {t.thread_id for t in shown[0]}
            runs = [r for r in runs if r.thread_id in seen]
        await self.cancel(runs, action)

    async def delete_thread(self, thread_id: str, *, visible: Visibility | None = None) -> None:
        """Stop the thread's runs, then delete it with its runs and checkpoints."""
        if visible is not None:
            await self._threads.get(thread_id, visible=visible)
        await self.cancel_where(thread_id=thread_id, run_ids=None, status="all", action="interrupt")
        for run in await self._storage.find_active_runs(thread_id=thread_id):
            await self._until_stopped(run)
        await self._threads.delete(thread_id)

    async def _until_stopped(self, run: Run) -> None:
        """Wait for a cancelled run to stop, here or on another replica. A replica that died with
        it never answers: after a lease's length, the thread goes anyway (its writes are fenced)."""
        if self.worker.is_running(run.run_id) or self._relay is None:
            await self.worker.finished(run.run_id)
            return
        stream = await self._live_stream(run)
        if stream is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stream.outcome(), timeout=self._lease_seconds)

    async def delete_assistant_threads(self, assistant_id: str) -> None:
        for thread_id in await self._storage.assistant_thread_ids(assistant_id):
            with contextlib.suppress(NotFound):  # deleted meanwhile
                await self.delete_thread(thread_id)

    async def cancel_and_wait(self, run: Run, action: CancelAction) -> Json:
        """Cancel one run, wait until it has stopped, and return its result (as `join` would)."""
        stream = await self._live_stream(run)  # taken first: it carries the result once the run stops
        await self.cancel([run], action)
        await self.worker.finished(run.run_id)
        return await self.result(run, stream)

    async def _status(self, run_id: str) -> RunStatus | None:
        """The run's status by its row; None once it is gone."""
        try:
            return (await self._storage.get_run(None, run_id)).status
        except NotFound:
            return None

    async def _is_active(self, run_id: str) -> bool:
        return await self._status(run_id) in ACTIVE_RUN

    def _still_active(self, run_id: str) -> Callable[[], Awaitable[bool]]:
        """What a relayed stream asks when nothing arrives for a while."""
        return partial(self._is_active, run_id)

    def _end_stream(self, run_id: str, result: Json | None, *, keep: bool, relay: bool = True) -> None:
        """End a run's stream here and, with several replicas, for followers everywhere."""
        self.hub.close(run_id, keep=keep)
        if relay and self._relay is not None:
            self._relay.end(run_id, result, keep=keep)

    async def _expired(self, expired: ExpiredLeases) -> None:
        """Runs whose replica died: retried ones wait in the queue again, failed ones end here."""
        for run in expired.failed:
            self._end_stream(run.run_id, {"__error__": run.error}, keep=True)
        if expired.retried and self._signals is not None:
            await self._signals.wake()

    async def _claimed_meanwhile(self, run_id: str) -> bool:
        """Neither pending nor executing here when we looked, yet running by its row: the worker
        was claiming it (the window is the claim's own commit). Its task exists now or soon."""
        return await self._status(run_id) == "running"

    async def _rollback(self, run: Run) -> None:
        """Forget a run: its row and every checkpoint it wrote, as if it had never been made."""
        with contextlib.suppress(NotFound):  # already gone: deleted with its thread, say
            await self._storage.delete_run(None, run.run_id)
        await checkpoints.forget_run(self._saver, run.thread_id, run.run_id)
        await self._threads.refresh(run.thread_id)

    # -- executing --------------------------------------------------------------------------------

    async def _execute(self, run: Run) -> None:
        """One run, start to end; called by the worker once it has claimed the run."""
        stream = self.hub.open(run.run_id)
        resumable = bool(run.kwargs.get("stream_resumable"))
        relayed = True  # False once another replica has taken the run over: its stream goes on
        try:
            try:
                if self._relay is not None:
                    await self._relay.mirror(run.run_id, stream)
                result = await self._run_graph(run, stream)
            except asyncio.CancelledError:
                relayed = await self._cancelled(run, stream)
                return
            except GraphdockError as exc:  # the assistant or its version vanished while it waited
                result = RunResult("error", error={"error": type(exc).__name__, "message": exc.detail})
                stream.publish("error", dumps(result.error))
            # The graph is done: a cancel arriving now is too late, and must not cut the
            # bookkeeping short.
            self.worker.settle(run.run_id)
            await self._finish(run, stream, result)
        except Exception:
            log.exception("run.crashed", run_id=run.run_id)
            error = {"error": "InternalError", "message": "graphdock failed while finishing this run"}
            stream.result = {"__error__": error}
            try:
                await self._storage.finish_run(
                    run.run_id, "error", error=error, outcome=None, attempt=run.attempt
                )
            except GraphdockError:
                log.exception("run.unrecorded", run_id=run.run_id)
        finally:
            self._end_stream(run.run_id, stream.result, keep=resumable, relay=relayed)

    async def _run_graph(self, run: Run, stream: RunStream) -> RunResult:
        assistant = await self._storage.get_assistant(run.assistant_id)
        version = run.pinned_version or assistant.version
        snapshot = (
            assistant.snapshot
            if version == assistant.version
            else await self._snapshot(run.assistant_id, version, None)
        )
        run = await self._storage.start_run(run.run_id, version)
        stream.publish(
            "metadata",
            dumps({"run_id": run.run_id, "attempt": max(run.attempt, 1), "assistant_version": version}),
        )
        log.debug("run.started", run_id=run.run_id, assistant_version=version)
        plan = await self._plan(run, snapshot, version)
        return await execute(plan, stream)

    async def _plan(self, run: Run, snapshot: Snapshot, version: int) -> RunPlan:
        k = run.kwargs
        who = RunIdentity(run.run_id, run.thread_id, run.assistant_id, version, snapshot.graph_id)
        config = run_config(snapshot, k.get("config") or {}, who, run.metadata)
        if checkpoint := k.get("checkpoint"):
            config["configurable"].update({key: v for key, v in checkpoint.items() if key != "thread_id"})
        _, context_schema = self._graphs.write_schemas(snapshot.graph_id)
        context = run_context(snapshot, k.get("config") or {}, k.get("context"), context_schema)
        graph = await self._graphs.build(snapshot.graph_id, config)
        if not run.temporary:
            graph = graph.copy(update={"checkpointer": self._saver})
        # A retry needs nothing special to continue where its earlier attempt stopped: its config
        # carries the same run_id in metadata, and LangGraph resumes from the thread's last
        # checkpoint when that checkpoint was written by the same run, instead of starting over.
        run_input = _command(k["command"]) if k.get("command") else k.get("input")
        return RunPlan(
            graph=graph,
            input=run_input,
            config=config,
            context=context,
            stream_modes=tuple(k.get("stream_mode") or ("values",)),
            subgraphs=bool(k.get("stream_subgraphs")),
            interrupt_before=k.get("interrupt_before"),
            interrupt_after=k.get("interrupt_after"),
            durability=k.get("durability"),
            stateful=not run.temporary,
        )

    async def _finish(self, run: Run, stream: RunStream, result: RunResult) -> None:
        if result.status == "error":
            outcome = ThreadOutcome("error", result.values, {})
            stream.result = {"__error__": result.error}
        else:
            outcome = ThreadOutcome(
                "interrupted" if result.next else "idle", result.values, result.interrupts
            )
            stream.result = _result_body(result.values, result.interrupts)
        try:
            await self._storage.finish_run(
                run.run_id, result.status, error=result.error, outcome=outcome, attempt=run.attempt
            )
        except NotFound:
            return  # rolled back (deleted) while it ran, or taken over after a lost lease
        log.debug("run.finished", run_id=run.run_id, status=result.status)
        if run.temporary:
            await self._threads.delete(run.thread_id)

    async def _cancelled(self, run: Run, stream: RunStream) -> bool:
        """Record how a cancelled run ended; False if it is no longer this executor's to end."""
        action = self.worker.settle(run.run_id)
        log.info("run.cancelled", run_id=run.run_id, action=action)
        if action == "lease_lost":
            return False  # another replica has taken it over and continues its stream
        if action == "rollback":
            await self._rollback(run)
            stream.result = {}
            return True
        error = {"error": "CancelledError", "message": f"Run {run.run_id} was cancelled ({action})"}
        if action == "shutdown":
            error["message"] = "The server shut down before this run finished"
        stream.result = {"__error__": error}
        try:
            await self._storage.finish_run(
                run.run_id, "interrupted", error=error, outcome=None, attempt=run.attempt
            )
        except NotFound:
            return True  # its thread was deleted meanwhile
        if run.temporary:
            await self._threads.delete(run.thread_id)
        else:
            await self._threads.refresh(run.thread_id)
        return True


def _result_body(values: Any, interrupts: dict[str, list[Json]]) -> Json:
    body: Json = dict(values) if isinstance(values, dict) else {} if values is None else {"values": values}
    flat = [i for items in interrupts.values() for i in items]
    if flat:
        body["__interrupt__"] = flat
    return body


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
        # As in the official server's run kwargs (the row's `temporary` column is what graphdock reads).
        "temporary": stateless and request.on_completion == "delete",
    }


def _with_headers(config: Json, headers: Json) -> Json:
    if not headers:
        return config
    return {**config, "configurable": {**(config.get("configurable") or {}), **headers}}


def _after(seconds: float | None) -> str | None:
    if not seconds:
        return None
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="microseconds")


def _command(raw: Json) -> Command[Any]:
    goto = raw.get("goto")
    if isinstance(goto, dict):
        goto = Send(goto["node"], goto.get("input"))
    elif isinstance(goto, list):
        goto = [Send(g["node"], g.get("input")) if isinstance(g, dict) else g for g in goto]
    update = raw.get("update")
    if isinstance(update, list):
        update = [tuple(pair) for pair in update]
    return Command(resume=raw.get("resume"), update=update, goto=goto or ())

"""Executing a run, start to end, once the worker has claimed it: the graph, its stream, its record.

A run resolves its assistant's active version again when it starts, so a rollback made while it
waited in the queue reaches it, and it records that version on the run row and in every
checkpoint it writes. Its end is recorded in one storage write (the run's status and its thread's
outcome, by the rule in run_rules.py), and its stream is ended once, whatever happened: success,
a graph error, a cancellation, or a crash of graphdock's own bookkeeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from langgraph.types import Command, Send

from graphdock.domain.run_cancellation import Cancellation
from graphdock.domain.run_config import RunIdentity, run_config, run_context
from graphdock.domain.run_creation import assistant_snapshot
from graphdock.domain.run_rules import result_body, thread_after_run
from graphdock.domain.run_streams import RunStreams
from graphdock.domain.threads import Threads
from graphdock.domain.worker import Worker
from graphdock.errors import GraphdockError, NotFound
from graphdock.runtime.checkpoints import Saver, discard_thread
from graphdock.runtime.execution import RunPlan, RunResult, execute
from graphdock.runtime.factories import Access
from graphdock.runtime.graphs import AnyPregel, GraphRegistry
from graphdock.runtime.serialize import dumps
from graphdock.runtime.streams import RunStream
from graphdock.storage.base import Storage, assistant_not_found
from graphdock.storage.records import Json, Snapshot
from graphdock.storage.threads import Run, ThreadOutcome

# Each run's lifecycle logs at debug: at hundreds of runs a second, info lines cost ~15% of the CPU.
log = structlog.get_logger("graphdock.runs")
# Told how each run this replica executed ended: its final status, seconds from its creation to its
# start, seconds from its start to its end (for /metrics).
RunEnded = Callable[[str, float, float], None]

# Called once a run's end is recorded: (the run as claimed, as finished, its final values). The
# webhook sender hands delivery to a task of its own and returns at once.
OnFinished = Callable[[Run, Run, Any], None]


@dataclass(frozen=True, slots=True)
class RunHooks:
    """Who is told when runs end (app.py wires them): both return at once, never fail a run."""

    ended: RunEnded | None = None  # every run this replica executed, however it ended
    finished: OnFinished | None = None  # every run whose end was recorded (not a rolled-back one)


class Execution:
    def __init__(
        self,
        storage: Storage,
        graphs: GraphRegistry,
        threads: Threads,
        saver: Saver,
        streams: RunStreams,
        cancellation: Cancellation,
        worker: Worker,
        hooks: RunHooks,
    ) -> None:
        self._storage = storage
        self._graphs = graphs
        self._threads = threads
        self._saver = saver
        self._streams = streams
        self._cancellation = cancellation
        self._worker = worker
        self._hooks = hooks

    async def execute(self, run: Run, snapshot: Snapshot | None = None) -> None:
        """One run, start to end; called by the worker once it has claimed the run. `snapshot`:
        that of the version the claim recorded, when the run's creator holds it."""
        stream = self._streams.for_executor(run.run_id)
        resumable = bool(run.kwargs.get("stream_resumable"))
        relayed = True  # False once another replica has taken the run over: its stream goes on
        started, status = time.monotonic(), "error"
        leftover = False  # a stateless run's checkpoints, deleted once its answer is out
        try:
            try:
                await self._streams.relay(run.run_id, stream)
                result = await self._run_graph(run, stream, snapshot)
            except asyncio.CancelledError:
                status = "interrupted"
                relayed = await self._cancelled(run, stream)
                return
            except GraphdockError as exc:  # the assistant or its version vanished while it waited
                result = RunResult("error", error={"error": type(exc).__name__, "message": exc.detail})
                stream.publish("error", dumps(result.error))
            status = result.status
            # The graph is done: a cancel arriving now is too late, and must not cut the
            # bookkeeping short.
            self._worker.settle(run.run_id)
            leftover = await self._finish(run, stream, result)
        except Exception:
            log.exception("run.crashed", run_id=run.run_id)
            error = {"error": "InternalError", "message": "graphdock failed while finishing this run"}
            stream.result = {"__error__": error}
            try:
                await self._storage.finish_run(
                    run.run_id,
                    "error",
                    error=error,
                    outcome=None,
                    after=thread_after_run,
                    attempt=run.attempt,
                )
            except GraphdockError:
                log.exception("run.unrecorded", run_id=run.run_id)
        finally:
            self._streams.end(run.run_id, stream.result, keep=resumable, relay=relayed)
            if self._hooks.ended is not None and relayed:  # a run taken over is counted where it ends
                self._hooks.ended(
                    status, _since(run.created_at) - (time.monotonic() - started), time.monotonic() - started
                )
        if leftover:
            # After the stream's end, which answers runs.wait: its thread went with the run's end,
            # so nobody can read these any more.
            try:
                await discard_thread(self._saver, run.thread_id, written=result.checkpointed)
            except Exception:  # a top-level guard: the run is recorded, only its leftovers stay
                log.exception("run.checkpoints_left", run_id=run.run_id, thread_id=run.thread_id)

    async def _run_graph(self, run: Run, stream: RunStream, snapshot: Snapshot | None) -> RunResult:
        # The claim recorded the version this run executes (storage's VERSION_AT_CLAIM); None:
        # its assistant was deleted while the run waited.
        version = run.assistant_version
        if version is None:
            raise assistant_not_found(run.assistant_id)
        if snapshot is None:
            _, snapshot = await assistant_snapshot(self._storage, run.assistant_id, version, None)
        stream.publish(
            "metadata",
            dumps({"run_id": run.run_id, "attempt": max(run.attempt, 1), "assistant_version": version}),
        )
        log.debug("run.started", run_id=run.run_id, assistant_version=version)
        k = run.kwargs
        who = RunIdentity(run.run_id, run.thread_id, run.assistant_id, version, snapshot.graph_id)
        config = run_config(snapshot, k.get("config") or {}, who, run.metadata)
        if checkpoint := k.get("checkpoint"):
            config["configurable"].update({key: v for key, v in checkpoint.items() if key != "thread_id"})
        _, context_schema = self._graphs.write_schemas(snapshot.graph_id)
        context = run_context(snapshot, k.get("config") or {}, k.get("context"), context_schema)
        # A factory's graph lives for the run: a context-manager factory is exited after it.
        access = Access("threads.create_run", context=context)
        async with self._graphs.using(snapshot.graph_id, config, access) as graph:
            return await execute(self._plan(run, graph, config, context), stream)

    def _plan(self, run: Run, graph: AnyPregel, config: Json, context: Json | None) -> RunPlan:
        k = run.kwargs
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

    async def _finish(self, run: Run, stream: RunStream, result: RunResult) -> bool:
        """Record the run's end; True when its checkpoints are to go after it (a stateless run's)."""
        if result.status == "error":
            outcome = ThreadOutcome("error", result.values, {})
            stream.result = {"__error__": result.error}
        else:
            outcome = ThreadOutcome(
                "interrupted" if result.next else "idle", result.values, result.interrupts
            )
            stream.result = result_body(result.values, result.interrupts)
        try:
            finished = await self._storage.finish_run(
                run.run_id,
                result.status,
                error=result.error,
                outcome=outcome,
                after=thread_after_run,
                attempt=run.attempt,
                discard=run.temporary,  # a stateless run's thread goes in the same transaction
            )
        except NotFound:
            return False  # rolled back (deleted) while it ran, or taken over after a lost lease
        log.debug("run.finished", run_id=run.run_id, status=result.status)
        if self._hooks.finished is not None:
            self._hooks.finished(run, finished, result.values)
        return run.temporary

    async def _cancelled(self, run: Run, stream: RunStream) -> bool:
        """Record how a cancelled run ended; False if it is no longer this executor's to end."""
        action = self._worker.settle(run.run_id)
        log.info("run.cancelled", run_id=run.run_id, action=action)
        if action == "lease_lost":
            return False  # another replica has taken it over and continues its stream
        if action == "rollback":
            await self._cancellation.rollback(run)
            stream.result = {}
            return True
        error = {"error": "CancelledError", "message": f"Run {run.run_id} was cancelled ({action})"}
        if action == "shutdown":
            error["message"] = "The server shut down before this run finished"
        stream.result = {"__error__": error}
        try:
            finished = await self._storage.finish_run(
                run.run_id,
                "interrupted",
                error=error,
                outcome=None,
                after=thread_after_run,
                attempt=run.attempt,
                discard=run.temporary,
            )
        except NotFound:
            return True  # its thread was deleted meanwhile
        if self._hooks.finished is not None:
            self._hooks.finished(run, finished, None)
        if run.temporary:
            await self._saver.adelete_thread(run.thread_id)
        else:
            await self._threads.refresh(run.thread_id)
        return True


def _since(timestamp: str) -> float:
    return (datetime.now(UTC) - datetime.fromisoformat(timestamp)).total_seconds()


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

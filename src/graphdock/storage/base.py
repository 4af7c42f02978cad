"""The storage interface: everything the domain may ask of a database, nothing more.

Each backend (SQLite and PostgreSQL) implements it and is held to the same contract suite
(tests/storage). Writes that touch two rows (the active row and a version; a run and its thread)
happen in one transaction inside the backend; version numbers are allocated there too, and so is
the If-Match check (`if_version`), so that "check, then write" can never interleave with another
writer. Where a write needs a decision (the next snapshot, an import, a multitask strategy, a
thread's status after a run), the domain hands its rule in (`Revise`, `Decide`, `Admit`,
`AfterRun`) and the backend calls it inside the transaction: the rules are written once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from graphdock.errors import Conflict, NotFound, PreconditionFailed
from graphdock.metrics import PoolUsage
from graphdock.storage.assistant_runs import AssistantRunFilter, StatsRule, VersionRunStats, VersionTally
from graphdock.storage.crons import Cron, CronFilter, CronSortField, NextFiring, ReviseCron
from graphdock.storage.records import (
    CREATED,
    UPDATED,
    Assistant,
    AssistantFilter,
    AssistantHistory,
    AssistantVersion,
    Change,
    Json,
    Page,
    Snapshot,
    SortField,
)
from graphdock.storage.retention import Expiry, ThreadTtl
from graphdock.storage.threads import (
    ExpiredLeases,
    Lease,
    NewThread,
    Run,
    RunQueue,
    RunStatus,
    Thread,
    ThreadFilter,
    ThreadOutcome,
    ThreadSortField,
    ThreadStatus,
)
from graphdock.storage.visibility import Visibility

# Called inside the write transaction with the current active row; returns the next snapshot or
# raises a GraphdockError, which rolls the transaction back. Must be pure and quick.
Revise = Callable[[Assistant], Snapshot]


@dataclass(frozen=True, slots=True)
class Edit:
    """A Revise that needs nothing but the active row's own values (a PATCH of metadata, name,
    description, or of config.configurable): `metadata`'s top-level keys merged over the current
    ones, the name, the description, the config and the context replaced when given. A backend
    may apply it in SQL instead of calling it, inside the statement that locks the row
    (PostgreSQL: such a PATCH is one round trip); both give the snapshot calling it gives.

    A new config and context are valid on `graphs` only (the domain checked them against each
    graph's schemas beforehand, as it cannot know the row's graph): on a row of any other graph,
    the write must not happen, and calling the Edit raises what `refuse` finds wrong."""

    metadata: Json
    name: str | None = None
    description: str | None = None
    config: Json | None = None
    context: Json | None = None
    graphs: frozenset[str] = frozenset()
    refuse: Callable[[Snapshot], None] | None = None

    def __call__(self, current: Assistant) -> Snapshot:
        now = current.snapshot
        snapshot = replace(
            now,
            config=self.config if self.config is not None else now.config,
            context=self.context if self.context is not None else now.context,
            metadata={**now.metadata, **self.metadata} if self.metadata else now.metadata,
            name=self.name if self.name is not None else now.name,
            description=self.description if self.description is not None else now.description,
        )
        if self.replaces_values and now.graph_id not in self.graphs and self.refuse is not None:
            self.refuse(snapshot)
        return snapshot

    @property
    def replaces_values(self) -> bool:
        """Whether it sets config or context, which only `graphs` accept."""
        return self.config is not None or self.context is not None


# If-Match: the write happens only while the active version is one of these (None: always).
IfVersion = frozenset[int] | None


ImportOutcome = Literal["create", "replace", "unchanged", "conflict"]
# The domain's rule for one imported history, given what is stored under its id (or None);
# called inside the import transaction, so the decision and the write see the same rows.
Decide = Callable[[AssistantHistory | None, AssistantHistory], ImportOutcome]
# The domain's multitask rule (domain/run_rules.py): given a thread and its active runs, oldest
# first, returns the runs a new run displaces, or raises (Conflict) to refuse it.
Admit = Callable[[str, Sequence[Run]], list[Run]]
# The domain's rule for a thread's status once a run ends: (its status now, whether other runs
# are still active on it, the status the run's outcome asks for or None) -> its new status.
AfterRun = Callable[[ThreadStatus, bool, ThreadStatus | None], ThreadStatus]


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


def thread_not_found(thread_id: str) -> NotFound:
    return NotFound(f"Thread {thread_id} not found")


def run_not_found(run_id: str) -> NotFound:
    return NotFound(f"Run {run_id} not found")


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

    def pool_usage(self) -> PoolUsage:
        """The connections this backend holds now, for /metrics."""
        ...

    async def create_assistant(
        self,
        assistant_id: str,
        snapshot: Snapshot,
        if_exists: Literal["raise", "do_nothing"],
        change: Change = CREATED,
        *,
        visible: Visibility | None = None,
    ) -> Assistant:
        """Insert version 1 and the active row; Conflict if the id exists and if_exists is raise,
        or if the existing one is not `visible` (do_nothing never hands out another user's row)."""

    # `visible` on the methods below: the auth filter, applied in the query that finds the
    # assistant; a row it excludes is NotFound, exactly like a missing one.

    async def get_assistant(self, assistant_id: str, *, visible: Visibility | None = None) -> Assistant:
        """NotFound if there is no such assistant."""

    async def revise_assistant(
        self,
        assistant_id: str,
        revise: Revise,
        *,
        if_version: IfVersion = None,
        change: Change = UPDATED,
        visible: Visibility | None = None,
    ) -> Assistant:
        """Append version max+1 built by `revise` and make it active, atomically."""

    async def set_active_version(
        self,
        assistant_id: str,
        version: int,
        *,
        if_version: IfVersion = None,
        visible: Visibility | None = None,
    ) -> Assistant:
        """Copy that version's whole snapshot to the active row; NotFound for either id."""

    async def delete_assistant(
        self, assistant_id: str, *, if_version: IfVersion = None, visible: Visibility | None = None
    ) -> None:
        """Remove the assistant, every version and its crons; NotFound if absent."""

    async def get_version(
        self, assistant_id: str, version: int, *, visible: Visibility | None = None
    ) -> AssistantVersion:
        """NotFound for an unknown assistant or version."""

    async def delete_version(
        self,
        assistant_id: str,
        version: int,
        *,
        if_version: IfVersion = None,
        visible: Visibility | None = None,
    ) -> None:
        """Remove one version that is not the active one (Conflict); its number is never reused."""

    async def list_versions(
        self, assistant_id: str, metadata: dict[str, object], page: Page, *, visible: Visibility | None = None
    ) -> list[AssistantVersion]:
        """Newest first; NotFound if the assistant does not exist, [] for an empty page."""

    async def search_assistants(
        self, where: AssistantFilter, page: Page, sort_by: SortField, descending: bool
    ) -> tuple[list[Assistant], bool]:
        """One page of active rows, and whether more rows follow it."""

    async def search_assistants_with_tallies(
        self, where: AssistantFilter, page: Page, sort_by: SortField, descending: bool
    ) -> tuple[list[tuple[Assistant, VersionTally | None]], bool]:
        """search_assistants, each row with its version_tallies entry (None: deleted in between),
        read in one go."""

    async def count_assistants(self, where: AssistantFilter) -> int: ...

    async def export_assistants(
        self, assistant_ids: Sequence[str] | None, page: Page
    ) -> tuple[list[AssistantHistory], bool]:
        """Whole histories, oldest assistant first (stable pages); unknown ids are skipped."""

    async def import_assistants(
        self, histories: Sequence[AssistantHistory], *, dry_run: bool, decide: Decide
    ) -> ImportReport:
        """All or nothing: Conflict naming every id `decide` calls a conflict."""

    # -- threads ----------------------------------------------------------------------------------

    async def create_thread(
        self,
        thread_id: str,
        metadata: Json,
        if_exists: Literal["raise", "do_nothing"],
        *,
        visible: Visibility | None = None,
        ttl: ThreadTtl | None = None,
    ) -> Thread:
        """Conflict if the id exists and if_exists is raise, or if it is not `visible`; do_nothing
        returns the stored thread (its TTL unchanged). A new thread gets `ttl`, in the same transaction."""

    # `visible` on thread methods: the auth filter on the thread's metadata, applied in the query
    # that finds the thread; a thread it excludes is NotFound, exactly like a missing one.

    async def get_thread(self, thread_id: str, *, visible: Visibility | None = None) -> Thread: ...

    async def update_thread(
        self,
        thread_id: str,
        metadata: Json,
        *,
        visible: Visibility | None = None,
        ttl: ThreadTtl | None = None,
    ) -> Thread:
        """Shallow-merge metadata into the thread's; with `ttl`, replace its TTL too."""

    async def delete_thread(self, thread_id: str, *, visible: Visibility | None = None) -> None:
        """The thread, its runs and its crons; NotFound if absent."""

    async def search_threads(
        self, where: ThreadFilter, page: Page, sort_by: ThreadSortField, descending: bool
    ) -> tuple[list[Thread], bool]: ...

    async def count_threads(self, where: ThreadFilter) -> int: ...

    async def set_thread_state(self, thread_id: str, outcome: ThreadOutcome) -> Thread:
        """After a state update from outside a run; a busy thread stays busy."""

    async def assistant_thread_ids(self, assistant_id: str) -> list[str]:
        """Threads whose metadata.assistant_id is this assistant (delete_threads=true)."""

    # -- retention (storage/retention.py) ---------------------------------------------------------

    async def get_thread_ttl(self, thread_id: str) -> ThreadTtl:
        """What the thread's own ttl says (both None: the deployment's applies); NotFound if absent."""

    async def claim_sweep(self, name: str, holder: str, now: str, next_at: str) -> bool:
        """Whether `holder` may sweep `name` now: true for one caller until `next_at`, across replicas."""

    async def expire_threads(self, expiry: Expiry) -> list[str]:
        """The threads `expiry` takes, in one transaction: deleted with their runs (delete), or
        marked pruned (keep_latest; the caller prunes their checkpoints). Returns their ids."""

    # -- runs -------------------------------------------------------------------------------------

    async def create_run(
        self,
        run: Run,
        *,
        new_thread: NewThread | None,
        admit: Admit,
        visible: Visibility | None = None,
        start: Lease | None = None,
    ) -> tuple[Run, list[Run]]:
        """Insert a pending run and mark its thread busy, in one transaction.

        A missing thread is created from `new_thread` (NotFound when None); an existing one gets
        the run's metadata `graph_id` and `assistant_id` merged into its metadata. `admit` gets the
        thread's active runs, oldest first, and returns those the run displaces (or raises, which
        rolls everything back): the pending ones among them are marked interrupted, and all are
        returned (running ones are for the executor to stop).

        With `start` (a worker's free slot), the same transaction also claims the run under that
        lease when a claim would take it now, that is when it is the oldest pending run due whose
        thread has nothing running (claim_run's own rule, so no run jumps the queue): it is
        returned running, as claim_run returns it. Otherwise it is returned pending.
        """

    async def claim_run(self, now: str, lease: Lease | None = None) -> Run | None:
        """The oldest pending run due by `now` whose thread has nothing running, marked running
        under `lease`, its attempt counted up."""

    async def renew_leases(self, lease: Lease) -> list[str]:
        """Extend every lease `lease.worker_id` holds on a running run; returns those runs' ids
        (a run missing from the list has been taken from this worker: its lease had expired)."""

    async def expire_leases(
        self, now: str, *, max_attempts: int, error: Json, after: AfterRun
    ) -> ExpiredLeases:
        """Runs running under a lease that ended before `now` (their worker died or hung): back
        to pending if they have had fewer than `max_attempts`, else failed with `error` (their
        threads' status by `after`, as for a run that ended in an error)."""

    async def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        *,
        error: Json | None,
        outcome: ThreadOutcome | None,
        after: AfterRun,
        attempt: int | None = None,
        discard: bool = False,
    ) -> Run:
        """The run's final status and its thread's outcome, in one transaction.

        The outcome's values and interrupts are written to the thread; its status is what `after`
        answers (the thread's row is left alone when there is no outcome and other runs are
        still active on it). With `attempt`, only that attempt of a
        running run may finish it: NotFound otherwise (its lease was taken over, or it was deleted).
        With `discard` (a stateless run's temporary thread), the thread is deleted with its runs
        instead, in the same transaction; its checkpoints are the caller's to delete after.
        """

    async def get_run(self, thread_id: str | None, run_id: str) -> Run:
        """NotFound if absent or on another thread."""

    async def list_runs(self, thread_id: str, status: RunStatus | None, page: Page) -> list[Run]:
        """Newest first; NotFound for an unknown thread."""

    async def find_active_runs(
        self, *, thread_id: str | None = None, run_ids: Sequence[str] | None = None
    ) -> list[Run]:
        """Pending and running runs, narrowed to a thread and/or ids."""

    async def interrupt_pending(self, run_ids: Sequence[str], *, after: AfterRun) -> list[Run]:
        """Mark those of `run_ids` still pending as interrupted (their threads' status by `after`,
        with no outcome); returns the runs it changed."""

    async def delete_run(self, thread_id: str | None, run_id: str, *, after: AfterRun) -> Run:
        """Remove a run (its thread's status by `after`, with no outcome); NotFound if absent."""

    async def run_queue(self) -> RunQueue:
        """Whether any run is pending, and the earliest not_before among them."""

    # -- crons ------------------------------------------------------------------------------------

    async def create_cron(self, cron: Cron) -> Cron:
        """NotFound if its assistant (or thread) does not exist, checked in the inserting transaction."""

    async def get_cron(self, cron_id: str) -> Cron: ...

    async def update_cron(self, cron_id: str, revise: ReviseCron) -> Cron:
        """Store what `revise` makes of the stored cron, in one transaction; NotFound if absent."""

    async def delete_cron(self, cron_id: str) -> None: ...

    async def search_crons(
        self, where: CronFilter, page: Page, sort_by: CronSortField, descending: bool
    ) -> tuple[list[Cron], bool]: ...

    async def count_crons(self, where: CronFilter) -> int: ...

    async def list_cron_runs(self, cron_id: str, page: Page) -> list[Run]:
        """The runs a cron made (`metadata.cron_id`) that still exist, newest first; NotFound for
        an unknown cron."""

    async def claim_due_crons(self, now: str, next_firing: NextFiring, limit: int) -> list[Cron]:
        """Enabled crons due by `now` (at most `limit`), each moved to `next_firing(cron, now)` in the
        same transaction, so that each firing is handed out once across processes and replicas.
        Returns them as they were when due."""

    # -- an assistant's runs across threads -------------------------------------------------------

    async def search_assistant_runs(self, where: AssistantRunFilter, page: Page) -> tuple[list[Run], bool]:
        """Newest first, and whether more follow; runs on threads `where.visible` hides are left out."""

    async def version_run_stats(
        self,
        assistant_id: str,
        versions: Sequence[int],
        rule: StatsRule,
        *,
        visible: Visibility | None = None,
    ) -> dict[int, VersionRunStats]:
        """Tallies of the runs each version ran, by `rule`; a version without runs is absent."""

    async def list_versions_with_run_stats(
        self,
        assistant_id: str,
        metadata: dict[str, object],
        page: Page,
        rule: StatsRule,
        *,
        visible: Visibility | None = None,
        threads_visible: Visibility | None = None,
    ) -> list[tuple[AssistantVersion, VersionRunStats | None]]:
        """list_versions, each version with version_run_stats' tallies over the runs on threads
        `threads_visible` allows (None: nothing ran it), read in one go."""

    async def version_tallies(self, assistant_ids: Sequence[str]) -> dict[str, VersionTally]:
        """Version count and next number per assistant; unknown ids are absent."""

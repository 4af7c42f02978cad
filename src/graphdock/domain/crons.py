"""The rules of crons: what a cron may hold (schedule, zone, end, webhook), and how it changes.

A cron stores the run each firing creates as the client gave it (`payload`, the SDK's RunCreate
fields), so a firing goes through the ordinary run path: the assistant's active version is
resolved when the run starts (or the one a `<id>@N` reference pins), and `assistant_version` is
recorded on the run. Firing itself belongs to the scheduler (domain/scheduler.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from graphdock.domain.run_config import parse_assistant_ref
from graphdock.domain.schedules import check_end_time, check_schedule, check_timezone, next_firing
from graphdock.domain.webhooks import WebhookSender
from graphdock.errors import InvalidRequest
from graphdock.storage.base import Storage
from graphdock.storage.crons import Cron, CronFilter, CronSortField, OnRunCompleted, cron_not_found
from graphdock.storage.records import Json, Page, utc_now
from graphdock.storage.threads import Run
from graphdock.storage.visibility import Visibility, require_within, stamped

# Cron fields a PATCH sets on the cron itself; every other field it gives is a run field and is
# merged into the payload.
_CRON_FIELDS = frozenset({"schedule", "timezone", "end_time", "enabled", "on_run_completed", "metadata"})


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A new cron as the client asked for it, already type-checked."""

    assistant_id: str
    schedule: str
    # The run fields (input, config, context, webhook, stream_mode, …) as given, None-free.
    run: Json
    timezone: str | None = None
    end_time: datetime | None = None
    enabled: bool = True
    on_run_completed: OnRunCompleted | None = None
    metadata: Json = field(default_factory=dict)


# Refuses (404/422/400, as creating it would) the run a cron's payload describes; creates nothing.
CheckRun = Callable[[Json, Visibility | None], Awaitable[None]]


class Crons:
    def __init__(
        self, storage: Storage, graph_ids: tuple[str, ...], webhooks: WebhookSender, check_run: CheckRun
    ) -> None:
        self._storage = storage
        self._graph_ids = graph_ids
        self._webhooks = webhooks
        self._check_run = check_run

    async def create(
        self,
        thread_id: str | None,
        spec: CronSpec,
        *,
        thread_visible: Visibility | None = None,
        assistant_visible: Visibility | None = None,
    ) -> Cron:
        """A cron on a thread (its runs go there), or stateless (each run on a new thread).
        `thread_visible`, `assistant_visible`: what the caller may see; a cron may only use those."""
        ref = parse_assistant_ref(spec.assistant_id, self._graph_ids)
        if thread_id is not None and thread_visible is not None:
            await self._storage.get_thread(thread_id, visible=thread_visible)
        now = datetime.now(UTC)
        schedule = check_schedule(spec.schedule)
        check_timezone(spec.timezone)
        end_time = check_end_time(spec.end_time, now)
        await self._check_webhook(spec.run)
        pinned = f"@{ref.version}" if ref.version is not None else ""
        # The runs it will make must be able to start (assistant, graph, context): else 4xx now,
        # not a refused run at every firing.
        await self._check_run({**spec.run, "assistant_id": ref.assistant_id + pinned}, assistant_visible)
        stamp = utc_now()
        cron = Cron(
            cron_id=str(uuid.uuid4()),
            assistant_id=ref.assistant_id,
            thread_id=thread_id,
            schedule=schedule,
            timezone=spec.timezone,
            end_time=end_time,
            enabled=spec.enabled,
            on_run_completed=(spec.on_run_completed or "delete") if thread_id is None else None,
            payload={**spec.run, "assistant_id": ref.assistant_id + pinned},
            metadata=spec.metadata,
            next_run_date=next_firing(schedule, spec.timezone, now, end_time),
            created_at=stamp,
            updated_at=stamp,
        )
        return await self._storage.create_cron(cron)

    # `visible` below: the crons the caller may see (by their metadata); another's is not found.

    async def get(self, cron_id: str, *, visible: Visibility | None = None) -> Cron:
        return _seen(await self._storage.get_cron(cron_id), visible)

    async def update(self, cron_id: str, changes: Json, *, visible: Visibility | None = None) -> Cron:
        """Fields given replace the cron's (end_time: null clears it); run fields merge into the payload."""
        if not changes:
            raise InvalidRequest("Request body cannot be empty; name at least one field to change")
        now = datetime.now(UTC)
        if "schedule" in changes:
            changes = {**changes, "schedule": check_schedule(changes["schedule"])}
        if "timezone" in changes:
            check_timezone(changes["timezone"])
        end_time = check_end_time(changes.get("end_time"), now) if "end_time" in changes else None
        run = {k: v for k, v in changes.items() if k not in _CRON_FIELDS}
        await self._check_webhook(run)
        if run:
            stored = await self.get(cron_id, visible=visible)
            await self._check_run({**stored.payload, **run}, None)

        def revise(cron: Cron) -> Cron:
            _seen(cron, visible)
            updated = replace(
                cron,
                schedule=changes.get("schedule", cron.schedule),
                timezone=changes.get("timezone", cron.timezone),
                end_time=end_time if "end_time" in changes else cron.end_time,
                enabled=changes.get("enabled", cron.enabled),
                on_run_completed=(
                    changes.get("on_run_completed", cron.on_run_completed) if cron.thread_id is None else None
                ),
                # Stamped like a create, and checked: no edit hands a cron to another user.
                metadata=stamped(changes["metadata"], visible) if "metadata" in changes else cron.metadata,
                payload={**cron.payload, **run},
                updated_at=utc_now(),
            )
            require_within(updated.metadata, visible)
            # A new schedule, zone or end counts from now; a cron re-enabled fires at its next
            # time, never for the firings it missed while disabled.
            return replace(
                updated, next_run_date=next_firing(updated.schedule, updated.timezone, now, updated.end_time)
            )

        return await self._storage.update_cron(cron_id, revise)

    async def history(self, cron_id: str, page: Page, *, visible: Visibility | None = None) -> list[Run]:
        """The runs the cron made that still exist, newest first, each with the assistant version
        it ran (a stateless cron's runs go with their thread unless on_run_completed is keep)."""
        if visible is not None:
            await self.get(cron_id, visible=visible)
        return await self._storage.list_cron_runs(cron_id, page)

    async def delete(self, cron_id: str, *, visible: Visibility | None = None) -> None:
        if visible is not None:
            await self.get(cron_id, visible=visible)
        await self._storage.delete_cron(cron_id)

    async def search(
        self, where: CronFilter, page: Page, sort_by: CronSortField, descending: bool
    ) -> tuple[list[Cron], bool]:
        return await self._storage.search_crons(self._resolved(where), page, sort_by, descending)

    async def count(self, where: CronFilter) -> int:
        return await self._storage.count_crons(self._resolved(where))

    def _resolved(self, where: CronFilter) -> CronFilter:
        """A graph id names its default assistant here too, as everywhere an assistant is named."""
        if where.assistant_id is None:
            return where
        return replace(
            where, assistant_id=parse_assistant_ref(where.assistant_id, self._graph_ids).assistant_id
        )

    async def _check_webhook(self, run: dict[str, Any]) -> None:
        if run.get("webhook"):
            await self._webhooks.check(run["webhook"])


def _seen(cron: Cron, visible: Visibility | None) -> Cron:
    if visible is not None and not visible.allows(cron.metadata):
        raise cron_not_found(cron.cron_id)
    return cron

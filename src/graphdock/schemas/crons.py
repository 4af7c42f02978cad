"""Crons on the wire: field names exactly as langgraph_sdk's crons client sends and reads them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictStr

from graphdock.schemas.common import Body, JsonObject, Offset, UuidStr
from graphdock.schemas.threads import Limit, RunConfig, StreamModeIn

OnRunCompletedIn = Literal["delete", "keep"]


class CronRunFields(Body):
    """The run every firing creates (the SDK's RunCreate fields a cron accepts)."""

    input: Any = None
    config: RunConfig | None = None
    context: JsonObject | None = None
    metadata: JsonObject | None = Field(None, description="The cron's metadata, also given to its runs.")
    webhook: StrictStr | None = Field(None, description="POSTed the run when each run ends.")
    interrupt_before: Literal["*"] | list[StrictStr] | None = None
    interrupt_after: Literal["*"] | list[StrictStr] | None = None
    multitask_strategy: Literal["reject", "interrupt", "rollback", "enqueue"] | None = None
    stream_mode: StreamModeIn | list[StreamModeIn] | None = None
    stream_subgraphs: StrictBool | None = None
    stream_resumable: StrictBool | None = None
    durability: Literal["sync", "async", "exit"] | None = None
    # Deprecated by the SDK (durability replaces it); accepted and not used.
    checkpoint_during: StrictBool | None = None


class CronCreate(CronRunFields):
    assistant_id: StrictStr = Field(
        description="An assistant UUID or a graph id; append `@N` to pin every run to version N."
    )
    schedule: StrictStr = Field(description="Five cron fields (minute hour day-of-month month day-of-week).")
    timezone: StrictStr | None = Field(
        None, description="IANA time zone the schedule is read in (default UTC)."
    )
    end_time: datetime | None = Field(None, description="No firing after this moment; must be in the future.")
    enabled: StrictBool | None = None
    on_run_completed: OnRunCompletedIn | None = Field(
        None, description="Stateless crons: delete (default) or keep each run's thread."
    )


class CronPatch(CronRunFields):
    schedule: StrictStr | None = None
    timezone: StrictStr | None = None
    end_time: datetime | None = Field(None, description="null clears it; absent leaves it as it is.")
    enabled: StrictBool | None = None
    on_run_completed: OnRunCompletedIn | None = None


class CronCount(Body):
    assistant_id: StrictStr | None = None
    thread_id: UuidStr | None = None
    metadata: JsonObject | None = None


class CronSearch(CronCount):
    enabled: StrictBool | None = None
    limit: Limit = 10
    offset: Offset = 0
    sort_by: (
        Literal[
            "cron_id", "assistant_id", "thread_id", "created_at", "updated_at", "next_run_date", "end_time"
        ]
        | None
    ) = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[StrictStr] | None = None


class CronOut(BaseModel):
    cron_id: str
    assistant_id: str
    thread_id: str | None
    user_id: str | None
    end_time: str | None
    schedule: str
    timezone: str | None
    payload: JsonObject
    next_run_date: str | None
    metadata: JsonObject
    on_run_completed: OnRunCompletedIn | None
    enabled: bool
    created_at: str
    updated_at: str


CRON_FIELDS = frozenset(CronOut.model_fields)

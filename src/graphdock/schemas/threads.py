"""Threads and runs on the wire: field names exactly as langgraph_sdk.schema spells them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel, StrictBool, StrictFloat, StrictInt, StrictStr

from graphdock.schemas.common import Body, JsonObject, Offset, UuidStr

Limit = Annotated[StrictInt, Field(ge=1, le=1000)]
ThreadStatusIn = Literal["idle", "busy", "interrupted", "error"]
StreamModeIn = Literal[
    "values", "updates", "messages", "messages-tuple", "events", "debug", "custom", "tasks", "checkpoints"
]


class ThreadTtlIn(Body):
    """A thread's own TTL, as the SDKs send it (`ttl=30` becomes `{"ttl": 30, "strategy": "delete"}`)."""

    # Minutes since the thread was last used; fractions allowed. Absent: checkpointer.ttl's default_ttl.
    ttl: Annotated[StrictFloat | StrictInt, Field(gt=0, le=1e9)] | None = None
    strategy: Literal["delete", "keep_latest"] | None = None


class ThreadCreate(Body):
    thread_id: UuidStr | None = None
    metadata: JsonObject | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None
    ttl: ThreadTtlIn | None = None


class ThreadPatch(Body):
    metadata: JsonObject | None = Field(None, description="Shallow-merged into the thread's metadata.")
    ttl: ThreadTtlIn | None = Field(None, description="Replaces the thread's TTL; its clock restarts.")


class ThreadFilterBody(Body):
    metadata: JsonObject | None = None
    values: JsonObject | None = None
    status: ThreadStatusIn | None = None


class ThreadSearch(ThreadFilterBody):
    ids: list[UuidStr] | None = None
    limit: Limit = 10
    offset: Offset = 0
    sort_by: Literal["thread_id", "status", "created_at", "updated_at"] | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[StrictStr] | None = None


class ThreadCount(ThreadFilterBody):
    pass


class ThreadPrune(Body):
    thread_ids: list[UuidStr]
    strategy: Literal["delete", "keep_latest"] = "delete"


class CheckpointIn(Body):
    thread_id: StrictStr | None = None
    checkpoint_ns: StrictStr | None = None
    checkpoint_id: StrictStr | None = None
    checkpoint_map: JsonObject | None = None


class StateUpdate(Body):
    values: Any = None
    as_node: StrictStr | None = None
    checkpoint: CheckpointIn | None = None
    checkpoint_id: StrictStr | None = None


class StateAt(Body):
    checkpoint: CheckpointIn
    subgraphs: StrictBool | None = None


class HistoryQuery(Body):
    limit: Limit = 10
    before: CheckpointIn | None = None
    metadata: JsonObject | None = None
    checkpoint: CheckpointIn | None = None


class RunCommand(Body):
    resume: Any = None
    update: Any = None
    goto: Any = None


class RunConfig(BaseModel):
    """`config`: configurable, tags, recursion_limit typed; other keys kept verbatim."""

    model_config = {"extra": "allow"}

    configurable: JsonObject | None = None
    tags: list[StrictStr] | None = None
    recursion_limit: Annotated[StrictInt, Field(ge=1, le=2**31 - 1)] | None = None


class RunCreate(Body):
    assistant_id: StrictStr = Field(
        description="An assistant UUID or a graph id; append `@N` to pin the run to version N."
    )
    input: Any = None
    command: RunCommand | None = None
    config: RunConfig | None = None
    context: JsonObject | None = None
    metadata: JsonObject | None = None
    stream_mode: StreamModeIn | list[StreamModeIn] | None = None
    stream_subgraphs: StrictBool | None = None
    stream_resumable: StrictBool | None = None
    interrupt_before: Literal["*"] | list[StrictStr] | None = None
    interrupt_after: Literal["*"] | list[StrictStr] | None = None
    multitask_strategy: Literal["reject", "interrupt", "rollback", "enqueue"] | None = None
    if_not_exists: Literal["create", "reject"] | None = None
    on_completion: Literal["delete", "keep"] | None = None
    on_disconnect: Literal["cancel", "continue"] | None = None
    after_seconds: Annotated[StrictInt | StrictFloat, Field(ge=0, le=10**7)] | None = None
    checkpoint: CheckpointIn | None = None
    checkpoint_id: StrictStr | None = None
    durability: Literal["sync", "async", "exit"] | None = None
    webhook: StrictStr | None = Field(
        None, description="POSTed the run when it ends; checked against langgraph.json's webhooks.url policy."
    )
    # Accepted and ignored, as documented: graphdock keeps no feedback keys.
    feedback_keys: list[StrictStr] | None = None


class RunBatch(RootModel[list[RunCreate]]):
    pass


class RunsCancel(Body):
    thread_id: UuidStr | None = None
    run_ids: list[UuidStr] | None = None
    status: Literal["pending", "running", "all"] | None = None


class ThreadTtlOut(BaseModel):
    strategy: Literal["delete", "keep_latest"]
    ttl_minutes: float
    expires_at: str


class ThreadOut(BaseModel):
    thread_id: str
    created_at: str
    updated_at: str
    metadata: JsonObject
    status: ThreadStatusIn
    values: Any
    interrupts: JsonObject
    # Only with GET /threads/{id}?include=ttl, and only for a thread that expires.
    ttl: ThreadTtlOut | None = None


# The field "kwargs" clashes with the **kwargs of the __init__ pydantic's mypy plugin synthesises.
class RunOut(BaseModel):  # type: ignore[no-redef]
    run_id: str
    thread_id: str
    assistant_id: str
    created_at: str
    updated_at: str
    status: Literal["pending", "running", "error", "success", "timeout", "interrupted"]
    metadata: JsonObject
    multitask_strategy: str
    run_kwargs: JsonObject = Field(alias="kwargs")
    assistant_version: int | None = Field(description="graphdock: the assistant version this run used.")
    error: JsonObject | None = Field(description="graphdock: {error, message} when the run failed.")


# `ttl` is not a row field: only GET /threads/{id}?include=ttl shows it.
THREAD_FIELDS = frozenset(ThreadOut.model_fields) - {"ttl"}

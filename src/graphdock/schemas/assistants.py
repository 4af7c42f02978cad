"""Assistants on the wire: field names exactly as langgraph_sdk.schema spells them.

Unknown keys are ignored (the SDKs add new ones over time). Numbers and booleans are strict:
"10" is not a limit and 1 is not true, so a typo answers 422 instead of doing something else.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pydantic.json_schema import SkipJsonSchema

from graphdock.schemas.common import Body, JsonObject, NotNull, Offset, UuidStr
from graphdock.storage.records import SortField


class AssistantConfig(BaseModel):
    """`config`: the keys LangGraph reads are typed; any other key is kept verbatim."""

    model_config = ConfigDict(extra="allow")

    # Not nullable: a stored `"configurable": null` would break every run's config merge.
    # Defaults are never stored: the API dumps only the keys the client set.
    configurable: JsonObject = Field(default_factory=dict)
    tags: list[StrictStr] = Field(default_factory=list)
    recursion_limit: Annotated[StrictInt, Field(ge=1, le=2**31 - 1)] = 25


class AssistantCreate(Body):
    graph_id: StrictStr = Field(
        description="The graph this assistant runs (a key of langgraph.json's graphs)."
    )
    assistant_id: UuidStr | None = Field(
        None, description="Chosen id; any UUID spelling, stored lower-case dashed."
    )
    config: Annotated[AssistantConfig | SkipJsonSchema[None], NotNull] = None
    context: Annotated[JsonObject | SkipJsonSchema[None], NotNull] = None
    metadata: Annotated[JsonObject | SkipJsonSchema[None], NotNull] = None
    name: Annotated[StrictStr | SkipJsonSchema[None], NotNull] = Field(
        None, description='Empty or missing: "Untitled".'
    )
    description: StrictStr | None = None
    if_exists: Literal["raise", "do_nothing"] | None = Field(
        None,
        description="raise (default): 409 when the id exists; do_nothing: return the existing assistant.",
    )


class AssistantPatch(Body):
    """Every field optional; each successful PATCH appends a version and makes it active."""

    graph_id: Annotated[StrictStr | SkipJsonSchema[None], NotNull] = None
    config: Annotated[AssistantConfig | SkipJsonSchema[None], NotNull] = Field(
        None, description="Replaces the whole config; {} counts as omitted."
    )
    context: Annotated[JsonObject | SkipJsonSchema[None], NotNull] = None
    metadata: Annotated[JsonObject | SkipJsonSchema[None], NotNull] = Field(
        None, description="Shallow-merged into the current metadata."
    )
    name: Annotated[StrictStr | SkipJsonSchema[None], NotNull] = None
    description: StrictStr | None = None


class AssistantFilterBody(Body):
    metadata: JsonObject | None = Field(None, description="JSON containment, nested objects included.")
    graph_id: Annotated[StrictStr | SkipJsonSchema[None], NotNull] = None
    name: Annotated[StrictStr | SkipJsonSchema[None], NotNull] = Field(
        None, description="Case-insensitive substring of the name."
    )


class AssistantSearch(AssistantFilterBody):
    limit: Annotated[StrictInt, Field(ge=1, le=1000)] = 10
    offset: Offset = 0
    sort_by: SortField | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[StrictStr] | None = None


class AssistantCount(AssistantFilterBody):
    pass


class VersionsSearch(Body):
    metadata: JsonObject | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=1000)] = 10
    offset: Offset = 0


class SetLatest(Body):
    version: StrictInt


class AssistantOut(BaseModel):
    """An assistant's active row (response shape, for the OpenAPI document)."""

    assistant_id: str
    graph_id: str
    config: JsonObject
    context: JsonObject
    metadata: JsonObject
    name: str
    description: str | None
    version: int
    created_at: str
    updated_at: str


class AssistantVersionOut(BaseModel):
    assistant_id: str
    graph_id: str
    config: JsonObject
    context: JsonObject
    metadata: JsonObject
    name: str
    description: str | None
    version: int
    created_at: str
    # graphdock's audit trail (extra fields; the SDKs ignore them).
    change: Literal["create", "update", "restore", "import"] = Field(description="How this version was made.")
    changed_by: str | None = Field(description="Who made it: the authenticated identity; null without auth.")
    restored_from: int | None = Field(description="For a restore: the version it copied.")


class RunStatsOut(BaseModel):
    """graphdock: the runs a version ran, as far as the caller may see their threads."""

    runs: int = Field(description="Runs that used this version (counted from when they started).")
    errors: int = Field(description="Of those, runs that ended in error or timeout.")
    p50_duration_ms: float | None = Field(
        description="Median time from creation to the final status over runs that ended; null if none."
    )
    p95_duration_ms: float | None = Field(description="95th percentile (nearest rank) of the same.")
    last_run_at: str | None = Field(description="When the newest of these runs was created.")


class AssistantVersionStatsOut(AssistantVersionOut):
    """An item of the versions list: a version with its run stats."""

    run_stats: RunStatsOut | None = Field(
        description="graphdock: null when the caller may not search threads (threads.search refused)."
    )


class VersionSummaryOut(BaseModel):
    """graphdock: how many versions an assistant keeps and the number its next one gets."""

    assistant_id: str
    version: int = Field(description="The active version.")
    version_count: int = Field(description="Versions kept (deleted ones are gone).")
    next_version: int = Field(description="The number the next update gets; numbers are never reused.")


class FieldChangeOut(BaseModel):
    field: Literal["graph_id", "config", "context", "metadata", "name", "description"]
    path: list[str] = Field(description="Keys below the field; [] when the whole value changed.")
    kind: Literal["added", "removed", "changed"]
    old: Any = Field(None, description="Absent for added.")
    new: Any = Field(None, description="Absent for removed.")


class DiffOut(BaseModel):
    assistant_id: str
    from_version: int
    to_version: int
    changes: list[FieldChangeOut]


class GraphSchemasOut(BaseModel):
    graph_id: str
    input_schema: JsonObject | None
    output_schema: JsonObject | None
    state_schema: JsonObject | None
    config_schema: JsonObject | None
    context_schema: JsonObject | None


class ErrorOut(BaseModel):
    detail: str
    loc: list[str | int] | None = Field(
        None,
        description="graphdock, on some 422s: where the problem is (['context', 'model_name']), as data; "
        "`detail` starts with the same path.",
    )


ASSISTANT_FIELDS = frozenset(AssistantOut.model_fields)

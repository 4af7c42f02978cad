"""Export documents: whole assistant histories as JSON, one format for files and HTTP pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from graphdock.schemas.common import Offset, UuidStr

EXPORT_FORMAT = "graphdock.assistants/v1"
JsonObject = dict[str, Any]
Version = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]


def _utc_timestamp(value: str) -> str:
    # Stored in one fixed-width UTC form so that ordering by text is ordering by time.
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO-8601 timestamp") from None
    if moment.tzinfo is None:
        raise ValueError("must carry a UTC offset")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


Timestamp = Annotated[StrictStr, AfterValidator(_utc_timestamp)]


class ExportedVersion(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Version
    graph_id: StrictStr
    config: JsonObject
    context: JsonObject
    metadata: JsonObject
    name: StrictStr
    description: StrictStr | None = None
    created_at: Timestamp
    change: Literal["create", "update", "restore", "import"] = "import"
    changed_by: StrictStr | None = None
    restored_from: Version | None = None


class ExportedAssistant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    assistant_id: UuidStr
    created_at: Timestamp
    updated_at: Timestamp
    version: Version = Field(description="The active version.")
    last_version: Version = Field(description="The highest number ever given (deleted versions included).")
    versions: list[ExportedVersion] = Field(min_length=1)


class ExportDocument(BaseModel):
    """What `graphdock assistants export` writes and `POST /assistants/import` reads."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    format: Literal["graphdock.assistants/v1"] = Field(description=f'Always "{EXPORT_FORMAT}".')
    assistants: list[ExportedAssistant]


class ImportRequest(ExportDocument):
    dry_run: StrictBool = Field(False, description="Check for conflicts and report, but write nothing.")


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    assistant_ids: list[UuidStr] | None = Field(
        None, max_length=1000, description="Only these (default: all)."
    )
    limit: Annotated[StrictInt, Field(ge=1, le=1000)] = 100
    offset: Offset = 0


class ExportPage(ExportDocument):
    exported_at: str
    next: int | None = Field(description="The offset of the next page; null on the last one.")


class ImportReportOut(BaseModel):
    created: list[str]
    replaced: list[str] = Field(
        description="Untouched default assistants that gave way to the imported history."
    )
    unchanged: list[str] = Field(
        description="Already here with the same history, or untouched defaults skipped."
    )
    dry_run: bool

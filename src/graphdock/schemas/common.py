"""Building blocks every wire model shares: JSON objects, UUIDs, offsets, the body base class."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)

JsonObject = dict[str, Any]


def _normalise_uuid(value: str) -> str:
    # Any spelling uuid.UUID accepts ("{...}", "urn:uuid:...", no dashes, upper case) is stored
    # in one canonical form, so the same assistant is never two rows.
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("must be a UUID") from None


UuidStr = Annotated[
    StrictStr, AfterValidator(_normalise_uuid), WithJsonSchema({"type": "string", "format": "uuid"})
]


def _refuse_null(value: Any) -> Any:
    # Runs only for a value the client sent: omitting the field still means its default.
    if value is None:
        raise ValueError("may be omitted, but not null")
    return value


# A field that may be omitted but not sent as null (as on the official server): null could mean
# "clear it" to one client and "leave it" to another, so it is refused, naming the field.
NotNull = BeforeValidator(_refuse_null)
# Databases count rows in signed 64-bit integers; a larger offset is a client error, not a 500.
Offset = Annotated[StrictInt, Field(ge=0, le=2**63 - 1)]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

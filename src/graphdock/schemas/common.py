"""Building blocks every wire model shares: JSON objects, UUIDs, offsets, the body base class."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr, WithJsonSchema

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
# Databases count rows in signed 64-bit integers; a larger offset is a client error, not a 500.
Offset = Annotated[StrictInt, Field(ge=0, le=2**63 - 1)]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

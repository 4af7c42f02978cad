"""The Store on the wire: request bodies and items, field names as langgraph_sdk's store client sends them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt, StrictStr, WithJsonSchema

from graphdock.schemas.common import Body, JsonObject, Offset

# Documented as the domain enforces it (domain/store.py names a bad label in its 422); the schema
# only describes, so an auth handler may still complete an empty namespace before the check.
Label = Annotated[StrictStr, WithJsonSchema({"type": "string", "minLength": 1, "pattern": "^[^.]+$"})]
Namespace = list[Label]
Limit = Annotated[StrictInt, Field(ge=1, le=1000)]
Minutes = Annotated[StrictFloat | StrictInt, Field(gt=0, le=2**31)]


class StorePut(Body):
    namespace: Namespace = Field(description="The item's namespace: non-empty labels without periods.")
    key: Annotated[StrictStr, Field(min_length=1)]
    value: JsonObject = Field(description="The item itself: a JSON object.")
    index: Literal[False] | list[StrictStr] | None = Field(
        None, description="Fields to embed for semantic search (default: store.index.fields); false: none."
    )
    ttl: Minutes | None = Field(
        None,
        description="Minutes until the item expires. Omitted: store.ttl.default_ttl; null: never.",
    )


class StoreDelete(Body):
    namespace: Namespace = Field(default_factory=list)
    key: Annotated[StrictStr, Field(min_length=1)]


class StoreSearch(Body):
    namespace_prefix: Namespace | None = None
    filter: JsonObject | None = Field(
        None, description="Equality or $eq/$ne/$gt/$gte/$lt/$lte per (dotted) field of the value."
    )
    limit: Limit = 10
    offset: Offset = 0
    query: StrictStr | None = Field(None, description="Semantic search when store.index is configured.")
    refresh_ttl: StrictBool | None = None


class StoreNamespaces(Body):
    prefix: Namespace | None = None
    suffix: Namespace | None = None
    max_depth: Annotated[StrictInt, Field(ge=1, le=1000)] | None = None
    limit: Limit = 100
    offset: Offset = 0


class ItemOut(BaseModel):
    namespace: list[str]
    key: str
    value: dict[str, Any]
    created_at: str
    updated_at: str


class SearchItemOut(ItemOut):
    score: float | None = None


class SearchItemsOut(BaseModel):
    items: list[SearchItemOut]


class NamespacesOut(BaseModel):
    namespaces: list[list[str]]

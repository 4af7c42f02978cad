"""HTTP handlers for /store: items (put, get, delete, search) and namespaces, as the SDKs' store clients call them.

Each handler builds the value an `@auth.on.store.<action>` handler sees (the official server's
shape: `namespace` as a tuple it may rewrite, e.g. prefix with the user's identity), authorizes,
and hands what the handler left to the domain, which validates it.
"""

from __future__ import annotations

from typing import Any

from langgraph.store.base import NOT_PROVIDED
from starlette.requests import Request
from starlette.responses import Response

from graphdock.api.auth import authorize
from graphdock.api.bodies import query_flag, read_body
from graphdock.api.endpoints import Endpoint, JSONResponse, QueryParam
from graphdock.domain.store import StoreItems, namespace_of
from graphdock.errors import InvalidRequest
from graphdock.schemas.store import (
    ItemOut,
    NamespacesOut,
    SearchItemsOut,
    StoreDelete,
    StoreNamespaces,
    StorePut,
    StoreSearch,
)


def service(request: Request) -> StoreItems:
    items: StoreItems = request.app.state.store
    return items


async def put_item(request: Request) -> Response:
    body = await read_body(request, StorePut)
    value: dict[str, Any] = {
        "namespace": namespace_of(body.namespace, "namespace", allow_empty=True),
        "key": body.key,
        "value": body.value,
        "index": body.index,
        "ttl": body.ttl,
    }
    visible = await authorize(request, "store", "put", value)
    # An omitted ttl takes store.ttl.default_ttl; an explicit null means "never expires".
    ttl = value["ttl"] if "ttl" in body.model_fields_set else NOT_PROVIDED
    await service(request).put(
        value["namespace"], value["key"], value["value"], index=value["index"], ttl=ttl, visible=visible
    )
    return Response(status_code=204)


async def get_item(request: Request) -> Response:
    query = request.query_params
    key = query.get("key")
    if not key:
        raise InvalidRequest("key: required (?key=...)")
    # The SDKs send the namespace as its labels joined with "." (labels never contain one).
    namespace = namespace_of(query.get("namespace", "").split("."), "namespace")
    refresh = query_flag(request, "refresh_ttl") if "refresh_ttl" in query else None
    value: dict[str, Any] = {"namespace": namespace, "key": key, "refresh_ttl": refresh}
    visible = await authorize(request, "store", "get", value)
    item = await service(request).get(
        value["namespace"], value["key"], refresh_ttl=value["refresh_ttl"], visible=visible
    )
    # A missing item is 200 null, as on the official server (the SDKs return None / null).
    return JSONResponse(item)


async def delete_item(request: Request) -> Response:
    body = await read_body(request, StoreDelete)
    value: dict[str, Any] = {
        "namespace": namespace_of(body.namespace, "namespace", allow_empty=True),
        "key": body.key,
    }
    visible = await authorize(request, "store", "delete", value)
    await service(request).delete(value["namespace"], value["key"], visible=visible)
    return Response(status_code=204)


async def search_items(request: Request) -> Response:
    body = await read_body(request, StoreSearch)
    value: dict[str, Any] = {
        "namespace": namespace_of(body.namespace_prefix or [], "namespace_prefix", allow_empty=True),
        "filter": body.filter,
        "limit": body.limit,
        "offset": body.offset,
        "query": body.query,
        "refresh_ttl": body.refresh_ttl,
    }
    visible = await authorize(request, "store", "search", value)
    items = await service(request).search(
        value["namespace"],
        filter=value["filter"],
        limit=value["limit"],
        offset=value["offset"],
        query=value["query"],
        refresh_ttl=value["refresh_ttl"],
        visible=visible,
    )
    return JSONResponse({"items": items})


async def list_namespaces(request: Request) -> Response:
    body = await read_body(request, StoreNamespaces)
    value: dict[str, Any] = {
        "namespace": namespace_of(body.prefix, "prefix", allow_empty=True) if body.prefix else None,
        "suffix": namespace_of(body.suffix, "suffix", allow_empty=True) if body.suffix else None,
        "max_depth": body.max_depth,
        "limit": body.limit,
        "offset": body.offset,
    }
    # A filter from the handler has nothing to match here (namespaces have no value): handlers
    # scope listings by rewriting the prefix.
    await authorize(request, "store", "list_namespaces", value)
    namespaces = await service(request).list_namespaces(
        value["namespace"],
        value["suffix"],
        max_depth=value["max_depth"],
        limit=value["limit"],
        offset=value["offset"],
    )
    return JSONResponse({"namespaces": namespaces})


_ITEMS = "/store/items"

ENDPOINTS = (
    Endpoint(
        "PUT",
        _ITEMS,
        put_item,
        "Store or replace an item (a JSON object) under a namespace and key",
        StorePut,
        status=204,
        errors=(422,),
    ),
    Endpoint(
        "GET",
        _ITEMS,
        get_item,
        "One item, or null when there is none (or it expired)",
        None,
        {"anyOf": [ItemOut.model_json_schema(), {"type": "null"}]},
        errors=(422,),
        query=(
            QueryParam("key", {"type": "string", "minLength": 1}, "The item's key.", required=True),
            QueryParam(
                "namespace",
                {"type": "string", "minLength": 1},
                "The namespace's labels joined with '.'.",
                required=True,
            ),
            QueryParam(
                "refresh_ttl",
                {"type": "boolean"},
                "Restart the item's TTL (default: store.ttl.refresh_on_read).",
            ),
        ),
    ),
    Endpoint(
        "DELETE",
        _ITEMS,
        delete_item,
        "Delete an item (204 whether or not it existed)",
        StoreDelete,
        status=204,
        errors=(422,),
    ),
    Endpoint(
        "POST",
        _ITEMS + "/search",
        search_items,
        "Items under a namespace prefix: filtered, newest first, or ranked by meaning with `query`",
        StoreSearch,
        SearchItemsOut,
        errors=(422,),
    ),
    Endpoint(
        "POST",
        "/store/namespaces",
        list_namespaces,
        "The namespaces that hold items, by prefix, suffix and depth",
        StoreNamespaces,
        NamespacesOut,
        errors=(422,),
    ),
)

"""Bad store input is a 4xx naming the problem, never a 500, and nothing is stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

PUT = {"namespace": ["docs"], "key": "k", "value": {"a": 1}}

BAD_PUTS: list[tuple[dict[str, Any], str]] = [
    ({**PUT, "value": [1, 2]}, "value"),
    ({**PUT, "value": "text"}, "value"),
    ({**PUT, "value": None}, "value"),
    ({"namespace": ["docs"], "key": "k"}, "value"),
    ({**PUT, "namespace": []}, "at least one label"),
    ({**PUT, "namespace": "docs"}, "namespace"),
    ({**PUT, "namespace": ["docs", ""]}, "non-empty"),
    ({**PUT, "namespace": ["a.b"]}, "period"),
    ({**PUT, "namespace": ["docs", 3]}, "namespace"),
    ({**PUT, "namespace": ["langgraph", "x"]}, "reserved"),
    ({**PUT, "key": ""}, "key"),
    ({**PUT, "key": 5}, "key"),
    ({**PUT, "ttl": 0}, "ttl"),
    ({**PUT, "ttl": -1}, "ttl"),
    ({**PUT, "ttl": "soon"}, "ttl"),
    ({**PUT, "index": True}, "index"),
    ({**PUT, "index": "text"}, "index"),
    ({**PUT, "value": {"s": "nul\u0000"}}, "NUL"),
]


@pytest.mark.parametrize(("body", "named"), BAD_PUTS)
async def test_a_bad_put_is_422_and_stores_nothing(
    http_store: httpx.AsyncClient, ns: list[str], body: dict[str, Any], named: str
) -> None:
    if isinstance(body.get("namespace"), list) and body["namespace"] and body["namespace"][0] == "docs":
        body = {**body, "namespace": [*ns, *body["namespace"][1:]]}
    r = await http_store.put("/store/items", json=body)
    assert r.status_code == 422, r.text
    assert named in r.json()["detail"]
    listed = await http_store.post("/store/items/search", json={"namespace_prefix": ns})
    assert listed.json() == {"items": []}


BAD_SEARCHES: list[tuple[dict[str, Any], str]] = [
    ({"namespace_prefix": ["a.b"]}, "period"),
    ({"namespace_prefix": [""]}, "non-empty"),
    ({"filter": {"n": {"$foo": 1}}}, "$foo"),
    ({"filter": {"n": {}}}, "operators"),
    ({"filter": {"x y": 1}}, "x y"),
    ({"filter": {"a'); DROP TABLE store; --": 1}}, "filter"),
    ({"filter": [1]}, "filter"),
    ({"limit": 0}, "limit"),
    ({"limit": 1001}, "limit"),
    ({"offset": -1}, "offset"),
    ({"query": 5}, "query"),
    ({"refresh_ttl": "yes"}, "refresh_ttl"),
]


@pytest.mark.parametrize(("body", "named"), BAD_SEARCHES)
async def test_a_bad_search_is_422(http_store: httpx.AsyncClient, body: dict[str, Any], named: str) -> None:
    r = await http_store.post("/store/items/search", json=body)
    assert r.status_code == 422, r.text
    assert named in r.json()["detail"]


BAD_LISTINGS: list[tuple[dict[str, Any], str]] = [
    ({"prefix": ["a.b"]}, "period"),
    ({"suffix": [""]}, "non-empty"),
    ({"max_depth": 0}, "max_depth"),
    ({"limit": 0}, "limit"),
    ({"offset": -5}, "offset"),
]


@pytest.mark.parametrize(("body", "named"), BAD_LISTINGS)
async def test_a_bad_namespace_listing_is_422(
    http_store: httpx.AsyncClient, body: dict[str, Any], named: str
) -> None:
    r = await http_store.post("/store/namespaces", json=body)
    assert r.status_code == 422, r.text
    assert named in r.json()["detail"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"namespace": "docs"}, "key"),
        ({"key": "k"}, "namespace"),
        ({"namespace": "docs..x", "key": "k"}, "non-empty"),
        ({"namespace": "docs", "key": "k", "refresh_ttl": "maybe"}, "refresh_ttl"),
    ],
)
async def test_a_bad_get_is_422(http_store: httpx.AsyncClient, params: dict[str, str], named: str) -> None:
    r = await http_store.get("/store/items", params=params)
    assert r.status_code == 422, r.text
    assert named in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"namespace": ["docs"]}, "key"),
        ({"namespace": [], "key": "k"}, "at least one label"),
        ({"namespace": ["a.b"], "key": "k"}, "period"),
    ],
)
async def test_a_bad_delete_is_422(http_store: httpx.AsyncClient, body: dict[str, Any], named: str) -> None:
    r = await http_store.request("DELETE", "/store/items", json=body)
    assert r.status_code == 422, r.text
    assert named in r.json()["detail"]


async def test_wrong_methods_are_405(http_store: httpx.AsyncClient) -> None:
    r = await http_store.get("/store/items/search")
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == "POST"
    r = await http_store.post("/store/items", json=PUT)
    assert r.status_code == 405, r.text

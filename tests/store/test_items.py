"""The Store through the official SDK on a real server: every route, filters, namespaces, a graph's memories."""

from __future__ import annotations

from datetime import datetime

import httpx
from langgraph_sdk.client import LangGraphClient

from tests.conftest import RunningServer


async def test_put_get_delete_an_item(sdk: LangGraphClient, ns: list[str]) -> None:
    await sdk.store.put_item([*ns, "prefs"], "theme", {"color": "teal", "size": 3})
    item = await sdk.store.get_item([*ns, "prefs"], "theme")
    assert item is not None
    assert item["namespace"] == [*ns, "prefs"]
    assert item["key"] == "theme"
    assert item["value"] == {"color": "teal", "size": 3}
    # ISO-8601 with an offset, on both backends (SQLite's own timestamps are naive).
    assert datetime.fromisoformat(item["created_at"]).tzinfo is not None
    assert datetime.fromisoformat(item["updated_at"]) >= datetime.fromisoformat(item["created_at"])

    await sdk.store.put_item([*ns, "prefs"], "theme", {"color": "plum"})
    replaced = await sdk.store.get_item([*ns, "prefs"], "theme")
    assert replaced is not None
    assert replaced["value"] == {"color": "plum"}

    await sdk.store.delete_item([*ns, "prefs"], "theme")
    assert await sdk.store.get_item([*ns, "prefs"], "theme") is None
    # Deleting what is not there is not an error (as on the official server).
    await sdk.store.delete_item([*ns, "prefs"], "theme")


async def test_a_missing_item_is_null(http_store: httpx.AsyncClient, ns: list[str]) -> None:
    r = await http_store.get("/store/items", params={"namespace": ".".join(ns), "key": "nothing"})
    assert r.status_code == 200, r.text
    assert r.json() is None


async def test_search_filters_pages_and_scopes_by_prefix(sdk: LangGraphClient, ns: list[str]) -> None:
    for n in range(5):
        await sdk.store.put_item(
            [*ns, "docs", f"g{n % 2}"],
            f"d{n}",
            {"n": n, "kind": "even" if n % 2 == 0 else "odd", "meta": {"lang": "en" if n < 3 else "fr"}},
        )
    await sdk.store.put_item([*ns, "other"], "x", {"n": 100})

    everything = (await sdk.store.search_items([*ns, "docs"], limit=100))["items"]
    assert sorted(i["key"] for i in everything) == ["d0", "d1", "d2", "d3", "d4"]
    assert all(i.get("score") is None for i in everything)  # no query: a listing, not a ranking

    evens = (await sdk.store.search_items([*ns, "docs"], filter={"kind": "even"}, limit=100))["items"]
    assert sorted(i["key"] for i in evens) == ["d0", "d2", "d4"]
    big = (await sdk.store.search_items([*ns], filter={"n": {"$gte": 3}}, limit=100))["items"]
    assert sorted(i["key"] for i in big) == ["d3", "d4", "x"]
    ne = (await sdk.store.search_items([*ns, "docs"], filter={"n": {"$ne": 0, "$lt": 3}}, limit=100))["items"]
    assert sorted(i["key"] for i in ne) == ["d1", "d2"]
    nested = (await sdk.store.search_items([*ns, "docs"], filter={"meta.lang": "fr"}, limit=100))["items"]
    assert sorted(i["key"] for i in nested) == ["d3", "d4"]
    group = (await sdk.store.search_items([*ns, "docs", "g1"], limit=100))["items"]
    assert sorted(i["key"] for i in group) == ["d1", "d3"]

    pages = [
        (await sdk.store.search_items([*ns, "docs"], limit=2, offset=offset))["items"] for offset in (0, 2, 4)
    ]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sorted(i["key"] for p in pages for i in p) == ["d0", "d1", "d2", "d3", "d4"]


async def test_a_prefix_matches_whole_labels_only(sdk: LangGraphClient, ns: list[str]) -> None:
    await sdk.store.put_item([*ns, "foo"], "a", {"v": 1})
    await sdk.store.put_item([*ns, "foobar"], "b", {"v": 2})
    found = (await sdk.store.search_items([*ns, "foo"]))["items"]
    assert [i["key"] for i in found] == ["a"]


async def test_list_namespaces_by_prefix_suffix_and_depth(sdk: LangGraphClient, ns: list[str]) -> None:
    for path in (
        ["users", "u1", "notes"],
        ["users", "u2", "notes"],
        ["users", "u2", "prefs"],
        ["teams", "t1"],
    ):
        await sdk.store.put_item([*ns, *path], "k", {"v": 1})

    listed = (await sdk.store.list_namespaces(prefix=ns))["namespaces"]
    assert sorted(listed) == sorted(
        [
            [*ns, "users", "u1", "notes"],
            [*ns, "users", "u2", "notes"],
            [*ns, "users", "u2", "prefs"],
            [*ns, "teams", "t1"],
        ]
    )
    notes = (await sdk.store.list_namespaces(prefix=ns, suffix=["notes"]))["namespaces"]
    assert sorted(notes) == [[*ns, "users", "u1", "notes"], [*ns, "users", "u2", "notes"]]
    shallow = (await sdk.store.list_namespaces(prefix=ns, max_depth=2))["namespaces"]
    assert sorted(shallow) == [[*ns, "teams"], [*ns, "users"]]
    page = (await sdk.store.list_namespaces(prefix=ns, limit=1, offset=1))["namespaces"]
    assert len(page) == 1
    assert page[0] in listed


async def test_index_false_and_explicit_null_ttl_are_accepted(
    http_store: httpx.AsyncClient, ns: list[str]
) -> None:
    body = {"namespace": ns, "key": "k", "value": {"text": "x"}, "index": False, "ttl": None}
    r = await http_store.put("/store/items", json=body)
    assert r.status_code == 204, r.text
    r = await http_store.put("/store/items", json={**body, "index": ["text"], "ttl": 5})
    assert r.status_code == 204, r.text
    r = await http_store.get(
        "/store/items", params={"namespace": ".".join(ns), "key": "k", "refresh_ttl": "true"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["value"] == {"text": "x"}


async def test_a_graph_remembers_and_recalls_through_the_store(sdk: LangGraphClient, ns: list[str]) -> None:
    user = ns[0]
    first = await sdk.runs.wait(None, "memory", input={"user_id": user, "remember": "I like green tea"})
    assert isinstance(first, dict)
    assert first["recalled"] == ["I like green tea"]
    assert first["count"] == 1
    thread = await sdk.threads.create()
    second = await sdk.runs.wait(
        thread["thread_id"], "memory", input={"user_id": user, "remember": "I live in Lyon", "recall": "tea"}
    )
    assert isinstance(second, dict)
    assert second["count"] == 2
    assert sorted(second["recalled"]) == ["I like green tea", "I live in Lyon"]

    # What the graph wrote is an ordinary item to the API.
    memories = (await sdk.store.search_items(["memories", user]))["items"]
    assert sorted(m["value"]["text"] for m in memories) == ["I like green tea", "I live in Lyon"]
    assert [m["namespace"] for m in memories] == [["memories", user]] * 2


async def test_store_routes_are_in_openapi(memory_server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=memory_server.url) as http:
        paths = (await http.get("/openapi.json")).json()["paths"]
    assert set(paths["/store/items"]) >= {"put", "get", "delete"}
    assert "post" in paths["/store/items/search"]
    assert "post" in paths["/store/namespaces"]


async def test_a_huge_float_reads_back_as_it_was_sent(http_store: httpx.AsyncClient, ns: list[str]) -> None:
    # PostgreSQL's jsonb keeps 1e20 as an integral number: it must not come back as an integer
    # no JSON encoder can write (found by fuzzing: a 500 on every search that met it).
    body = {"namespace": ns, "key": "big", "value": {"n": 1e20, "m": -1.5e300}}
    r = await http_store.put(
        "/store/items",
        content=b'{"namespace": ["%s"], "key": "big", "value": {"n": 1e20, "m": -1.5e300}}' % ns[0].encode(),
    )
    assert r.status_code == 204, r.text
    r = await http_store.post("/store/items/search", json={"namespace_prefix": ns})
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["value"] == body["value"]

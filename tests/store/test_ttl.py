"""TTL: an expired item is never returned by get, search or the namespace listing, sweep or no sweep.

The official in-memory store keeps returning an expired item until its sweep runs; graphdock's
never does. Expiry is waited for by polling with a generous deadline, never by timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.conftest import RunningServer
from tests.postgres import backend
from tests.store.conftest import eventually, project


async def _gone(sdk: LangGraphClient, ns: list[str], key: str) -> bool:
    # Without refreshing: this server refreshes on read (langgraph.json), which would re-arm the TTL.
    return await sdk.store.get_item(ns, key, refresh_ttl=False) is None


async def test_an_item_past_its_ttl_is_never_returned(sdk: LangGraphClient, ns: list[str]) -> None:
    # 0.01 minutes; the server sweeps once a minute (langgraph.json), so reads must hide it first.
    await sdk.store.put_item([*ns, "short"], "brief", {"v": 1}, ttl=0.01)
    await sdk.store.put_item([*ns, "long"], "lasting", {"v": 2})
    await eventually(lambda: _gone(sdk, [*ns, "short"], "brief"), "the item expired")

    found = (await sdk.store.search_items(ns, limit=100))["items"]
    assert [i["key"] for i in found] == ["lasting"]
    assert (await sdk.store.list_namespaces(prefix=ns))["namespaces"] == [[*ns, "long"]]
    assert (await sdk.store.get_item([*ns, "long"], "lasting")) is not None


async def test_default_ttl_applies_when_a_put_names_none_and_null_means_never(
    start_server: Callable[..., RunningServer], ns: list[str]
) -> None:
    # ttl.json: default_ttl 0.02 minutes, sweep every 60 minutes (never, during this test).
    server = start_server(project("ttl.json"))
    sdk = get_client(url=server.url)
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.put(
            "/store/items", json={"namespace": ns, "key": "forever", "value": {"v": 0}, "ttl": None}
        )
        assert r.status_code == 204, r.text
    await sdk.store.put_item(ns, "default", {"v": 1})
    await sdk.store.put_item(ns, "longer", {"v": 2}, ttl=600)
    await eventually(lambda: _gone(sdk, ns, "default"), "the item with the default TTL expired")

    found = (await sdk.store.search_items(ns, limit=100))["items"]
    assert sorted(i["key"] for i in found) == ["forever", "longer"]
    await sdk.aclose()


async def test_a_memory_written_by_a_graph_takes_the_default_ttl(
    start_server: Callable[..., RunningServer], ns: list[str]
) -> None:
    server = start_server(project("ttl.json"))
    sdk = get_client(url=server.url)
    result = await sdk.runs.wait(None, "memory", input={"user_id": ns[0], "remember": "fleeting"})
    assert isinstance(result, dict)
    assert result["count"] == 1

    async def forgotten() -> bool:
        return (await sdk.store.search_items(["memories", ns[0]]))["items"] == []

    await eventually(forgotten, "the graph's memory expired")
    await sdk.aclose()


@pytest.mark.skipif(
    backend() == "postgres",
    reason="LangGraph's PostgreSQL store re-arms a TTL in whole minutes (an integer column): "
    "compatibility.md says so; one minute is too long to wait here",
)
async def test_a_refreshing_read_keeps_an_item_alive_past_its_ttl(
    sdk: LangGraphClient, ns: list[str]
) -> None:
    # 0.05 minutes (3 s). One item is read with a refresh every half second for three times its
    # TTL, its twin is left alone: the twin expires, the read one does not.
    await sdk.store.put_item(ns, "read", {"v": 1}, ttl=0.05)
    await sdk.store.put_item(ns, "unread", {"v": 2}, ttl=0.05)
    end = asyncio.get_running_loop().time() + 9
    while asyncio.get_running_loop().time() < end:
        assert await sdk.store.get_item(ns, "read", refresh_ttl=True) is not None
        await asyncio.sleep(0.5)
    assert await _gone(sdk, ns, "unread")

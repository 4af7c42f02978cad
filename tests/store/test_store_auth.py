"""Authorization on the Store: `@auth.on.store` rewriting namespaces per user (tests/graphs/memory/auth.py),
a handler refusing writes, and the built-in API keys."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import AuthenticationError, PermissionDeniedError

from tests.conftest import TESTS, RunningServer
from tests.store.conftest import project


@pytest.fixture
def auth_server(start_server: Callable[..., RunningServer]) -> RunningServer:
    return start_server(project("auth.json"))


@pytest.fixture
async def as_user(auth_server: RunningServer) -> AsyncIterator[Callable[[str], LangGraphClient]]:
    clients: list[LangGraphClient] = []

    def client(name: str) -> LangGraphClient:
        sdk = get_client(url=auth_server.url, headers={"Authorization": f"Bearer token-{name}"})
        clients.append(sdk)
        return sdk

    yield client
    for sdk in clients:
        await sdk.aclose()


async def test_each_user_sees_only_their_own_items(as_user: Callable[[str], LangGraphClient]) -> None:
    alice, bob = as_user("alice"), as_user("bob")
    await alice.store.put_item(["notes"], "plan", {"text": "alice's plan"})
    await bob.store.put_item(["notes"], "plan", {"text": "bob's plan"})

    # The same namespace and key, two items: the handler put each under its owner's identity.
    mine = await alice.store.get_item(["notes"], "plan")
    assert mine is not None
    assert mine["value"] == {"text": "alice's plan"}
    assert mine["namespace"] == ["alice", "notes"]
    bobs = await bob.store.get_item(["notes"], "plan")
    assert bobs is not None
    assert bobs["value"] == {"text": "bob's plan"}

    # Naming another user's namespace outright still lands in one's own.
    assert await bob.store.get_item(["alice", "notes"], "plan") is None
    everything_bob_sees = (await bob.store.search_items([], limit=100))["items"]
    assert [i["value"]["text"] for i in everything_bob_sees] == ["bob's plan"]
    assert (await bob.store.list_namespaces())["namespaces"] == [["bob", "notes"]]

    # bob deleting "alice's" item deletes (nothing in) his own namespace; alice keeps hers.
    await bob.store.delete_item(["alice", "notes"], "plan")
    assert await alice.store.get_item(["notes"], "plan") is not None
    await bob.store.delete_item(["notes"], "plan")
    assert await bob.store.get_item(["notes"], "plan") is None
    assert await alice.store.get_item(["notes"], "plan") is not None


async def test_search_results_carry_the_namespace_the_handler_wrote(
    as_user: Callable[[str], LangGraphClient],
) -> None:
    alice = as_user("alice")
    await alice.store.put_item(["memories"], "m1", {"text": "via the API"})
    found = (await alice.store.search_items(["memories"]))["items"]
    assert [(i["namespace"], i["key"]) for i in found] == [(["alice", "memories"], "m1")]


async def test_a_handler_may_refuse_writes(as_user: Callable[[str], LangGraphClient]) -> None:
    carol = as_user("carol")
    with pytest.raises(PermissionDeniedError, match="carol may only read"):
        await carol.store.put_item(["notes"], "x", {"v": 1})
    with pytest.raises(PermissionDeniedError):
        await carol.store.delete_item(["notes"], "x")
    assert (await carol.store.search_items([]))["items"] == []


async def test_store_routes_need_credentials(auth_server: RunningServer) -> None:
    anonymous = get_client(url=auth_server.url)
    with pytest.raises(AuthenticationError):
        await anonymous.store.put_item(["notes"], "x", {"v": 1})
    with pytest.raises(AuthenticationError):
        await anonymous.store.search_items([])
    await anonymous.aclose()


async def test_api_keys_guard_the_store(start_server: Callable[..., RunningServer]) -> None:
    server = start_server(project("langgraph.json"), api_keys="ops:store-key-123456")
    keyed = get_client(url=server.url, api_key="store-key-123456")
    await keyed.store.put_item(["shared"], "k", {"v": 1})
    item = await keyed.store.get_item(["shared"], "k")
    assert item is not None
    assert item["namespace"] == ["shared"]  # keys do not scope namespaces: every holder is trusted
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post("/store/items/search", json={})
        assert r.status_code == 401, r.text
        r = await http.post("/store/items/search", json={}, headers={"x-api-key": "wrong-key-000"})
        assert r.status_code == 401, r.text
    await keyed.aclose()


async def test_a_handler_filter_stamps_puts_and_hides_other_owners_items(
    start_server: Callable[..., RunningServer],
) -> None:
    # tests/graphs/auth: one `@auth.on` handler answering every action with {"owner": identity}.
    server = start_server(TESTS / "graphs" / "auth" / "langgraph.json")
    alice = get_client(url=server.url, headers={"Authorization": "Bearer token-alice"})
    bob = get_client(url=server.url, headers={"Authorization": "Bearer token-bob"})
    await alice.store.put_item(["team"], "doc", {"text": "alice wrote this"})
    item = await alice.store.get_item(["team"], "doc")
    assert item is not None
    assert item["value"] == {"text": "alice wrote this", "owner": "alice"}

    # The same namespace for bob, but alice's item is not his to read, list, overwrite or delete.
    assert await bob.store.get_item(["team"], "doc") is None
    assert (await bob.store.search_items(["team"]))["items"] == []
    with pytest.raises(PermissionDeniedError):
        await bob.store.put_item(["team"], "doc", {"text": "bob's now"})
    await bob.store.delete_item(["team"], "doc")
    await bob.store.put_item(["team"], "memo", {"text": "bob's memo"})
    assert [i["key"] for i in (await bob.store.search_items(["team"]))["items"]] == ["memo"]
    kept = await alice.store.get_item(["team"], "doc")
    assert kept is not None
    assert kept["value"]["text"] == "alice wrote this"
    assert [i["key"] for i in (await alice.store.search_items(["team"], limit=1))["items"]] == ["doc"]
    await alice.aclose()
    await bob.aclose()

"""Authentication and per-owner authorization on every route, with real langgraph_sdk.Auth handlers.

The server serves tests/graphs/auth/langgraph.json, whose auth.py stamps `metadata.owner` on what a
user creates and filters everything else by it (the LangGraph docs' pattern). Two users each do
everything with their own resources and nothing with the other's; a request without credentials
gets 401 on every route the OpenAPI document lists. Runs on SQLite and, in `make test`'s second
pass, on PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import AuthenticationError, NotFoundError, PermissionDeniedError

from tests.conftest import TESTS, RunningServer, serve, settings_for

AUTH_PROJECT = TESTS / "graphs" / "auth" / "langgraph.json"
USERS = ("alice", "bob")


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serve(settings_for(tmp_path_factory.mktemp("auth") / "graphdock.sqlite3", AUTH_PROJECT)) as running:
        yield running


def _headers(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer token-{user}"}


@pytest.fixture
async def clients(auth_server: RunningServer) -> AsyncIterator[dict[str, LangGraphClient]]:
    made = {u: get_client(url=auth_server.url, headers=_headers(u), api_key=None) for u in (*USERS, "carol")}
    yield made
    for client in made.values():
        await client.aclose()


@pytest.fixture
async def raw(auth_server: RunningServer) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    made = {u: httpx.AsyncClient(base_url=auth_server.url, headers=_headers(u), timeout=30) for u in USERS}
    made["nobody"] = httpx.AsyncClient(base_url=auth_server.url, timeout=30)
    yield made
    for client in made.values():
        await client.aclose()


@dataclass
class Owned:
    assistant_id: str
    thread_id: str
    run_id: str


async def _own(client: LangGraphClient, user: str) -> Owned:
    """An assistant at version 2, a thread, and a finished run: what a user makes in a session."""
    # Claiming someone else's ownership does not stick: the handler stamps the creator.
    assistant = await client.assistants.create("echo", metadata={"owner": "mallory"}, name=f"{user}'s echo")
    assert assistant["metadata"]["owner"] == user
    await client.assistants.update(assistant["assistant_id"], metadata={"note": "second"})
    thread = await client.threads.create(metadata={"topic": "t"})
    assert thread["metadata"]["owner"] == user
    run = await client.runs.create(thread["thread_id"], assistant["assistant_id"], input={"text": user})
    await client.runs.join(thread["thread_id"], run["run_id"])
    return Owned(assistant["assistant_id"], thread["thread_id"], run["run_id"])


@pytest.mark.parametrize("user", USERS)
async def test_a_user_does_everything_with_their_own_resources(
    clients: dict[str, LangGraphClient], raw: dict[str, httpx.AsyncClient], user: str
) -> None:
    client, http = clients[user], raw[user]
    mine = await _own(client, user)
    a, t, r = mine.assistant_id, mine.thread_id, mine.run_id

    assert (await client.assistants.get(a))["version"] == 2
    versions = await client.assistants.get_versions(a)
    assert [v["version"] for v in versions] == [2, 1]
    # The audit trail names who made each version.
    assert [v["changed_by"] for v in versions] == [user, user]  # type: ignore[typeddict-item]
    assert (await client.assistants.set_latest(a, 1))["version"] == 1
    assert (await client.assistants.set_latest(a, 2))["version"] == 2
    found = await client.assistants.search(graph_id="echo", limit=1000)
    assert a in {x["assistant_id"] for x in found}
    assert {x["metadata"]["owner"] for x in found} == {user}
    assert await client.assistants.count(graph_id="echo") == len(found)
    assert (await client.assistants.get_graph(a))["nodes"]
    assert (await client.assistants.get_schemas(a))["graph_id"] == "echo"
    assert await client.assistants.get_subgraphs(a) == {}
    for path in (f"/assistants/{a}/versions/1", f"/assistants/{a}/diff?from=1"):
        assert (await http.get(path)).status_code == 200, path
    restored = await http.post(f"/assistants/{a}/versions/1/restore")
    assert restored.json()["version"] == 3, restored.text
    assert (await client.assistants.get_versions(a))[0]["changed_by"] == user  # type: ignore[typeddict-item]
    assert (await http.delete(f"/assistants/{a}/versions/1")).status_code == 204

    assert (await client.threads.get(t))["metadata"]["owner"] == user
    assert (await client.threads.update(t, metadata={"topic": "u"}))["metadata"]["topic"] == "u"
    threads = await client.threads.search(limit=1000)
    assert t in {x["thread_id"] for x in threads}
    assert {x["metadata"]["owner"] for x in threads} == {user}
    assert (await client.threads.get_state(t))["values"]["text"] == user
    assert await client.threads.get_history(t)
    copy = await client.threads.copy(t)
    assert copy["metadata"]["owner"] == user

    assert [x["run_id"] for x in await client.runs.list(t)] == [r]
    assert (await client.runs.get(t, r))["status"] == "success"
    assert (await client.runs.join(t, r))["text"] == user
    events = [e.event async for e in client.runs.stream(t, a, input={"text": "again"})]
    assert events[0] == "metadata"
    assert "values" in events
    assert (await client.runs.wait(None, a, input={"text": "stateless"}))["text"] == "stateless"  # type: ignore[index]
    assert (await client.runs.wait(t, a, input={"text": "wait"}))["text"] == "wait"  # type: ignore[index]
    await client.runs.cancel(t, r)  # a finished run: nothing to stop, but allowed
    await client.runs.delete(t, r)
    await client.threads.delete(copy["thread_id"])
    await client.threads.delete(t)
    await client.assistants.delete(a)
    with pytest.raises(NotFoundError):
        await client.assistants.get(a)


def _others_routes(theirs: Owned, mine: Owned) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every route that names a resource, aimed at someone else's."""
    a, t, r = theirs.assistant_id, theirs.thread_id, theirs.run_id
    run_on_theirs = {"assistant_id": mine.assistant_id, "input": {"text": "x"}}
    their_assistant = {"assistant_id": a, "input": {"text": "x"}}
    return [
        ("GET", f"/assistants/{a}", None),
        ("PATCH", f"/assistants/{a}", {"metadata": {"owner": "me"}}),
        ("DELETE", f"/assistants/{a}", None),
        ("POST", f"/assistants/{a}/versions", {}),
        ("POST", f"/assistants/{a}/latest", {"version": 1}),
        ("GET", f"/assistants/{a}/graph", None),
        ("GET", f"/assistants/{a}/schemas", None),
        ("GET", f"/assistants/{a}/subgraphs", None),
        ("GET", f"/assistants/{a}/subgraphs/x", None),
        ("GET", f"/assistants/{a}/versions/1", None),
        ("DELETE", f"/assistants/{a}/versions/1", None),
        ("POST", f"/assistants/{a}/versions/1/restore", None),
        ("GET", f"/assistants/{a}/diff?from=1", None),
        ("GET", f"/threads/{t}", None),
        ("PATCH", f"/threads/{t}", {"metadata": {"owner": "me"}}),
        ("DELETE", f"/threads/{t}", None),
        ("POST", f"/threads/{t}/copy", None),
        ("GET", f"/threads/{t}/state", None),
        ("POST", f"/threads/{t}/state", {"values": {"text": "mine now"}}),
        ("POST", f"/threads/{t}/state/checkpoint", {"checkpoint": {}}),
        ("POST", f"/threads/{t}/history", {}),
        ("GET", f"/threads/{t}/history", None),
        ("POST", f"/threads/{t}/runs", run_on_theirs),
        ("POST", f"/threads/{t}/runs/wait", run_on_theirs),
        ("POST", f"/threads/{t}/runs/stream", run_on_theirs),
        ("POST", f"/threads/{mine.thread_id}/runs/wait", their_assistant),
        ("POST", "/runs/wait", their_assistant),
        ("POST", "/runs/stream", their_assistant),
        ("POST", "/runs", their_assistant),
        ("GET", f"/threads/{t}/runs", None),
        ("GET", f"/threads/{t}/runs/{r}", None),
        ("GET", f"/threads/{t}/runs/{r}/join", None),
        ("GET", f"/threads/{t}/runs/{r}/stream", None),
        ("POST", f"/threads/{t}/runs/{r}/cancel", None),
        ("DELETE", f"/threads/{t}/runs/{r}", None),
    ]


@pytest.mark.parametrize(("actor", "owner"), [("alice", "bob"), ("bob", "alice")])
async def test_a_user_can_do_nothing_with_another_users_resources(
    clients: dict[str, LangGraphClient], raw: dict[str, httpx.AsyncClient], actor: str, owner: str
) -> None:
    theirs = await _own(clients[owner], owner)
    mine = await _own(clients[actor], actor)
    before = await clients[owner].assistants.get(theirs.assistant_id)
    http = raw[actor]
    for method, path, body in _others_routes(theirs, mine):
        response = await http.request(method, path, json=body)
        # Forbidden looks exactly like missing: no one learns what exists.
        assert response.status_code == 404, f"{method} {path}: {response.status_code} {response.text}"
        assert response.json()["detail"], f"{method} {path}"

    # Lists and counts never show another user's resources.
    assistants = await clients[actor].assistants.search(limit=1000)
    assert theirs.assistant_id not in {x["assistant_id"] for x in assistants}
    assert {x["metadata"].get("owner") for x in assistants} == {actor}
    assert await clients[actor].assistants.count() == len(assistants)
    threads = await clients[actor].threads.search(limit=1000)
    assert theirs.thread_id not in {x["thread_id"] for x in threads}
    assert await clients[actor].threads.count() == len(threads)
    assert theirs.thread_id not in {
        x["thread_id"] for x in await clients[actor].threads.search(ids=[theirs.thread_id])
    }
    pruned = await http.post("/threads/prune", json={"thread_ids": [theirs.thread_id], "strategy": "delete"})
    assert pruned.json() == {"pruned_count": 0}, pruned.text
    assert (await http.post("/runs/cancel", json={"thread_id": theirs.thread_id})).status_code == 204
    # Creating with someone else's id is refused, and never hands their row back.
    taken = await http.post(
        "/assistants",
        json={"graph_id": "echo", "assistant_id": theirs.assistant_id, "if_exists": "do_nothing"},
    )
    assert taken.status_code == 409, taken.text

    # And nothing of theirs changed.
    owner_client = clients[owner]
    assert await owner_client.assistants.get(theirs.assistant_id) == before
    assert [v["version"] for v in await owner_client.assistants.get_versions(theirs.assistant_id)] == [2, 1]
    assert (await owner_client.threads.get(theirs.thread_id))["metadata"]["owner"] == owner
    assert [x["run_id"] for x in await owner_client.runs.list(theirs.thread_id)] == [theirs.run_id]


@pytest.mark.parametrize("claimed", [{"owner": "alice"}, {"owner": {"$eq": "alice"}}])
async def test_a_user_cannot_hand_their_rows_to_another_by_editing_metadata(
    clients: dict[str, LangGraphClient], raw: dict[str, httpx.AsyncClient], claimed: dict[str, Any]
) -> None:
    bob, alice = clients["bob"], clients["alice"]
    mine = await _own(bob, "bob")
    assistant = await raw["bob"].patch(
        f"/assistants/{mine.assistant_id}", json={"metadata": {**claimed, "k": 1}, "name": "Friendly"}
    )
    assert assistant.status_code == 200, assistant.text
    thread = await raw["bob"].patch(f"/threads/{mine.thread_id}", json={"metadata": {**claimed, "k": 1}})
    assert thread.status_code == 200, thread.text
    # The writer's filter is stamped, as on create: the rows stay bob's, with the rest of the edit.
    assert assistant.json()["metadata"] == {"owner": "bob", "note": "second", "k": 1}
    assert thread.json()["metadata"]["owner"] == "bob"
    assert thread.json()["metadata"]["k"] == 1
    cron = await raw["bob"].post(
        "/runs/crons", json={"assistant_id": mine.assistant_id, "schedule": "0 0 * * *"}
    )
    assert cron.status_code == 200, cron.text
    cron_id = cron.json()["cron_id"]
    edited = await raw["bob"].patch(f"/runs/crons/{cron_id}", json={"metadata": {**claimed, "k": 1}})
    assert edited.status_code == 200, edited.text
    assert edited.json()["metadata"] == {"owner": "bob", "k": 1}
    theirs = await raw["alice"].post("/runs/crons/search", json={"limit": 1000})
    assert cron_id not in {c["cron_id"] for c in theirs.json()}
    assert (await raw["alice"].get(f"/runs/crons/{cron_id}")).status_code == 404
    assert mine.assistant_id not in {a["assistant_id"] for a in await alice.assistants.search(limit=1000)}
    assert mine.thread_id not in {t["thread_id"] for t in await alice.threads.search(limit=1000)}
    run = await raw["alice"].post(
        f"/threads/{mine.thread_id}/runs/wait", json={"assistant_id": mine.assistant_id}
    )
    assert run.status_code == 404, run.text
    stateless = await raw["alice"].post("/runs/wait", json={"assistant_id": mine.assistant_id, "input": {}})
    assert stateless.status_code == 404, stateless.text
    assert (await bob.assistants.get(mine.assistant_id))["name"] == "Friendly"


async def test_every_route_refuses_a_request_without_credentials(
    auth_server: RunningServer, raw: dict[str, httpx.AsyncClient]
) -> None:
    nobody = raw["nobody"]
    document = (await nobody.get("/openapi.json")).json()
    some_id = str(uuid.uuid4())
    fills = {"assistant_id": some_id, "thread_id": some_id, "run_id": some_id, "version": "1"}
    checked = 0
    for template, operations in document["paths"].items():
        path = template
        for name, value in fills.items():
            path = path.replace("{" + name + "}", value)
        path = path.replace("{namespace}", "x").replace("{checkpoint_id}", "x")
        for method in operations:
            guarded = "401" in operations[method]["responses"]
            response = await nobody.request(method.upper(), path, json={})
            if guarded:
                assert response.status_code == 401, f"{method} {path}: {response.status_code}"
                assert response.json()["detail"] == "Unknown or missing bearer token"
                checked += 1
            else:  # health and discovery stay open
                assert response.status_code == 200, f"{method} {path}: {response.status_code}"
    assert checked >= 40
    for open_path in ("/ok", "/info", "/openapi.json", "/docs"):
        assert (await nobody.get(open_path)).status_code == 200, open_path
    wrong = await nobody.get(f"/assistants/{some_id}", headers={"Authorization": "Bearer token-mallory"})
    assert wrong.status_code == 401


async def test_an_auth_handler_raising_403_denies_and_changes_nothing(
    clients: dict[str, LangGraphClient],
) -> None:
    carol = clients["carol"]
    assistant = await carol.assistants.create("echo")
    with pytest.raises(PermissionDeniedError, match="You may not delete assistants"):
        await carol.assistants.delete(assistant["assistant_id"])
    assert (await carol.assistants.get(assistant["assistant_id"]))["version"] == 1


async def test_built_in_api_keys_authenticate_and_name_the_author(start_server: Any) -> None:
    running = start_server(api_keys="alice:alice-key-123,ops:ops-key-4567")
    nobody = get_client(url=running.url, api_key=None)
    with pytest.raises(AuthenticationError):
        await nobody.assistants.search()
    wrong = get_client(url=running.url, api_key="not-a-key")
    with pytest.raises(AuthenticationError):
        await wrong.assistants.search()
    alice = get_client(url=running.url, api_key="alice-key-123")
    created = await alice.assistants.create("echo", name="keyed")
    updated = await alice.assistants.update(created["assistant_id"], name="renamed")
    # Key holders share everything: another key sees and changes the same assistant.
    ops = get_client(url=running.url, api_key="ops-key-4567")
    await ops.assistants.update(created["assistant_id"], name="by ops")
    versions = await ops.assistants.get_versions(updated["assistant_id"])
    assert [v["changed_by"] for v in versions] == ["ops", "alice", "alice"]  # type: ignore[typeddict-item]
    for client in (nobody, wrong, alice, ops):
        await client.aclose()

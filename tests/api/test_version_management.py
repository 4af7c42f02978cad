"""graphdock's own version management: per-version delete, diffs, ETag/If-Match, the audit trail."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import APIStatusError

from tests.conftest import GUIDE_V1, GUIDE_V2


async def _new(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    r = await http.post("/assistants", json={"graph_id": "agent", **body})
    assert r.status_code == 200, r.text
    created: dict[str, Any] = r.json()
    return created


async def _versions(http: httpx.AsyncClient, aid: str) -> list[dict[str, Any]]:
    r = await http.post(f"/assistants/{aid}/versions", json={"limit": 1000})
    assert r.status_code == 200, r.text
    listed: list[dict[str, Any]] = r.json()
    return listed


# -- delete one version --------------------------------------------------------------------------


async def test_deleting_a_non_active_version_removes_only_it_and_numbers_are_never_reused(
    http: httpx.AsyncClient,
) -> None:
    a = await _new(http)
    aid = a["assistant_id"]
    for name in ("v2", "v3"):
        await http.patch(f"/assistants/{aid}", json={"name": name})
    r = await http.delete(f"/assistants/{aid}/versions/3", headers={})
    assert r.status_code == 409, "version 3 is active"
    assert "active" in r.json()["detail"]
    await http.post(f"/assistants/{aid}/latest", json={"version": 2})
    r = await http.delete(f"/assistants/{aid}/versions/3")
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert [v["version"] for v in await _versions(http, aid)] == [2, 1]
    assert (await http.get(f"/assistants/{aid}/versions/3")).status_code == 404
    assert (await http.delete(f"/assistants/{aid}/versions/3")).status_code == 404
    assert (await http.post(f"/assistants/{aid}/latest", json={"version": 3})).status_code == 404
    # The next PATCH takes 4, not the freed 3.
    assert (await http.patch(f"/assistants/{aid}", json={})).json()["version"] == 4


@pytest.mark.parametrize(
    ("path", "status"), [("/versions/0", 404), ("/versions/99", 404), ("/versions/x", 422)]
)
async def test_deleting_a_version_that_does_not_exist_is_a_clear_error(
    http: httpx.AsyncClient, path: str, status: int
) -> None:
    a = await _new(http)
    r = await http.delete(f"/assistants/{a['assistant_id']}{path}")
    assert r.status_code == status, r.text
    assert [v["version"] for v in await _versions(http, a["assistant_id"])] == [1]


# -- diff ----------------------------------------------------------------------------------------


async def test_diff_names_each_changed_path_with_old_and_new_values(http: httpx.AsyncClient) -> None:
    a = await _new(http, config=GUIDE_V1, metadata={"team": "a", "old": True}, name="one")
    aid = a["assistant_id"]
    await http.patch(
        f"/assistants/{aid}",
        json={"config": {**GUIDE_V2, "tags": ["x"]}, "metadata": {"team": "b", "new": 1}, "name": "two"},
    )
    r = await http.get(f"/assistants/{aid}/diff", params={"from": 1, "to": 2})
    assert r.status_code == 200, r.text
    diff = r.json()
    assert (diff["from_version"], diff["to_version"]) == (1, 2)
    prompt = ["configurable", "system_prompt"]
    assert diff["changes"] == [
        {"field": "config", "path": prompt, "kind": "changed", "old": GUIDE_V1["configurable"]["system_prompt"],
         "new": GUIDE_V2["configurable"]["system_prompt"]},
        {"field": "config", "path": ["tags"], "kind": "added", "new": ["x"]},
        {"field": "context", "path": ["system_prompt"], "kind": "changed",
         "old": GUIDE_V1["configurable"]["system_prompt"], "new": GUIDE_V2["configurable"]["system_prompt"]},
        {"field": "metadata", "path": ["team"], "kind": "changed", "old": "a", "new": "b"},
        {"field": "metadata", "path": ["new"], "kind": "added", "new": 1},
        {"field": "name", "path": [], "kind": "changed", "old": "one", "new": "two"},
    ]  # fmt: skip
    # Metadata is merged, so "old" stays; a version against itself has no changes.
    same = (await http.get(f"/assistants/{aid}/diff", params={"from": 2, "to": 2})).json()
    assert same["changes"] == []


async def test_diff_defaults_to_the_active_version_and_reverses_cleanly(http: httpx.AsyncClient) -> None:
    a = await _new(http, context={"model_name": "openai"})
    aid = a["assistant_id"]
    await http.patch(
        f"/assistants/{aid}", json={"context": {"model_name": "anthropic", "system_prompt": "p"}}
    )
    await http.post(f"/assistants/{aid}/latest", json={"version": 1})
    diff = (await http.get(f"/assistants/{aid}/diff", params={"from": 2})).json()
    assert diff["to_version"] == 1, "without `to`, the active version"
    kinds = {(c["field"], tuple(c["path"])): c["kind"] for c in diff["changes"]}
    assert kinds[("context", ("system_prompt",))] == "removed"
    assert kinds[("context", ("model_name",))] == "changed"


@pytest.mark.parametrize(
    ("params", "status"), [({}, 422), ({"from": "one"}, 422), ({"from": 9}, 404), ({"from": 1, "to": 9}, 404)]
)
async def test_diff_with_bad_or_missing_versions_is_a_clear_error(
    http: httpx.AsyncClient, params: dict[str, Any], status: int
) -> None:
    a = await _new(http)
    r = await http.get(f"/assistants/{a['assistant_id']}/diff", params=params)
    assert r.status_code == status, r.text
    assert r.json()["detail"]


# -- ETag / If-Match -----------------------------------------------------------------------------


async def test_get_returns_an_etag_naming_the_active_version_and_writes_return_the_new_one(
    http: httpx.AsyncClient,
) -> None:
    a = await http.post("/assistants", json={"graph_id": "agent"})
    assert a.headers["etag"] == '"1"'
    aid = a.json()["assistant_id"]
    assert (await http.get(f"/assistants/{aid}")).headers["etag"] == '"1"'
    patched = await http.patch(f"/assistants/{aid}", json={"name": "x"}, headers={"If-Match": '"1"'})
    assert patched.status_code == 200, patched.text
    assert patched.headers["etag"] == '"2"'
    back = await http.post(f"/assistants/{aid}/latest", json={"version": 1}, headers={"If-Match": '"2"'})
    assert back.status_code == 200, back.text
    assert back.headers["etag"] == '"1"'


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "", {"name": "late"}),
        ("POST", "/latest", {"version": 1}),
        ("DELETE", "", None),
        ("POST", "/versions/1/restore", None),
        ("DELETE", "/versions/1", None),
    ],
)
@pytest.mark.parametrize("stale", ['"1"', 'W/"2"', '"abc"', '"7", "8"'])
async def test_a_stale_if_match_is_412_naming_the_current_version_and_changes_nothing(
    http: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None, stale: str
) -> None:
    a = await _new(http)
    aid = a["assistant_id"]
    await http.patch(f"/assistants/{aid}", json={"name": "v2"})
    before = ((await http.get(f"/assistants/{aid}")).json(), await _versions(http, aid))
    r = await http.request(method, f"/assistants/{aid}{path}", json=body, headers={"If-Match": stale})
    assert r.status_code == 412, r.text
    assert "version 2" in r.json()["detail"]
    after = ((await http.get(f"/assistants/{aid}")).json(), await _versions(http, aid))
    assert after == before


@pytest.mark.parametrize("header", ['"2"', "*", '"1", "2"', None])
async def test_a_current_if_match_or_none_lets_the_write_through(
    http: httpx.AsyncClient, header: str | None
) -> None:
    a = await _new(http)
    await http.patch(f"/assistants/{a['assistant_id']}", json={"name": "v2"})
    headers = {"If-Match": header} if header is not None else {}
    r = await http.patch(f"/assistants/{a['assistant_id']}", json={"name": "v3"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 3


async def test_two_editors_with_the_same_if_match_exactly_one_wins(http: httpx.AsyncClient) -> None:
    for _ in range(10):  # several rounds: the outcome must never depend on timing
        a = await _new(http)
        aid = a["assistant_id"]
        etag = (await http.get(f"/assistants/{aid}")).headers["etag"]

        async def edit(name: str, aid: str = aid, etag: str = etag) -> httpx.Response:
            return await http.patch(f"/assistants/{aid}", json={"name": name}, headers={"If-Match": etag})

        results = await asyncio.gather(edit("alice"), edit("bob"))
        assert sorted(r.status_code for r in results) == [200, 412], [r.text for r in results]
        winner = next(r for r in results if r.status_code == 200).json()
        assert [v["version"] for v in await _versions(http, aid)] == [2, 1]
        assert (await http.get(f"/assistants/{aid}")).json()["name"] == winner["name"]


# -- audit trail and restore ---------------------------------------------------------------------


async def test_every_version_records_how_it_was_made(http: httpx.AsyncClient) -> None:
    a = await _new(http, config=GUIDE_V1, name="first")
    aid = a["assistant_id"]
    await http.patch(f"/assistants/{aid}", json={"config": GUIDE_V2, "name": "second"})
    restored = await http.post(f"/assistants/{aid}/versions/1/restore")
    assert restored.status_code == 200, restored.text
    assert restored.headers["etag"] == '"3"'
    body = restored.json()
    assert (body["version"], body["config"], body["name"]) == (3, GUIDE_V1, "first")
    trail = [
        (v["version"], v["change"], v["changed_by"], v["restored_from"]) for v in await _versions(http, aid)
    ]
    assert trail == [(3, "restore", None, 1), (2, "update", None, None), (1, "create", None, None)]
    one = (await http.get(f"/assistants/{aid}/versions/2")).json()
    assert (one["version"], one["change"], one["config"]) == (2, "update", GUIDE_V2)
    # set_latest changes which version is active, and makes no version of its own.
    await http.post(f"/assistants/{aid}/latest", json={"version": 2})
    assert len(await _versions(http, aid)) == 3


async def test_the_sdk_walkthrough_still_works_with_the_new_features_in_use(client: LangGraphClient) -> None:
    a = await client.assistants.create("agent", config=GUIDE_V1, name="Open AI Assistant")
    aid = a["assistant_id"]
    v2 = await client.assistants.update(aid, config=GUIDE_V2, headers={"If-Match": '"1"'})
    assert v2["version"] == 2
    with pytest.raises(APIStatusError) as stale:
        await client.assistants.update(aid, config=GUIDE_V1, headers={"If-Match": '"1"'})
    assert stale.value.status_code == 412
    versions = await client.assistants.get_versions(aid)
    assert [(v["version"], v["change"]) for v in versions] == [(2, "update"), (1, "create")]  # type: ignore[typeddict-item]
    rolled = await client.assistants.set_latest(aid, 1, headers={"If-Match": '"2"'})
    assert (rolled["version"], rolled["config"]) == (1, GUIDE_V1)
    await client.assistants.delete(aid, headers={"If-Match": '"1"'})
    assert await client.assistants.search(metadata={"assistant_id": aid}) == []

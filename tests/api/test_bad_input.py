"""Bad input over raw HTTP: every assistants route answers 4xx `{"detail": str}`, stores nothing, never 500s.

Plain httpx against a real server, as curl or a hand-written client would talk: the official SDKs
never send most of these bodies. Every failing request is checked twice — the answer (status,
JSON shape, x-request-id) and the database afterwards (nothing half-stored).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer, serve, settings_for

Body = bytes | dict[str, Any] | None

# The default assistant every server makes for the `nested` graph (parent -> child -> grandchild).
NESTED_DEFAULT = str(uuid.uuid5(uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8"), "nested"))

# Drop a key from a base body (a missing required field is not the same as null).
DROP = object()


def nest(depth: int, leaf: Any = None) -> Any:
    """`depth` objects one inside the other: nest(2) == {"a": {"a": None}}."""
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def merge(base: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    """`base` with `fragment` laid over it one level deep into dicts (config.tags keeps config's other keys)."""
    out = dict(base)
    for key, value in fragment.items():
        if value is DROP:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict) and value:
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


async def send(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    body: Body = None,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """`body` as raw bytes (sent verbatim, no content-type) or a dict (sent as JSON)."""
    if isinstance(body, dict):
        content: bytes | None = json.dumps(body).encode()
        headers = {"content-type": "application/json", **(headers or {})}
    else:
        content = body
    return await http.request(method, path, content=content, params=params, headers=headers)


def assert_error(r: httpx.Response, status: int) -> str:
    """The error contract: the status, a JSON `{"detail": <non-empty str>}` body, an x-request-id.

    A 422 may also carry `loc`, where the problem is as data (["context", "model_name"]): the
    path that `detail` names first, so a client need not parse the message."""
    where = f"{r.request.method} {r.request.url.raw_path.decode()[:150]}"
    assert r.status_code == status, f"{where}: expected {status}, got {r.status_code}: {r.text[:500]}"
    assert r.headers.get("x-request-id"), f"{where}: {status} answered without an x-request-id header"
    content_type = r.headers.get("content-type", "")
    assert content_type.startswith("application/json"), f"{where}: error content-type is {content_type!r}"
    body = r.json()
    assert isinstance(body, dict), f"{where}: error body is not an object: {body!r}"
    allowed = (["detail"], ["detail", "loc"]) if status == 422 else (["detail"],)
    assert list(body) in allowed, f"{where}: error body is not {{'detail': ...}}: {body!r}"
    detail = body["detail"]
    assert isinstance(detail, str), f"{where}: detail is not a string: {body!r}"
    assert detail.strip(), f"{where}: detail is empty: {body!r}"
    if "loc" in body:
        loc = body["loc"]
        assert isinstance(loc, list), f"{where}: loc {loc!r}"
        assert all(isinstance(p, str | int) for p in loc), f"{where}: loc {loc!r}"
        assert detail.startswith(".".join(str(p) for p in loc) or "body"), (
            f"{where}: loc {loc!r} vs {detail!r}"
        )
    return detail


@dataclass
class Stored:
    """One assistant made for the test, and a fingerprint proving a failed request changed nothing."""

    http: httpx.AsyncClient
    assistant: dict[str, Any]
    tag: dict[str, str]
    # The assistant's name; unique to the test, so `count(name=marker)` finds only its assistants.
    marker: str

    @property
    def id(self) -> str:
        assistant_id: str = self.assistant["assistant_id"]
        return assistant_id

    def path(self, template: str) -> str:
        return template.replace("{id}", self.id)

    async def state(self) -> tuple[Any, ...]:
        """The active row, every version, and how many assistants carry the test's tag or name."""
        got = await self.http.get(f"/assistants/{self.id}")
        versions = await self.http.post(f"/assistants/{self.id}/versions", json={"limit": 1000})
        by_tag = await self.http.post("/assistants/count", json={"metadata": self.tag})
        by_name = await self.http.post("/assistants/count", json={"name": self.marker})
        for r in (got, versions, by_tag, by_name):
            assert r.status_code == 200, f"reading the stored state failed: {r.request.url}: {r.text}"
        return got.json(), versions.json(), by_tag.json(), by_name.json()


@pytest.fixture
async def stored(http: httpx.AsyncClient, tag: dict[str, str]) -> Stored:
    marker = f"bad-input-{tag['test']}"
    r = await http.post("/assistants", json={"graph_id": "plain", "metadata": tag, "name": marker})
    assert r.status_code == 200, r.text
    return Stored(http, r.json(), tag, marker)


# -- the routes -----------------------------------------------------------------------------------

# Every assistants route that names an assistant in its path, with a body it accepts.
BY_ID: list[tuple[str, str, Body]] = [
    ("GET", "/assistants/{id}", None),
    ("PATCH", "/assistants/{id}", {}),
    ("DELETE", "/assistants/{id}", None),
    ("POST", "/assistants/{id}/versions", {}),
    ("POST", "/assistants/{id}/latest", {"version": 1}),
    ("GET", "/assistants/{id}/graph", None),
    ("GET", "/assistants/{id}/schemas", None),
    ("GET", "/assistants/{id}/subgraphs", None),
    ("GET", "/assistants/{id}/subgraphs/child", None),
]
BY_ID_IDS = [f"{m} {p}" for m, p, _ in BY_ID]

# Every route that reads a JSON body.
BODY_ROUTES: dict[str, tuple[str, str]] = {
    "create": ("POST", "/assistants"),
    "patch": ("PATCH", "/assistants/{id}"),
    "versions": ("POST", "/assistants/{id}/versions"),
    "latest": ("POST", "/assistants/{id}/latest"),
    "search": ("POST", "/assistants/search"),
    "count": ("POST", "/assistants/count"),
}


def base_body(route: str, stored: Stored) -> dict[str, Any]:
    """A body the route accepts; a create carries the test's tag and name so a leak would be counted."""
    if route == "create":
        return {"graph_id": "plain", "metadata": dict(stored.tag), "name": stored.marker}
    if route == "latest":
        return {"version": 1}
    return {}


# -- path ids ----------------------------------------------------------------------------------------

MALFORMED_IDS = [
    "nope",
    "1234",
    "g" * 32,
    "12345678-1234-5678-1234-56781234567",  # one digit short
    "12345678-1234-5678-1234-5678123456789",  # one digit long
    "12345678-1234-5678-1234-56781234567z",
    "urn:uuid:",
    "null",
    "%00",
    "%20",
    "%F0%9F%99%82",  # an emoji
]


@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
@pytest.mark.parametrize(("method", "path", "body"), BY_ID, ids=BY_ID_IDS)
async def test_a_malformed_assistant_id_in_the_path_is_422(
    http: httpx.AsyncClient, method: str, path: str, body: Body, bad_id: str
) -> None:
    detail = assert_error(await send(http, method, path.replace("{id}", bad_id), body), 422)
    assert "assistant_id" in detail, f"the detail should name the bad path parameter: {detail}"


@pytest.mark.parametrize(("method", "path", "body"), BY_ID, ids=BY_ID_IDS)
async def test_an_unknown_assistant_id_is_404_and_changes_nothing(
    stored: Stored, method: str, path: str, body: Body
) -> None:
    before = await stored.state()
    unknown = str(uuid.uuid4())
    detail = assert_error(await send(stored.http, method, path.replace("{id}", unknown), body), 404)
    assert unknown in detail, f"the detail should name the missing assistant: {detail}"
    assert await stored.state() == before


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda u: u.upper(), id="upper-case"),
        pytest.param(lambda u: u.replace("-", ""), id="no-dashes"),
        pytest.param(lambda u: "{" + u + "}", id="braces"),
        pytest.param(lambda u: "urn:uuid:" + u, id="urn"),
        pytest.param(lambda u: "urn:uuid:{" + u.upper().replace("-", "") + "}", id="everything"),
    ],
)
async def test_any_uuid_spelling_is_accepted_on_create_and_stored_lower_case_dashed(
    http: httpx.AsyncClient, tag: dict[str, str], spelling: Any
) -> None:
    canonical = str(uuid.uuid4())
    r = await http.post(
        "/assistants", json={"graph_id": "plain", "assistant_id": spelling(canonical), "metadata": tag}
    )
    assert r.status_code == 200, r.text
    assert r.json()["assistant_id"] == canonical
    # The same spelling in a path finds the same row: one assistant is never two.
    got = await http.get(f"/assistants/{spelling(canonical)}")
    assert got.status_code == 200, got.text
    assert got.json()["assistant_id"] == canonical
    again = await http.post(
        "/assistants", json={"graph_id": "plain", "assistant_id": canonical.upper(), "if_exists": "raise"}
    )
    assert_error(again, 409)


# -- bodies that are not a JSON object ----------------------------------------------------------------

NOT_AN_OBJECT = [
    pytest.param(b"", id="empty"),
    pytest.param(b" \r\n\t ", id="whitespace"),
    pytest.param(b'{"graph_id": ', id="truncated"),
    pytest.param(b"{'graph_id': 'plain'}", id="single-quotes"),
    pytest.param(b'{"graph_id": "plain",}', id="trailing-comma"),
    pytest.param(b'{"limit": NaN}', id="NaN"),
    pytest.param(b'{"limit": Infinity}', id="Infinity"),
    pytest.param(b"{} {}", id="two-documents"),
    pytest.param(b'{"name": "caf\xe9"}', id="latin-1-bytes"),
    pytest.param(b'{"name": "\\ud800"}', id="lone-surrogate"),
    pytest.param(b"[]", id="array"),
    pytest.param(b'[{"graph_id": "plain"}]', id="array-of-object"),
    pytest.param(b'"graph_id"', id="string"),
    pytest.param(b"5", id="number"),
    pytest.param(b"null", id="null"),
    pytest.param(b"true", id="true"),
]


@pytest.mark.parametrize("raw", NOT_AN_OBJECT)
@pytest.mark.parametrize("route", list(BODY_ROUTES))
async def test_a_body_that_is_not_a_json_object_is_422_and_stores_nothing(
    stored: Stored, route: str, raw: bytes
) -> None:
    method, path = BODY_ROUTES[route]
    before = await stored.state()
    total_before = (await stored.http.post("/assistants/count", json={})).json()
    assert_error(await send(stored.http, method, stored.path(path), raw), 422)
    assert await stored.state() == before
    # An unparseable create cannot carry the tag, so count every assistant instead.
    assert (await stored.http.post("/assistants/count", json={})).json() == total_before


# -- wrong types, out-of-range values, nulls where something is required -----------------------------

CONFIG_CASES: list[tuple[dict[str, Any], str]] = [
    ({"config": "x"}, "config"),
    ({"config": []}, "config"),
    ({"config": 5}, "config"),
    ({"config": {"configurable": [1]}}, "config.configurable"),
    ({"config": {"configurable": "x"}}, "config.configurable"),
    # configurable is an object (it mirrors context); null is not "omitted" one level down.
    ({"config": {"configurable": None}}, "config.configurable"),
    ({"config": {"tags": "a"}}, "config.tags"),
    ({"config": {"tags": [1]}}, "config.tags"),
    ({"config": {"tags": {"a": 1}}}, "config.tags"),
    ({"config": {"recursion_limit": "5"}}, "config.recursion_limit"),
    ({"config": {"recursion_limit": 0}}, "config.recursion_limit"),
    ({"config": {"recursion_limit": -1}}, "config.recursion_limit"),
    ({"config": {"recursion_limit": 1.5}}, "config.recursion_limit"),
    ({"config": {"recursion_limit": True}}, "config.recursion_limit"),
    ({"context": "x"}, "context"),
    ({"context": []}, "context"),
    ({"context": 5}, "context"),
    ({"metadata": []}, "metadata"),
    ({"metadata": "x"}, "metadata"),
    ({"metadata": 5}, "metadata"),
    ({"name": 5}, "name"),
    ({"name": ["a"]}, "name"),
    ({"name": True}, "name"),
    ({"description": 5}, "description"),
    ({"description": {}}, "description"),
    ({"graph_id": 5}, "graph_id"),
    ({"graph_id": ["plain"]}, "graph_id"),
]
LIMIT_CASES: list[tuple[dict[str, Any], str]] = [
    ({"limit": 0}, "limit"),
    ({"limit": -1}, "limit"),
    ({"limit": 1001}, "limit"),
    ({"limit": "10"}, "limit"),
    ({"limit": 1.5}, "limit"),
    ({"limit": 10.0}, "limit"),
    ({"limit": True}, "limit"),
    ({"limit": None}, "limit"),
    ({"offset": -1}, "offset"),
    ({"offset": "0"}, "offset"),
    ({"offset": 1.5}, "offset"),
    ({"offset": False}, "offset"),
    ({"offset": None}, "offset"),
]
FILTER_CASES: list[tuple[dict[str, Any], str]] = [
    ({"metadata": []}, "metadata"),
    ({"metadata": "x"}, "metadata"),
    ({"graph_id": 5}, "graph_id"),
    ({"graph_id": []}, "graph_id"),
    ({"name": 5}, "name"),
    ({"name": {}}, "name"),
]
FIELD_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("create", {"graph_id": DROP}, "graph_id"),
    ("create", {"graph_id": None}, "graph_id"),
    ("create", {"assistant_id": "nope"}, "assistant_id"),
    ("create", {"assistant_id": ""}, "assistant_id"),
    ("create", {"assistant_id": 5}, "assistant_id"),
    ("create", {"assistant_id": 0x1234567812345678}, "assistant_id"),
    ("create", {"if_exists": "maybe"}, "if_exists"),
    ("create", {"if_exists": "RAISE"}, "if_exists"),
    ("create", {"if_exists": True}, "if_exists"),
    *[("create", fragment, field) for fragment, field in CONFIG_CASES],
    *[("patch", fragment, field) for fragment, field in CONFIG_CASES],
    *[("versions", fragment, field) for fragment, field in LIMIT_CASES],
    ("versions", {"metadata": []}, "metadata"),
    ("versions", {"metadata": "x"}, "metadata"),
    *[("search", fragment, field) for fragment, field in LIMIT_CASES + FILTER_CASES],
    ("search", {"sort_by": "bogus"}, "sort_by"),
    ("search", {"sort_by": "NAME"}, "sort_by"),
    ("search", {"sort_by": 1}, "sort_by"),
    ("search", {"sort_order": "up"}, "sort_order"),
    ("search", {"sort_order": True}, "sort_order"),
    ("search", {"select": ["nope"]}, "select"),
    ("search", {"select": ["name", "nope"]}, "select"),
    ("search", {"select": "name"}, "select"),
    ("search", {"select": [1]}, "select"),
    ("search", {"select": {"name": True}}, "select"),
    *[("count", fragment, field) for fragment, field in FILTER_CASES],
    ("latest", {"version": "1"}, "version"),
    ("latest", {"version": 1.5}, "version"),
    ("latest", {"version": 1.0}, "version"),
    ("latest", {"version": True}, "version"),
    ("latest", {"version": None}, "version"),
    ("latest", {"version": [1]}, "version"),
    ("latest", {"version": DROP}, "version"),
]


@pytest.mark.parametrize(
    ("route", "fragment", "field"),
    FIELD_CASES,
    ids=[f"{route}-{json.dumps(fragment, default=lambda _: 'DROP')}" for route, fragment, _ in FIELD_CASES],
)
async def test_a_wrong_type_or_range_is_422_naming_the_field_and_stores_nothing(
    stored: Stored, route: str, fragment: dict[str, Any], field: str
) -> None:
    method, path = BODY_ROUTES[route]
    before = await stored.state()
    r = await send(stored.http, method, stored.path(path), merge(base_body(route, stored), fragment))
    detail = assert_error(r, 422)
    assert field in detail, f"the detail should name {field!r}: {detail}"
    assert await stored.state() == before, (
        "a failed request must leave the assistant, its versions and counts as they were"
    )


@pytest.mark.parametrize("version", [0, -1, 2, 999, 2**31, 2**63 - 1, -(2**63), 2**63, 2**64 - 1])
async def test_set_latest_to_a_version_that_does_not_exist_is_404_and_changes_nothing(
    stored: Stored, version: int
) -> None:
    before = await stored.state()
    r = await stored.http.post(f"/assistants/{stored.id}/latest", json={"version": version})
    assert_error(r, 404)
    assert await stored.state() == before


@pytest.mark.parametrize("route", ["search", "versions"])
@pytest.mark.parametrize("offset", [10**6, 2**63 - 1, 2**63, 2**64 - 1])
async def test_an_offset_past_every_row_is_an_empty_page_or_422_never_500(
    stored: Stored, route: str, offset: int
) -> None:
    method, path = BODY_ROUTES[route]
    r = await send(stored.http, method, stored.path(path), {"offset": offset})
    if r.status_code == 200:
        assert r.json() == [], r.text
        assert "X-Pagination-Next" not in r.headers, r.headers
    else:
        assert_error(r, 422)


async def test_a_schema_violating_context_is_422_naming_the_field_and_stores_nothing(stored: Stored) -> None:
    # `agent` declares model_name: Literal["anthropic", "openai"]; the check runs inside the write.
    before = await stored.state()
    bad = {"model_name": "gpt-5", "system_prompt": "hi"}
    create = await stored.http.post(
        "/assistants",
        json={"graph_id": "agent", "context": bad, "metadata": stored.tag, "name": stored.marker},
    )
    assert "context.model_name" in assert_error(create, 422)
    patch = await stored.http.patch(f"/assistants/{stored.id}", json={"graph_id": "agent", "context": bad})
    assert "context.model_name" in assert_error(patch, 422)
    configurable = await stored.http.patch(
        f"/assistants/{stored.id}", json={"graph_id": "agent", "config": {"configurable": bad}}
    )
    assert "config.configurable.model_name" in assert_error(configurable, 422)
    assert await stored.state() == before


@pytest.mark.parametrize("route", ["create", "patch", "search", "count"])
async def test_an_unknown_graph_id_is_404_naming_the_known_graphs(stored: Stored, route: str) -> None:
    method, path = BODY_ROUTES[route]
    before = await stored.state()
    body = merge(base_body(route, stored), {"graph_id": "no-such-graph"})
    detail = assert_error(await send(stored.http, method, stored.path(path), body), 404)
    assert "no-such-graph" in detail, detail
    for known in ("agent", "plain", "nested"):
        assert known in detail, f"the detail should list the known graph {known!r}: {detail}"
    assert await stored.state() == before


@pytest.mark.parametrize("route", ["create", "patch"])
async def test_configurable_together_with_context_is_400_and_stores_nothing(
    stored: Stored, route: str
) -> None:
    method, path = BODY_ROUTES[route]
    before = await stored.state()
    body = merge(base_body(route, stored), {"config": {"configurable": {"a": 1}}, "context": {"a": 1}})
    detail = assert_error(await send(stored.http, method, stored.path(path), body), 400)
    assert "context" in detail, detail
    assert "configurable" in detail, detail
    assert await stored.state() == before


# -- query parameters ----------------------------------------------------------------------------------


@pytest.mark.parametrize("xray", ["maybe", "0", "-1", "1.5", "yes", "truee", "0x1", "\u00b2", ""])
async def test_an_invalid_xray_is_422(stored: Stored, xray: str) -> None:
    r = await stored.http.get(f"/assistants/{stored.id}/graph", params={"xray": xray})
    assert "xray" in assert_error(r, 422)


@pytest.mark.parametrize("xray", ["true", "false", "True", "False", "1", "2", "100"])
async def test_a_valid_xray_draws_the_graph(stored: Stored, xray: str) -> None:
    r = await stored.http.get("/assistants/nested/graph", params={"xray": xray})
    assert r.status_code == 200, r.text
    assert r.json()["nodes"], r.text


@pytest.mark.parametrize("value", ["maybe", "yes", "2", "truee", "-1", "\u0661", ""])
async def test_an_invalid_delete_threads_flag_is_422_and_deletes_nothing(stored: Stored, value: str) -> None:
    before = await stored.state()
    r = await stored.http.delete(f"/assistants/{stored.id}", params={"delete_threads": value})
    assert "delete_threads" in assert_error(r, 422)
    assert await stored.state() == before


@pytest.mark.parametrize("value", ["true", "false", "True", "False", "1", "0"])
async def test_every_boolean_spelling_the_sdks_send_is_accepted_for_delete_threads(
    stored: Stored, value: str
) -> None:
    r = await stored.http.delete(f"/assistants/{stored.id}", params={"delete_threads": value})
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_error(await stored.http.get(f"/assistants/{stored.id}"), 404)


@pytest.mark.parametrize("value", ["true", "false", "True", "False", "1", "0"])
async def test_every_boolean_spelling_the_sdks_send_is_accepted_for_recurse(
    http: httpx.AsyncClient, value: str
) -> None:
    r = await http.get(f"/assistants/{NESTED_DEFAULT}/subgraphs", params={"recurse": value})
    assert r.status_code == 200, r.text
    assert "child" in r.json(), r.text


@pytest.mark.parametrize("value", ["maybe", "yes", "2", ""])
async def test_an_invalid_recurse_flag_is_422(stored: Stored, value: str) -> None:
    r = await stored.http.get(f"/assistants/{stored.id}/subgraphs", params={"recurse": value})
    assert "recurse" in assert_error(r, 422)


@pytest.mark.parametrize("query", ["subgraphs=", "subgraphs", "subgraphs=maybe"])
async def test_a_thread_state_with_an_empty_or_invalid_subgraphs_flag_is_422(
    http: httpx.AsyncClient, query: str
) -> None:
    """Found by fuzzing: `?subgraphs=` used to read as false, though `?subgraphs` alone often
    means true; neither is guessed."""
    made = await http.post("/threads", json={})
    assert made.status_code == 200, made.text
    r = await http.get(f"/threads/{made.json()['thread_id']}/state?{query}")
    assert "subgraphs" in assert_error(r, 422)


# -- what cannot be stored and read back -----------------------------------------------------------------


async def test_metadata_nested_65_deep_is_422_and_nothing_is_stored(
    http: httpx.AsyncClient, tag: dict[str, str]
) -> None:
    r = await http.post("/assistants", json={"graph_id": "plain", "metadata": {**tag, "deep": nest(65)}})
    assert "deep" in assert_error(r, 422)
    found = await http.post("/assistants/search", json={"metadata": tag})
    assert found.status_code == 200, found.text
    assert found.json() == [], "a refused create must not leave an assistant behind"


async def test_json_1000_deep_is_422_and_nothing_is_stored(
    http: httpx.AsyncClient, tag: dict[str, str]
) -> None:
    # Built as bytes: Python's own json module cannot even encode this.
    deep = b'{"a": ' * 1000 + b"null" + b"}" * 1000
    raw = (
        b'{"graph_id": "plain", "metadata": {"test": "' + tag["test"].encode() + b'", "deep": ' + deep + b"}}"
    )
    assert_error(await send(http, "POST", "/assistants", raw), 422)
    found = await http.post("/assistants/search", json={"metadata": tag})
    assert found.status_code == 200, found.text
    assert found.json() == [], "a refused create must not leave an assistant behind"


@pytest.mark.parametrize("depth", [1000, 100_000])
async def test_arrays_nested_beyond_any_parser_limit_are_422(http: httpx.AsyncClient, depth: int) -> None:
    raw = b'{"graph_id": "plain", "metadata": {"deep": ' + b"[" * depth + b"]" * depth + b"}}"
    assert_error(await send(http, "POST", "/assistants", raw), 422)


@pytest.mark.parametrize(
    ("route", "fragment"),
    [
        ("patch", {"metadata": {"deep": nest(65)}}),
        ("patch", {"config": {"extra": nest(65)}}),
        ("patch", {"context": nest(65)}),
        ("create", {"config": {"tags": ["a"], "extra": [nest(70)]}}),
        ("search", {"metadata": nest(65)}),
        ("count", {"metadata": nest(65)}),
        ("versions", {"metadata": nest(65)}),
    ],
    ids=["patch-metadata", "patch-config", "patch-context", "create-config", "search", "count", "versions"],
)
async def test_json_nested_too_deep_anywhere_is_422_and_stores_nothing(
    stored: Stored, route: str, fragment: dict[str, Any]
) -> None:
    method, path = BODY_ROUTES[route]
    before = await stored.state()
    assert_error(
        await send(stored.http, method, stored.path(path), merge(base_body(route, stored), fragment)), 422
    )
    assert await stored.state() == before


async def test_metadata_32_deep_is_stored_and_read_back_unchanged(
    http: httpx.AsyncClient, tag: dict[str, str]
) -> None:
    deep = nest(32, [1, "two", None, 3.5])
    r = await http.post("/assistants", json={"graph_id": "plain", "metadata": {**tag, "deep": deep}})
    assert r.status_code == 200, r.text
    got = await http.get(f"/assistants/{r.json()['assistant_id']}")
    assert got.json()["metadata"]["deep"] == deep
    found = await http.post("/assistants/search", json={"metadata": {**tag, "deep": deep}})
    assert [a["assistant_id"] for a in found.json()] == [r.json()["assistant_id"]], found.text


NUL_CASES: list[tuple[str, dict[str, Any]]] = [
    ("create", {"name": "a\u0000b"}),
    ("create", {"graph_id": "pla\u0000in"}),
    ("create", {"description": "\u0000"}),
    ("create", {"metadata": {"k": "v\u0000"}}),
    ("create", {"metadata": {"k\u0000": "v"}}),
    ("create", {"config": {"tags": ["\u0000"]}}),
    ("create", {"config": {"extra\u0000": 1}}),
    ("create", {"context": {"deep": [{"x": "\u0000"}]}}),
    ("create", {"assistant_id": "\u0000"}),
    ("patch", {"name": "\u0000"}),
    ("patch", {"metadata": {"k": ["\u0000"]}}),
    ("patch", {"config": {"configurable": {"k": "\u0000"}}}),
    ("search", {"name": "\u0000"}),
    ("search", {"metadata": {"k": "\u0000"}}),
    ("count", {"name": "\u0000"}),
    ("versions", {"metadata": {"\u0000": 1}}),
]


@pytest.mark.parametrize(("route", "fragment"), NUL_CASES, ids=[f"{r}-{json.dumps(f)}" for r, f in NUL_CASES])
async def test_a_string_containing_nul_is_422_and_stores_nothing(
    stored: Stored, route: str, fragment: dict[str, Any]
) -> None:
    method, path = BODY_ROUTES[route]
    before = await stored.state()
    r = await send(stored.http, method, stored.path(path), merge(base_body(route, stored), fragment))
    assert_error(r, 422)
    assert await stored.state() == before


# -- size limit ----------------------------------------------------------------------------------------


async def _in_chunks(raw: bytes, size: int = 500) -> AsyncIterator[bytes]:
    """An async body makes httpx send Transfer-Encoding: chunked, with no Content-Length up front."""
    for start in range(0, len(raw), size):
        yield raw[start : start + size]


@pytest.fixture
def small_server(start_server: Any) -> RunningServer:
    server: RunningServer = start_server(max_body_bytes=2048)
    return server


@pytest.mark.parametrize(("method", "path"), list(BODY_ROUTES.values()), ids=list(BODY_ROUTES))
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_a_body_over_the_limit_is_413_and_stores_nothing(
    small_server: RunningServer, tag: dict[str, str], method: str, path: str, framing: str
) -> None:
    async with httpx.AsyncClient(base_url=small_server.url, timeout=30) as http:
        made = await http.post("/assistants", json={"graph_id": "plain", "metadata": tag})
        assert made.status_code == 200, made.text
        stored = Stored(http, made.json(), tag, "unused")
        before = await stored.state()
        raw = json.dumps({"graph_id": "plain", "metadata": tag, "name": "x" * 4096, "version": 1}).encode()
        content: Any = _in_chunks(raw) if framing == "chunked" else raw
        r = await http.request(method, stored.path(path), content=content)
        assert "2048" in assert_error(r, 413), "the detail should state the limit"
        assert await stored.state() == before
        assert (await http.post("/assistants/count", json={"metadata": tag})).json() == 1


async def test_a_body_just_under_the_limit_is_accepted(
    small_server: RunningServer, tag: dict[str, str]
) -> None:
    body = {"graph_id": "plain", "metadata": tag, "name": ""}
    body["name"] = "x" * (2040 - len(json.dumps(body)))
    raw = json.dumps(body).encode()
    assert 2000 < len(raw) <= 2048
    async with httpx.AsyncClient(base_url=small_server.url, timeout=30) as http:
        r = await http.post("/assistants", content=raw)
        assert r.status_code == 200, r.text
        assert r.json()["name"] == body["name"]


# -- routes and methods that do not exist ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("POST", "/nope"),
        ("GET", "/assistant"),
        ("GET", "/assistants/{id}/nope"),
        ("POST", "/assistants/{id}/versions/1/nope"),
        ("GET", "/assistants/{id}/subgraphs/a/b"),
        ("GET", "/nope/nope"),
    ],
)
async def test_an_unknown_route_is_404_json(stored: Stored, method: str, path: str) -> None:
    assert_error(await send(stored.http, method, stored.path(path), b"{}"), 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/assistants", {"POST"}),
        ("PUT", "/assistants", {"POST"}),
        ("PUT", "/assistants/{id}", {"GET", "PATCH", "DELETE"}),
        ("POST", "/assistants/{id}", {"GET", "PATCH", "DELETE"}),
        ("GET", "/assistants/{id}/versions", {"POST"}),
        ("GET", "/assistants/{id}/latest", {"POST"}),
        ("POST", "/assistants/{id}/graph", {"GET"}),
        ("DELETE", "/assistants/{id}/schemas", {"GET"}),
        ("PATCH", "/assistants/{id}/subgraphs", {"GET"}),
        ("PUT", "/assistants/search", {"POST"}),
        ("PUT", "/assistants/count", {"POST"}),
        # Fixed paths beside a templated one: found by fuzzing, these once fell through to
        # GET /assistants/{assistant_id} (or /threads/{thread_id}) and answered 422 "not a UUID".
        ("GET", "/assistants/search", {"POST"}),
        ("DELETE", "/assistants/count", {"POST"}),
        ("PATCH", "/assistants/export", {"POST"}),
        ("GET", "/assistants/import", {"POST"}),
        ("GET", "/threads/search", {"POST"}),
        ("DELETE", "/threads/prune", {"POST"}),
    ],
)
async def test_a_wrong_method_is_405_json_with_allow_listing_every_method_of_the_path(
    stored: Stored, method: str, path: str, allowed: set[str]
) -> None:
    r = await send(stored.http, method, stored.path(path), b"{}")
    assert_error(r, 405)
    # RFC 9110: a 405 lists every method the resource supports, not just the first route's.
    listed = {m.strip() for m in r.headers.get("allow", "").split(",")}
    assert allowed <= listed, f"Allow: {r.headers.get('allow')!r}, expected it to include {sorted(allowed)}"


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("GET", "/assistants/{id}/graph", "xray=1&xray=2"),
        ("DELETE", "/assistants/{id}", "delete_threads=false&delete_threads=true"),
        ("GET", "/assistants/{id}/diff", "from=1&from=1"),
        ("GET", "/assistants/{id}/subgraphs", "recurse=true&recurse=true"),
        ("GET", "/threads/{thread}/runs", "limit=1&limit=2"),
        ("GET", "/threads/{thread}/history", "limit=1&limit=2"),
        ("GET", "/threads/{thread}/state", "subgraphs=true&subgraphs=false"),
    ],
)
async def test_a_single_valued_query_parameter_given_twice_is_422_naming_it(
    stored: Stored, method: str, path: str, query: str
) -> None:
    # Found by fuzzing: the second value was silently ignored, so ?limit=1&limit=2 meant limit=1.
    thread = await stored.http.post("/threads", json={})
    assert thread.status_code == 200, thread.text
    before = await stored.state()
    target = stored.path(path).replace("{thread}", thread.json()["thread_id"])
    r = await send(stored.http, method, f"{target}?{query}")
    assert query.split("=")[0] in assert_error(r, 422)
    assert await stored.state() == before


async def test_repeatable_query_parameters_take_every_value(stored: Stored) -> None:
    thread = (await stored.http.post("/threads", json={})).json()["thread_id"]
    run = await stored.http.post(f"/threads/{thread}/runs/wait", json={"assistant_id": "echo", "input": {}})
    assert run.status_code == 200, run.text
    r = await stored.http.get(f"/threads/{thread}/runs?select=run_id&select=status")
    assert r.status_code == 200, r.text
    assert [sorted(row) for row in r.json()] == [["run_id", "status"]]


# -- the error shape, pinned -----------------------------------------------------------------------------


async def test_the_error_body_is_exactly_detail_with_the_request_id_echoed(http: httpx.AsyncClient) -> None:
    unknown = str(uuid.uuid4())
    r = await http.get(f"/assistants/{unknown}", headers={"x-request-id": "trace-abc-123"})
    assert r.status_code == 404, r.text
    assert r.headers["content-type"] == "application/json", r.headers
    assert r.json() == {"detail": f"Assistant {unknown} not found"}
    assert r.headers["x-request-id"] == "trace-abc-123", "a caller's own request id is echoed back"
    generated = await http.get(f"/assistants/{unknown}")
    assert len(generated.headers["x-request-id"]) >= 16, "without one, the server makes one up"
    assert generated.headers["x-request-id"] != r.headers["x-request-id"]


# -- valid input that must still be accepted ------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/octet-stream", "nonsense"],
)
async def test_json_is_read_whatever_the_content_type_says(
    http: httpx.AsyncClient, tag: dict[str, str], content_type: str | None
) -> None:
    raw = json.dumps({"graph_id": "plain", "metadata": tag, "name": "typed"}).encode()
    headers = {} if content_type is None else {"content-type": content_type}
    r = await http.post("/assistants", content=raw, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["metadata"] == tag, r.text
    assert r.json()["name"] == "typed", r.text


@pytest.mark.parametrize("route", list(BODY_ROUTES))
async def test_unknown_body_keys_are_ignored(stored: Stored, route: str) -> None:
    method, path = BODY_ROUTES[route]
    body = merge(base_body(route, stored), {"bogus": {"deep": [1]}, "": 1, "Limit": "x"})
    r = await send(stored.http, method, stored.path(path), body)
    assert r.status_code == 200, r.text
    if isinstance(r.json(), dict):
        assert "bogus" not in r.json(), "unknown keys are ignored, not echoed"


async def test_null_counts_as_omitted_only_where_the_official_server_allows_it(
    http: httpx.AsyncClient, tag: dict[str, str]
) -> None:
    nulls = {"assistant_id": None, "description": None}
    r = await http.post(
        "/assistants", json={"graph_id": "plain", "metadata": tag, "if_exists": None, **nulls}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["config"], r.json()["context"], r.json()["name"]) == ({}, {}, "Untitled")


# Where the official server refuses null, so does graphdock, naming the field: reading it as
# "omitted" guesses wrong when a client means "clear".
NOT_NULL = {
    ("POST", "/assistants"): ("config", "context", "metadata", "name", "graph_id"),
    ("PATCH", "/assistants/{id}"): ("config", "context", "metadata", "name", "graph_id"),
    ("POST", "/assistants/search"): ("graph_id", "name"),
    ("POST", "/assistants/count"): ("graph_id", "name"),
}


@pytest.mark.parametrize(
    ("method", "path", "field"), [(m, p, f) for (m, p), fields in NOT_NULL.items() for f in fields]
)
async def test_null_where_the_official_server_refuses_it_is_422_naming_the_field(
    http: httpx.AsyncClient, tag: dict[str, str], method: str, path: str, field: str
) -> None:
    created = await http.post("/assistants", json={"graph_id": "plain", "metadata": tag, "name": "kept"})
    assert created.status_code == 200, created.text
    assistant = created.json()
    body: dict[str, Any] = {"graph_id": "plain"} if path == "/assistants" else {}
    r = await http.request(
        method, path.replace("{id}", assistant["assistant_id"]), json={**body, field: None}
    )
    assert field in assert_error(r, 422)
    after = await http.get(f"/assistants/{assistant['assistant_id']}")
    assert (after.json()["version"], after.json()["name"]) == (1, "kept"), "nothing was changed"


@pytest.mark.parametrize("path", ["/assistants/search", "/threads/search", "/runs/crons/search"])
async def test_sort_order_is_asc_or_desc(http: httpx.AsyncClient, path: str) -> None:
    for order in ("asc", "desc"):
        r = await http.post(path, json={"sort_order": order, "limit": 1})
        assert r.status_code == 200, r.text
    assert "sort_order" in assert_error(await http.post(path, json={"sort_order": "DESC"}), 422)


@pytest.mark.parametrize(
    "number", [b"18446744073709551616", b"123456789012345678901234567890", b"-9223372036854775809"]
)
async def test_an_integer_beyond_64_bits_is_refused_or_read_back_exactly(
    http: httpx.AsyncClient, tag: dict[str, str], number: bytes
) -> None:
    # Never silently turned into a float: metadata must read back digit for digit as it was sent.
    tagged = b'{"graph_id": "plain", "metadata": {"test": "' + tag["test"].encode()
    r = await send(http, "POST", "/assistants", tagged + b'", "big_number": ' + number + b"}}")
    if r.status_code == 200:
        got = await http.get(f"/assistants/{r.json()['assistant_id']}")
        assert b'"big_number":' + number in got.content, f"sent {number.decode()}, read back {got.text}"
    else:
        assert "big_number" in assert_error(r, 422)


async def test_duplicate_keys_in_raw_json_take_the_last_value(
    http: httpx.AsyncClient, tag: dict[str, str]
) -> None:
    raw = b'{"graph_id": "no-such-graph", "graph_id": "plain", "metadata": ' + json.dumps(tag).encode() + b"}"
    r = await send(http, "POST", "/assistants", raw)
    assert r.status_code == 200, r.text
    assert r.json()["graph_id"] == "plain"


# -- no input produces a 500 ----------------------------------------------------------------------------

ODD_VALUES: list[Any] = [
    [[[[[]]]]],
    [[1, [2, [3, [4]]]]],
    [None, True, 0, "", {}],
    18446744073709551615,
    9223372036854775808,
    9223372036854775807,
    -9223372036854775808,
    1e308,
    -1e308,
    5e-324,
    -0.0,
    0,
    -1,
    2.5,
    "",
    " ",
    "x" * 100_000,
    "\u2603 \u00fcn\u00efc\u00f8d\u00e9 \U0001f642",
    "\u202eright-to-left",
    "\x7f\x1b[31m\t\n",
    "' OR 1=1 --",
    "%s%n{0}",
    {"": ""},
    {"\u043a\u043b\u044e\u0447": {"\U0001f642": []}},
    {"a" * 1000: 1},
    {str(i): i for i in range(300)},
    {"a": nest(40, 1)},
    True,
    False,
    None,
]
RAW_BODIES: list[bytes] = [
    b'{"graph_id": "plain", "graph_id": 5}',
    b'{"metadata": {"a": 1, "a": [1, 2]}, "metadata": {"b": {}}}',
    b'{"limit": 1e2}',
    b'{"limit": 1E400}',
    b'{"offset": -0}',
    b'{"version": 18446744073709551616}',
    b'{"version": -18446744073709551616}',
    b'{"graph_id": "plain", "metadata": {"n": 123456789012345678901234567890}}',
    b"\xef\xbb\xbf{}",
    b"\xff\xfe{\x00}\x00",
    b'{"name": "\\ud83d\\ude00"}',
    b'{"name": "\\udc00\\ud800"}',
    b'{"\\u0000": 1}',
    b"{" + b'"k": 1, ' * 5000 + b'"k": 2}',
    b'{"metadata": ' + b'{"a": ' * 64 + b"1" + b"}" * 64 + b"}",
]

SWEEP_FIELDS: dict[str, list[tuple[str, ...]]] = {
    "create": [
        ("graph_id",),
        ("assistant_id",),
        ("config",),
        ("config", "configurable"),
        ("config", "tags"),
        ("config", "recursion_limit"),
        ("config", "extra"),
        ("context",),
        ("metadata",),
        ("metadata", "k"),
        ("name",),
        ("description",),
        ("if_exists",),
        ("",),
    ],
    "patch": [
        ("graph_id",),
        ("config",),
        ("config", "configurable"),
        ("config", "tags"),
        ("config", "recursion_limit"),
        ("context",),
        ("metadata",),
        ("metadata", "k"),
        ("name",),
        ("description",),
    ],
    "versions": [("metadata",), ("metadata", "k"), ("limit",), ("offset",)],
    "latest": [("version",), ("metadata",)],
    "search": [
        ("metadata",),
        ("metadata", "k"),
        ("graph_id",),
        ("name",),
        ("limit",),
        ("offset",),
        ("sort_by",),
        ("sort_order",),
        ("select",),
    ],
    "count": [("metadata",), ("metadata", "k"), ("graph_id",), ("name",)],
}
# The schema-checked graphs get the odd values too (create and patch run them through jsonschema).
SWEEP_BASES: dict[str, list[dict[str, Any]]] = {
    "create": [{"graph_id": "plain"}, {"graph_id": "agent"}, {"graph_id": "dataclass"}],
    "patch": [{}, {"graph_id": "agent"}],
}


def sweep_bodies(route: str) -> Iterator[bytes]:
    """Every odd value in every field of the route, over each base body, then the raw oddities."""
    for base in SWEEP_BASES.get(route, [{"version": 1} if route == "latest" else {}]):
        for field in SWEEP_FIELDS[route]:
            for value in ODD_VALUES:
                body: dict[str, Any] = dict(base)
                if len(field) == 1:
                    body[field[0]] = value
                else:
                    body[field[0]] = {field[1]: value}
                yield json.dumps(body).encode()
    yield from RAW_BODIES


@pytest.fixture(scope="module")
def sweep_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Its own database: the sweep stores hundreds of odd assistants other tests should not see."""
    db: Path = tmp_path_factory.mktemp("sweep") / "graphdock.sqlite3"
    with serve(settings_for(db)) as running:
        yield running


@pytest.fixture
async def sweep_http(sweep_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    # A fresh connection per request: the harness's server sockets lack TCP_NODELAY, so a reused
    # connection waits ~40 ms (Nagle vs delayed ACK) on every request, and the sweep sends thousands.
    no_keepalive = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=sweep_server.url, timeout=60, limits=no_keepalive) as http:
        yield http


def _check_answer(r: httpx.Response, failures: list[str], what: str) -> None:
    if r.status_code >= 500 or not r.headers.get("x-request-id"):
        failures.append(f"{what} -> {r.status_code} {r.text[:200]}")
    elif r.status_code >= 400:
        try:
            assert_error(r, r.status_code)
        except AssertionError as exc:
            failures.append(f"{what} -> {exc}")


@pytest.mark.parametrize("route", list(BODY_ROUTES))
async def test_no_odd_body_produces_a_500_and_everything_stored_reads_back(
    sweep_http: httpx.AsyncClient, route: str
) -> None:
    made = await sweep_http.post("/assistants", json={"graph_id": "agent"})
    assert made.status_code == 200, made.text
    target = made.json()["assistant_id"]
    method, path = BODY_ROUTES[route]
    failures: list[str] = []
    sent = 0
    for raw in sweep_bodies(route):
        r = await sweep_http.request(method, path.replace("{id}", target), content=raw)
        _check_answer(r, failures, f"{method} {path} {raw[:120]!r}")
        sent += 1
    assert sent >= 30
    # Whatever was accepted must read back: every page of the search, every version, every schema.
    offset = 0
    while True:
        page = await sweep_http.post("/assistants/search", json={"limit": 1000, "offset": offset})
        _check_answer(page, failures, f"search offset={offset}")
        if page.status_code != 200 or "X-Pagination-Next" not in page.headers:
            break
        offset = int(page.headers["X-Pagination-Next"])
    versions = await sweep_http.post(f"/assistants/{target}/versions", json={"limit": 1000})
    _check_answer(versions, failures, "versions of the target")
    for suffix in ("", "/graph", "/schemas", "/subgraphs"):
        _check_answer(await sweep_http.get(f"/assistants/{target}{suffix}"), failures, f"GET {suffix or '/'}")
    assert not failures, f"{len(failures)} of {sent} odd bodies broke the contract:\n" + "\n".join(
        failures[:25]
    )


ODD_PATH_IDS = [
    "nope",
    "agent",
    "%00",
    "%FF",
    "%25",
    "%2E%2E",
    "x" * 5000,
    "\u2603",
    "%F0%9F%99%82",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "+2345678123456781234567812345678",
    "1_345678123456781234567812345678",
    "urn:uuid:" + "0" * 32,
]
ODD_QUERY = [
    "",
    "0",
    "1",
    "-1",
    "true",
    "maybe",
    "\u00b2",
    "\u0661",
    "9" * 400,
    "%00",
    "1e3",
    "0x10",
    " 1",
    "[]",
]


async def test_no_odd_path_or_query_produces_a_500(sweep_http: httpx.AsyncClient) -> None:
    made = await sweep_http.post("/assistants", json={"graph_id": "nested"})
    assert made.status_code == 200, made.text
    real = made.json()["assistant_id"]
    failures: list[str] = []
    sent = 0
    for name, template in [
        ("xray", "/assistants/{id}/graph"),
        ("recurse", "/assistants/{id}/subgraphs"),
        ("recurse", "/assistants/{id}/subgraphs/child"),
    ]:
        for value in ODD_QUERY:
            r = await sweep_http.get(template.replace("{id}", real), params={name: value})
            _check_answer(r, failures, f"GET {template}?{name}={value[:40]!r}")
            sent += 1
    for namespace in ["%00", "x" * 3000, "child%7Cgrandchild", "child|grandchild", "\u2603", "%2F"]:
        r = await sweep_http.get(f"/assistants/{real}/subgraphs/{namespace}", params={"recurse": "true"})
        _check_answer(r, failures, f"GET subgraphs/{namespace[:40]!r}")
        sent += 1
    for value in ODD_QUERY:
        r = await sweep_http.delete(f"/assistants/{uuid.uuid4()}", params={"delete_threads": value})
        _check_answer(r, failures, f"DELETE ?delete_threads={value[:40]!r}")
        sent += 1
    # DELETE last: it removes the real assistant the other routes read.
    for method, template, body in sorted(BY_ID, key=lambda route: route[0] == "DELETE"):
        for some_id in [*ODD_PATH_IDS, real]:
            r = await send(sweep_http, method, template.replace("{id}", some_id), body)
            _check_answer(r, failures, f"{method} {template} id={some_id[:40]!r}")
            sent += 1
    assert not failures, f"{len(failures)} of {sent} odd requests broke the contract:\n" + "\n".join(
        failures[:25]
    )

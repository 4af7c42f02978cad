"""The OpenAPI document: OpenAPI 3.1 in shape, complete, and truthful about what the server answers."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from graphdock.api import ui
from graphdock.app import create_app
from tests.conftest import RunningServer, settings_for

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
_ID = "/assistants/{assistant_id}"
ASSISTANTS_OPERATIONS = {
    ("post", "/assistants"),
    ("post", "/assistants/search"),
    ("post", "/assistants/count"),
    ("get", _ID),
    ("patch", _ID),
    ("delete", _ID),
    ("post", _ID + "/versions"),
    ("post", _ID + "/latest"),
    ("get", _ID + "/graph"),
    ("get", _ID + "/schemas"),
    ("get", _ID + "/subgraphs"),
    ("get", _ID + "/subgraphs/{namespace}"),
}
# graphdock's own version management, beside the platform's twelve.
GRAPHDOCK_OPERATIONS = {
    ("get", _ID + "/versions/{version}"),
    ("delete", _ID + "/versions/{version}"),
    ("post", _ID + "/versions/{version}/restore"),
    ("get", _ID + "/diff"),
    ("post", "/assistants/export"),
    ("post", "/assistants/import"),
    ("get", _ID + "/runs"),
    ("get", _ID + "/versions/summary"),
}
# Served, but about the API rather than part of it.
# Served but not part of the API it describes: the document itself, its reader, and the web UI.
META_PATHS = {"/openapi.json", "/docs", *(endpoint.path for endpoint in ui.ENDPOINTS)}


@pytest.fixture(scope="module")
def document(server: RunningServer) -> dict[str, Any]:
    r = httpx.get(f"{server.url}/openapi.json", timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json"), r.headers
    doc: dict[str, Any] = r.json()
    return doc


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield method, path, op


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` (one hop is all the document uses)."""
    if "$ref" not in node:
        return node
    target: Any = doc
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    assert isinstance(target, dict), node["$ref"]
    return target


def validator(doc: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator whose `#/components/...` refs resolve against the document's components."""
    return Draft202012Validator({**schema, "components": doc["components"]})


def response_schema(doc: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    response = doc["paths"][path][method]["responses"][str(status)]
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


def assert_matches(doc: dict[str, Any], method: str, path: str, r: httpx.Response) -> None:
    schema = response_schema(doc, method, path, r.status_code)
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator(doc, schema).iter_errors(r.json())
    ]
    assert not errors, (
        f"{method.upper()} {path} {r.status_code} does not match its documented schema: {errors[:5]}"
    )


# -- shape ----------------------------------------------------------------------------------------------


def test_the_document_is_openapi_3_1_in_shape(document: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"]), document["openapi"]
    assert isinstance(document["info"]["title"], str), document["info"]
    assert document["info"]["title"], document["info"]
    assert isinstance(document["info"]["version"], str), document["info"]
    assert document["paths"], "no paths documented"
    seen_ids: set[str] = set()
    for path, item in document["paths"].items():
        assert path.startswith("/"), path
        assert set(item) <= HTTP_METHODS | {"summary", "description", "parameters"}, (path, sorted(item))
    for method, path, op in operations(document):
        where = f"{method.upper()} {path}"
        assert op["operationId"] not in seen_ids, f"{where}: duplicate operationId {op['operationId']}"
        seen_ids.add(op["operationId"])
        assert op["responses"], f"{where}: no responses"
        for code, response in op["responses"].items():
            assert re.fullmatch(r"[1-5]\d\d|default", code), f"{where}: response key {code!r}"
            assert isinstance(response.get("description"), str), (
                f"{where} {code}: a response needs a description"
            )
        templated = set(re.findall(r"\{([^}]+)\}", path))
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == templated, f"{where}: path parameters {declared} vs template {templated}"
        for p in op.get("parameters", []):
            assert p["in"] in {"path", "query", "header", "cookie"}, f"{where}: {p}"
            assert "schema" in p, f"{where}: parameter {p['name']} has no schema"
            assert p["in"] != "path" or p.get("required") is True, (
                f"{where}: path parameters must be required"
            )
        if "requestBody" in op:
            assert "application/json" in op["requestBody"]["content"], f"{where}: {op['requestBody']}"


def test_every_component_is_a_valid_json_schema_and_every_ref_resolves(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    assert components, "no component schemas"
    for schema in components.values():
        Draft202012Validator.check_schema(schema)  # raises, naming the problem
    for ref in set(refs(document)):
        assert ref.startswith("#/components/schemas/"), f"non-local or odd $ref {ref}"
        assert ref.removeprefix("#/components/schemas/") in components, f"$ref {ref} resolves to nothing"


def test_all_twelve_assistants_operations_and_graphdocks_own_are_documented(document: dict[str, Any]) -> None:
    documented = {(m, p) for m, p, _ in operations(document) if p.startswith("/assistants")}
    expected = ASSISTANTS_OPERATIONS | GRAPHDOCK_OPERATIONS
    assert documented == expected, (
        f"missing {sorted(expected - documented)}, unexpected {sorted(documented - expected)}"
    )


def test_writes_that_honour_if_match_document_the_header_and_412(document: dict[str, Any]) -> None:
    for method, path in [
        ("patch", _ID),
        ("delete", _ID),
        ("post", _ID + "/latest"),
        ("delete", _ID + "/versions/{version}"),
        ("post", _ID + "/versions/{version}/restore"),
    ]:
        op = document["paths"][path][method]
        assert any(p["in"] == "header" and p["name"] == "If-Match" for p in op["parameters"]), (method, path)
        assert "412" in op["responses"], (method, path)
    assert "ETag" in document["paths"][_ID]["get"]["responses"]["200"]["headers"]


def test_every_route_the_server_serves_is_documented_and_nothing_else(
    document: dict[str, Any], tmp_path: Path
) -> None:
    app = create_app(settings_for(tmp_path / "unused.sqlite3"))
    served = {
        (method.lower(), route.path)
        for route in app.routes
        for method in getattr(route, "methods", None) or ()
        if method != "HEAD" and getattr(route, "path", None) not in META_PATHS
    }
    documented = {(m, p) for m, p, _ in operations(document)}
    assert served == documented, (
        f"undocumented {sorted(served - documented)}, not served {sorted(documented - served)}"
    )


def test_delete_documents_204_with_no_content(document: dict[str, Any]) -> None:
    responses = document["paths"][_ID]["delete"]["responses"]
    assert "204" in responses, sorted(responses)
    assert "content" not in responses["204"], responses["204"]
    assert not [code for code in responses if code.startswith("2") and code != "204"], sorted(responses)
    flag = [p for p in document["paths"][_ID]["delete"]["parameters"] if p["name"] == "delete_threads"]
    assert flag, "the delete_threads query flag is documented"
    assert flag[0]["in"] == "query", flag
    assert flag[0]["schema"]["type"] == "boolean", flag


def test_latest_documents_its_request_body_with_an_integer_version(document: dict[str, Any]) -> None:
    body = document["paths"][_ID + "/latest"]["post"]["requestBody"]
    assert body.get("required") is True, body
    schema = resolve(document, body["content"]["application/json"]["schema"])
    assert schema["properties"]["version"]["type"] == "integer", schema
    assert "version" in schema.get("required", []), schema
    assert validator(document, schema).is_valid({"version": 3})
    assert not validator(document, schema).is_valid({"version": "3"})


def test_search_documents_the_pagination_header(document: dict[str, Any]) -> None:
    ok = document["paths"]["/assistants/search"]["post"]["responses"]["200"]
    assert "X-Pagination-Next" in ok.get("headers", {}), ok


def test_graph_documents_xray_and_subgraphs_document_recurse(document: dict[str, Any]) -> None:
    for path, name in [
        (_ID + "/graph", "xray"),
        (_ID + "/subgraphs", "recurse"),
        (_ID + "/subgraphs/{namespace}", "recurse"),
    ]:
        params = {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}
        assert name in params, f"GET {path} does not document ?{name}"
        assert params[name]["in"] == "query", params[name]


# Found by fuzzing the server against its own document (tests/fuzz).

STREAMS = [
    ("post", "/threads/{thread_id}/runs/stream"),
    ("post", "/runs/stream"),
    ("get", "/threads/{thread_id}/runs/{run_id}/stream"),
]


@pytest.mark.parametrize(("method", "path"), STREAMS)
def test_streams_are_documented_as_server_sent_events_not_json(
    document: dict[str, Any], method: str, path: str
) -> None:
    ok = document["paths"][path][method]["responses"]["200"]
    assert list(ok["content"]) == ["text/event-stream"], ok
    # Each event is described as tools parse it: its `event` name, its `data` and its `id`.
    event = ok["content"]["text/event-stream"]["schema"]
    assert event["type"] == "object", event
    assert set(event["properties"]) == {"event", "data", "id"}, event


def test_cancel_documents_202_and_the_200_that_wait_answers(document: dict[str, Any]) -> None:
    cancel = document["paths"]["/threads/{thread_id}/runs/{run_id}/cancel"]["post"]
    assert "202" in cancel["responses"], sorted(cancel["responses"])
    assert "application/json" in cancel["responses"]["200"]["content"], cancel["responses"]
    assert {p["name"] for p in cancel["parameters"]} >= {"wait", "action"}


def test_thread_and_run_ids_in_paths_are_documented_as_uuids(document: dict[str, Any]) -> None:
    seen = set()
    for _, _, op in operations(document):
        for param in op["parameters"]:
            if param["in"] == "path" and param["name"] in ("thread_id", "run_id"):
                assert param["schema"] == {"type": "string", "format": "uuid"}, param
                seen.add(param["name"])
    assert seen == {"thread_id", "run_id"}


@pytest.mark.parametrize(
    ("method", "path", "where", "name"),
    [
        ("get", "/threads/{thread_id}/state", "query", "subgraphs"),
        ("get", "/threads/{thread_id}/state/{checkpoint_id}", "query", "subgraphs"),
        ("get", "/threads/{thread_id}/history", "query", "limit"),
        ("get", "/threads/{thread_id}/history", "query", "before"),
        ("get", "/threads/{thread_id}/runs", "query", "select"),
        ("get", "/threads/{thread_id}/runs/{run_id}/stream", "query", "stream_mode"),
        ("get", "/threads/{thread_id}/runs/{run_id}/stream", "header", "Last-Event-ID"),
        ("post", "/runs/cancel", "query", "action"),
    ],
)
def test_every_parameter_a_handler_reads_is_documented(
    document: dict[str, Any], method: str, path: str, where: str, name: str
) -> None:
    params = {(p["in"], p["name"]) for p in document["paths"][path][method]["parameters"]}
    assert (where, name) in params, sorted(params)


async def test_cancel_with_wait_answers_200_with_its_documented_schema(
    http: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    thread = (await http.post("/threads", json={})).json()["thread_id"]
    run = await http.post(f"/threads/{thread}/runs", json={"assistant_id": "slow", "input": {"delay": 5}})
    assert run.status_code == 200, run.text
    path = "/threads/{thread_id}/runs/{run_id}/cancel"
    r = await http.post(f"/threads/{thread}/runs/{run.json()['run_id']}/cancel", params={"wait": "true"})
    assert r.status_code == 200, r.text
    assert_matches(document, "post", path, r)


async def test_listing_runs_with_select_matches_its_documented_schema(
    http: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    thread = (await http.post("/threads", json={})).json()["thread_id"]
    done = await http.post(f"/threads/{thread}/runs/wait", json={"assistant_id": "echo", "input": {}})
    assert done.status_code == 200, done.text
    r = await http.get(f"/threads/{thread}/runs", params={"select": "status"})
    assert r.status_code == 200, r.text
    assert r.json() == [{"status": "success"}]
    assert_matches(document, "get", "/threads/{thread_id}/runs", r)


# -- truthful: the statuses and bodies the server really answers are documented ----------------------------

# (method, path, requests): each request is (path id, query, body); "{real}" is an assistant of the
# `nested` graph made for the test, "{unknown}" a UUID nobody has.
REQUESTS: list[tuple[str, str, list[tuple[str, dict[str, str] | None, Any]]]] = [
    (
        "post",
        "/assistants",
        [
            ("", None, {"graph_id": "plain"}),
            ("", None, {"graph_id": 5}),
            ("", None, {"graph_id": "no-such-graph"}),
            ("", None, {"graph_id": "plain", "config": {"configurable": {"a": 1}}, "context": {"a": 1}}),
            ("", None, {"graph_id": "plain", "assistant_id": "{real}"}),
        ],
    ),
    (
        "post",
        "/assistants/search",
        [("", None, {"limit": 1}), ("", None, {"limit": 0}), ("", None, {"graph_id": "no-such-graph"})],
    ),
    (
        "post",
        "/assistants/count",
        [("", None, {}), ("", None, {"metadata": []}), ("", None, {"graph_id": "nope"})],
    ),
    ("get", _ID, [("{real}", None, None), ("nope", None, None), ("{unknown}", None, None)]),
    (
        "patch",
        _ID,
        [
            ("{real}", None, {"name": "renamed"}),
            ("{real}", None, {"name": 5}),
            ("{real}", None, {"config": {"configurable": {"a": 1}}, "context": {"a": 1}}),
            ("{unknown}", None, {}),
        ],
    ),
    (
        "post",
        _ID + "/versions",
        [("{real}", None, {}), ("{real}", None, {"limit": 0}), ("{unknown}", None, {})],
    ),
    (
        "post",
        _ID + "/latest",
        [
            ("{real}", None, {"version": 1}),
            ("{real}", None, {"version": "1"}),
            ("{real}", None, {"version": 99}),
        ],
    ),
    (
        "get",
        _ID + "/graph",
        [
            ("{real}", {"xray": "true"}, None),
            ("{real}", {"xray": "maybe"}, None),
            ("nested", None, None),
            ("{unknown}", None, None),
        ],
    ),
    ("get", _ID + "/schemas", [("{real}", None, None), ("nope", None, None), ("{unknown}", None, None)]),
    (
        "get",
        _ID + "/subgraphs",
        [
            ("{real}", {"recurse": "true"}, None),
            ("{real}", {"recurse": "maybe"}, None),
            ("{unknown}", None, None),
        ],
    ),
    (
        "get",
        _ID + "/subgraphs/{namespace}",
        [("{real}", {"recurse": "true"}, None), ("{real}", {"recurse": "maybe"}, None), ("nope", None, None)],
    ),
    # DELETE last in its list: it removes the assistant.
    (
        "delete",
        _ID,
        [
            ("{real}", {"delete_threads": "maybe"}, None),
            ("nope", None, None),
            ("{unknown}", None, None),
            ("{real}", None, None),
        ],
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "requests"), REQUESTS, ids=[f"{m.upper()} {p}" for m, p, _ in REQUESTS]
)
async def test_every_status_a_route_answers_is_one_the_document_lists(
    http: httpx.AsyncClient, document: dict[str, Any], method: str, path: str, requests: list[tuple[Any, ...]]
) -> None:
    made = await http.post("/assistants", json={"graph_id": "nested"})
    assert made.status_code == 200, made.text
    real = made.json()["assistant_id"]
    documented = set(document["paths"][path][method]["responses"])
    answered: list[int] = []
    for request in requests:
        some_id, query, body = request
        some_id = some_id.replace("{real}", real).replace("{unknown}", str(uuid.uuid4()))
        url = path.replace("{assistant_id}", some_id).replace("{namespace}", "child")
        if isinstance(body, dict):
            body = json.loads(json.dumps(body).replace("{real}", real))
        r = await http.request(method, url, params=query, json=body)
        assert r.status_code < 500, f"{method.upper()} {url}: {r.status_code} {r.text}"
        assert str(r.status_code) in documented, (
            f"{method.upper()} {url} answered {r.status_code}, which {path} does not document ({sorted(documented)})"
        )
        answered.append(r.status_code)
    assert any(200 <= s < 300 for s in answered), f"no request succeeded: {answered}"
    assert any(s >= 400 for s in answered), f"no request failed: {answered}"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/assistants"),
        ("patch", _ID),
        ("post", _ID + "/versions"),
        ("post", _ID + "/latest"),
        ("post", "/assistants/search"),
        ("post", "/assistants/count"),
    ],
)
async def test_every_route_that_reads_a_body_documents_413(
    start_server: Any, document: dict[str, Any], method: str, path: str
) -> None:
    small: RunningServer = start_server(max_body_bytes=2048)
    async with httpx.AsyncClient(base_url=small.url, timeout=30) as http:
        made = await http.post("/assistants", json={"graph_id": "plain"})
        url = path.replace("{assistant_id}", made.json()["assistant_id"])
        r = await http.request(method, url, json={"graph_id": "plain", "name": "x" * 4096})
    assert r.status_code == 413, r.text
    documented = document["paths"][path][method]["responses"]
    assert "413" in documented, f"{method.upper()} {path} answers 413 but documents only {sorted(documented)}"


# -- truthful: real bodies validate against the documented schemas -------------------------------------------


async def test_real_responses_validate_against_their_documented_schemas(
    http: httpx.AsyncClient, document: dict[str, Any], tag: dict[str, str]
) -> None:
    created = await http.post(
        "/assistants",
        json={"graph_id": "agent", "metadata": tag, "context": {"system_prompt": "hi"}, "description": "d"},
    )
    assert created.status_code == 200, created.text
    assert_matches(document, "post", "/assistants", created)
    aid = created.json()["assistant_id"]
    patched = await http.patch(f"/assistants/{aid}", json={"name": "v2", "config": {"tags": ["t"]}})
    assert patched.status_code == 200, patched.text
    assert_matches(document, "patch", _ID, patched)
    checks = [
        ("get", _ID, await http.get(f"/assistants/{aid}")),
        ("post", "/assistants/search", await http.post("/assistants/search", json={"metadata": tag})),
        ("post", _ID + "/versions", await http.post(f"/assistants/{aid}/versions", json={})),
        ("post", _ID + "/latest", await http.post(f"/assistants/{aid}/latest", json={"version": 1})),
        ("post", "/assistants/count", await http.post("/assistants/count", json={"metadata": tag})),
        ("get", _ID + "/schemas", await http.get(f"/assistants/{aid}/schemas")),
        ("get", _ID + "/graph", await http.get(f"/assistants/{aid}/graph")),
        ("get", _ID, await http.get(f"/assistants/{uuid.uuid4()}")),
        ("post", "/assistants", await http.post("/assistants", json={"graph_id": 5})),
    ]
    for method, path, r in checks:
        assert r.status_code < 500, r.text
        assert_matches(document, method, path, r)
    search = checks[1][2].json()
    assert len(search) == 1, search
    assert len(checks[2][2].json()) == 2, "both versions listed"


async def test_a_search_with_select_matches_its_documented_schema(
    http: httpx.AsyncClient, document: dict[str, Any], tag: dict[str, str]
) -> None:
    # `select` is documented in the request body, so its answer must fit the documented response too.
    created = await http.post("/assistants", json={"graph_id": "plain", "metadata": tag})
    assert created.status_code == 200, created.text
    r = await http.post("/assistants/search", json={"metadata": tag, "select": ["assistant_id", "name"]})
    assert r.status_code == 200, r.text
    assert r.json() == [{"assistant_id": created.json()["assistant_id"], "name": "Untitled"}]
    assert_matches(document, "post", "/assistants/search", r)


# -- the human-readable page ---------------------------------------------------------------------------------


async def test_docs_is_self_contained_html_rendered_from_openapi_json(http: httpx.AsyncClient) -> None:
    r = await http.get("/docs")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html"), r.headers
    html = r.text
    assert "<html" in html.lower(), html[:200]
    assert "/openapi.json" in html, "the page should load the machine-readable document"
    # graphdock works offline: no script, stylesheet or module fetched from another origin.
    external = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", html, re.IGNORECASE)
    assert not [t for t in tags if external.search(t)], [t for t in tags if external.search(t)]
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.IGNORECASE | re.DOTALL)
    assert scripts, "the page renders the document with an inline script"
    for script in scripts:
        assert not re.search(r"https?://|[\"'`]//", script), (
            "inline scripts must not load from another origin"
        )

"""`http.app` (a project's Starlette or FastAPI app beside the API), the `disable_*` flags,
`mount_prefix`, and the one warning naming every langgraph.json key graphdock ignores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client

from graphdock.app import create_app
from graphdock.errors import ConfigError
from graphdock.settings import Settings
from tests.api.http_projects import HTTP_APPS, project
from tests.conftest import RunningServer, serve, settings_for

STARLETTE_APP = f"{HTTP_APPS}/starlette_app.py"
KEY = "ci:http-app-key-15"


def test_a_starlette_app_is_served_beside_the_api_with_its_middleware_and_lifespan(
    start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    running = start_server(project(tmp_path, {"app": f"{STARLETTE_APP}:app"}))
    r = httpx.get(running.url + "/custom/hello/ada", timeout=30)
    assert r.status_code == 200, r.text
    # The project's lifespan ran inside graphdock's, and its state reached its routes.
    assert r.json() == {"hello": "ada", "state": "hello from the custom lifespan"}
    assert r.headers["x-custom-middleware"] == "before-auth"
    assert "x-request-id" in r.headers
    # The API is untouched, and the project's middleware sees its requests too.
    api = httpx.post(running.url + "/threads", json={}, timeout=30)
    assert api.status_code == 200, api.text
    assert api.headers["x-custom-middleware"] == "before-auth"
    wrong = httpx.delete(running.url + "/custom/hello", timeout=30)
    assert wrong.status_code == 405, wrong.text


def test_custom_routes_are_open_unless_enable_custom_route_auth(
    start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    key = {"x-api-key": KEY.split(":")[1]}
    open_routes = start_server(
        project(tmp_path / "a", {"app": f"{STARLETTE_APP}:app"}), db=tmp_path / "a.db", api_keys=KEY
    )
    assert httpx.get(open_routes.url + "/custom/hello", timeout=30).status_code == 200
    assert httpx.post(open_routes.url + "/threads", json={}, timeout=30).status_code == 401

    guarded = start_server(
        project(tmp_path / "b", {"app": f"{STARLETTE_APP}:app", "enable_custom_route_auth": True}),
        db=tmp_path / "b.db",
        api_keys=KEY,
    )
    denied = httpx.get(guarded.url + "/custom/hello", timeout=30)
    assert denied.status_code == 401, denied.text
    assert denied.json()["detail"]
    allowed = httpx.get(guarded.url + "/custom/hello", headers=key, timeout=30)
    assert allowed.status_code == 200, allowed.text
    # middleware_first (the default): the project's middleware runs before graphdock authenticates.
    assert allowed.headers["x-custom-middleware"] == "before-auth"


def test_middleware_order_auth_first_authenticates_before_the_projects_middleware(
    start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    http = {"app": f"{STARLETTE_APP}:app", "enable_custom_route_auth": True, "middleware_order": "auth_first"}
    running = start_server(project(tmp_path, http), api_keys=KEY)
    r = httpx.get(running.url + "/custom/hello", headers={"x-api-key": KEY.split(":")[1]}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["x-custom-middleware"] == "after-auth"
    # A request auth refuses never reaches the project's middleware.
    refused = httpx.get(running.url + "/custom/hello", timeout=30)
    assert refused.status_code == 401
    assert "x-custom-middleware" not in refused.headers


def test_a_fastapi_apps_openapi_paths_join_graphdocks(
    start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    running = start_server(project(tmp_path, {"app": f"{HTTP_APPS}/fastapi_app.py:app"}))
    document = httpx.get(running.url + "/openapi.json", timeout=30).json()
    assert "/custom/greet" in document["paths"]
    assert "/threads" in document["paths"]
    assert "Greeting" in document["components"]["schemas"]
    r = httpx.post(running.url + "/custom/greet", json={"name": "ada"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json() == {"greeting": "hello ada"}
    # FastAPI's own /docs and /openapi.json give way to graphdock's (which include its paths).
    assert httpx.get(running.url + "/docs", timeout=30).text.startswith("<!doctype html>")


def _settings(config: Path, tmp_path: Path) -> Settings:
    return Settings(config=config, database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}")


def test_a_custom_path_the_api_answers_stops_start_up(tmp_path: Path) -> None:
    config = project(tmp_path, {"app": f"{STARLETTE_APP}:colliding"})
    with pytest.raises(
        ConfigError, match=r"custom route /threads/mine collides with graphdock's /threads/\{thread_id\}"
    ):
        create_app(_settings(config, tmp_path))


def test_disabling_a_group_frees_its_paths_for_custom_routes(
    start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="custom route / collides"):
        create_app(_settings(project(tmp_path / "a", {"app": f"{STARLETTE_APP}:rooted"}), tmp_path))
    running = start_server(project(tmp_path / "b", {"app": f"{STARLETTE_APP}:rooted", "disable_ui": True}))
    r = httpx.get(running.url + "/", timeout=30)
    assert r.status_code == 200, r.text
    assert r.json() == {"mine": True}


@pytest.mark.parametrize(
    ("flag", "gone", "kept"),
    [
        ("disable_assistants", ("GET", "/assistants/search"), ("POST", "/threads")),
        ("disable_threads", ("POST", "/threads"), ("POST", "/assistants/search")),
        ("disable_runs", ("POST", "/runs/wait"), ("POST", "/threads")),
        ("disable_meta", ("GET", "/info"), ("POST", "/threads")),
        ("disable_ui", ("GET", "/"), ("GET", "/info")),
        ("disable_store", ("GET", "/store/items"), ("POST", "/threads")),
        ("disable_mcp", ("POST", "/mcp"), ("POST", "/threads")),
        ("disable_a2a", ("POST", "/a2a/00000000-0000-4000-8000-000000000001"), ("POST", "/threads")),
    ],
)
def test_disable_flags_turn_off_their_route_group(
    start_server: Callable[..., RunningServer],
    tmp_path: Path,
    flag: str,
    gone: tuple[str, str],
    kept: tuple[str, str],
) -> None:
    running = start_server(project(tmp_path, {flag: True}))
    assert httpx.request(gone[0], running.url + gone[1], json={}, timeout=30).status_code in (404, 405)
    r = httpx.request(kept[0], running.url + kept[1], json={}, timeout=30)
    assert r.status_code == 200, r.text
    if flag in ("disable_assistants", "disable_threads", "disable_runs"):
        paths = httpx.get(running.url + "/openapi.json", timeout=30).json()["paths"]
        assert gone[1] not in paths
        assert kept[1] in paths


async def test_mount_prefix_serves_everything_under_it(
    start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    running = start_server(project(tmp_path, {"mount_prefix": "/my/api", "app": f"{STARLETTE_APP}:app"}))
    base = running.url + "/my/api"
    raw = httpx.AsyncClient(base_url=running.url, timeout=30)
    assert (await raw.post("/threads", json={})).status_code == 404
    for root in ("/ok", "/metrics", "/my/api/ok", "/my/api/info"):
        r = await raw.get(root)
        assert r.status_code == 200, (root, r.text)
    assert (await raw.get("/my/api/custom/hello")).status_code == 200
    # The official SDK works unchanged with the prefix in its URL, reconnect headers included.
    client = get_client(url=base)
    try:
        thread = await client.threads.create()
        created: list[str] = []
        chunks = [
            c
            async for c in client.runs.stream(
                thread["thread_id"],
                "echo",
                input={"messages": [{"role": "user", "content": "hi"}]},
                on_run_created=lambda meta: created.append(meta["run_id"]),
            )
        ]
        assert chunks[0].event == "metadata"
        assert created, "the SDK found no run id in Content-Location"
        run = await client.runs.get(thread["thread_id"], created[0])
        assert run["status"] == "success"
        r = await raw.post(
            f"/my/api/threads/{thread['thread_id']}/runs", json={"assistant_id": "echo", "input": {}}
        )
        assert r.status_code == 200, r.text
        assert r.headers["content-location"].startswith(f"/my/api/threads/{thread['thread_id']}/runs/")
    finally:
        await client.aclose()
        await raw.aclose()


def test_a_dotted_module_app_is_served_and_its_lifespan_runs_to_the_end(tmp_path: Path) -> None:
    # `package.module:attr`, imported as any module is: the same module object as the test's own.
    from tests.graphs.http import starlette_app

    starlette_app.EVENTS.clear()
    config = project(tmp_path, {"app": "tests.graphs.http.starlette_app:app"})
    with serve(settings_for(tmp_path / "db.sqlite3", config)) as running:
        r = httpx.get(running.url + "/custom/hello", timeout=30)
        assert r.status_code == 200, r.text
        assert r.json() == {"hello": "world", "state": "hello from the custom lifespan"}
        assert starlette_app.EVENTS == ["started"]
    # graphdock's shutdown exits the project's lifespan too.
    assert starlette_app.EVENTS == ["started", "stopped"]


@pytest.mark.parametrize(
    ("http", "message"),
    [
        ({"app": "no_colon"}, r"http\.app must look like './file\.py:app' or 'package\.module:app'"),
        ({"app": "./ui.js:app"}, r"http\.app: JavaScript apps are not supported"),
        ({"app": "./app.py:not-an-identifier"}, r"'not-an-identifier' is not a Python identifier"),
        ({"app": "./missing.py:app"}, r"http\.app '.*missing\.py:app': cannot import it: FileNotFoundError"),
        ({"app": "no_such_module_zz:app"}, r"cannot import it: ModuleNotFoundError"),
        ({"app": "tests.graphs.http.starlette_app:absent"}, r"the module has no attribute 'absent'"),
        ({"app": "json:dumps"}, r"expected a Starlette or FastAPI app, found function"),
        (
            {"middleware_order": "sideways"},
            r"http\.middleware_order must be 'middleware_first' or 'auth_first'",
        ),
        (
            {"configurable_headers": {"includes": "x-*"}},
            r"http\.configurable_headers\.includes must be a list",
        ),
        ({"logging_headers": ["x-a"]}, r"http\.logging_headers must be an object"),
        ({"disable_threads": "yes"}, r"http\.disable_threads must be true or false"),
        ({"enable_custom_route_auth": 1}, r"http\.enable_custom_route_auth must be true or false"),
    ],
)
def test_a_malformed_http_key_stops_start_up_naming_it(
    tmp_path: Path, http: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        create_app(_settings(project(tmp_path, http), tmp_path))


@pytest.mark.parametrize("prefix", ["api", "/api/", "/a//b", 3])
def test_a_malformed_mount_prefix_stops_start_up(tmp_path: Path, prefix: object) -> None:
    with pytest.raises(ConfigError, match=r"http\.mount_prefix must start with '/'"):
        create_app(_settings(project(tmp_path, {"mount_prefix": prefix}), tmp_path))


def test_one_warning_names_every_key_graphdock_ignores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project(
        tmp_path,
        {"disable_store": True, "unknown_http_key": 1},
        my_custom_key={"a": 1},
        ui={"agent": "./ui.tsx"},
        node_version="20",
        python_version="3.12",
        dockerfile_lines=[],
        store={"ttl": {"default_ttl": 10}},
        checkpointer={"ttl": {"default_ttl": 10}, "serde": {"pickle_fallback": True}},
        **{"$schema": "https://example.invalid/schema.json"},
    )
    capsys.readouterr()
    create_app(_settings(config, tmp_path))
    out = capsys.readouterr().out
    warning = [line for line in out.splitlines() if "config.not_implemented" in line]
    assert len(warning) == 1, out
    for key in ("my_custom_key", "node_version", "'ui'", "http.unknown_http_key", "checkpointer.serde"):
        assert key in warning[0]
    for other in (
        "python_version",
        "dockerfile_lines",
        "graphs",
        "dependencies",
        "'store'",
        "checkpointer.ttl",
    ):
        assert other not in warning[0]
    # Keys for `langgraph build`'s image are named too, in a warning of their own; `$schema` is not.
    (image,) = [line for line in out.splitlines() if "config.build_only" in line]
    assert "python_version" in image
    assert "dockerfile_lines" in image
    assert "$schema" not in out


def test_under_a_mount_prefix_the_open_paths_stay_open_and_the_rest_needs_a_key(
    start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    running = start_server(project(tmp_path, {"mount_prefix": "/p"}), api_keys=KEY)
    with httpx.Client(base_url=running.url, timeout=30) as client:
        for path in ("/ok", "/metrics", "/p/ok", "/p/info", "/p/openapi.json"):
            assert client.get(path).status_code == 200, path
        assert client.post("/p/threads", json={}).status_code == 401
        r = client.post("/p/threads", json={}, headers={"x-api-key": KEY.split(":")[1]})
        assert r.status_code == 200, r.text

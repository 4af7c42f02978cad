"""Browsers on other origins: CORS by default as `langgraph dev` answers, and `http.cors` instead.

Preflights are answered before authentication; errors (401, 403, 404, 405, 413, 422, 500) carry
the CORS headers so a page can read why it failed; Chromium's private-network preflight is answered.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from graphdock.app import create_app
from graphdock.errors import ConfigError
from graphdock.settings import Settings
from tests.api.http_projects import project
from tests.api.test_auth import AUTH_PROJECT
from tests.conftest import RunningServer

ORIGIN = "http://app.example:5173"
EXPOSED = {"content-location", "location", "x-pagination-next", "x-pagination-total", "x-request-id", "etag"}


def _preflight(
    url: str, method: str = "POST", headers: str = "content-type,x-api-key", **extra: str
) -> httpx.Response:
    asked = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }
    return httpx.options(url, headers={**asked, **extra}, timeout=30)


def _exposed(r: httpx.Response) -> set[str]:
    return {
        h.strip().lower() for h in r.headers.get("access-control-expose-headers", "").split(",") if h.strip()
    }


@pytest.mark.parametrize("path", ["/threads/search", "/threads", "/info", "/no/such/route"])
def test_a_preflight_is_answered_like_langgraph_dev(server_url: str, path: str) -> None:
    r = _preflight(server_url + path, headers="content-type,x-api-key,x-custom")
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    methods = {m.strip() for m in r.headers["access-control-allow-methods"].split(",")}
    assert methods == {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}
    assert r.headers["access-control-allow-headers"] == "content-type,x-api-key,x-custom"
    assert r.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in r.headers
    # Answered by the same front layer as every request: it has an id for the logs too.
    assert len(r.headers["x-request-id"]) == 32


def test_an_answer_to_a_request_without_origin_says_it_varies_on_origin(server_url: str) -> None:
    r = httpx.get(server_url + "/info", timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers.get_list("vary") == ["Origin"]
    assert "access-control-allow-origin" not in r.headers
    with_origin = httpx.get(server_url + "/info", headers={"Origin": ORIGIN}, timeout=30)
    assert with_origin.headers["access-control-allow-origin"] == "*"


def test_a_private_network_preflight_is_allowed(server_url: str) -> None:
    r = _preflight(server_url + "/threads", **{"Access-Control-Request-Private-Network": "true"})
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-private-network"] == "true"
    assert "access-control-allow-private-network" not in _preflight(server_url + "/threads").headers


def test_responses_expose_the_headers_the_clients_read(server_url: str) -> None:
    with httpx.Client(base_url=server_url, headers={"Origin": ORIGIN}, timeout=30) as client:
        created = client.post("/threads", json={})
        assert created.status_code == 200, created.text
        assert created.headers["access-control-allow-origin"] == "*"
        assert _exposed(created) >= EXPOSED
        page = client.post("/threads/search", json={"limit": 1})
        assert page.status_code == 200, page.text
        assert page.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/threads/00000000-0000-0000-0000-000000000000", None, 404),
        ("GET", "/threads/not-a-uuid", None, 422),
        ("POST", "/threads", [1, 2], 422),
        ("GET", "/no/such/route", None, 404),
        ("DELETE", "/threads/search", None, 405),
    ],
)
def test_errors_carry_the_cors_headers(
    server_url: str, method: str, path: str, body: object, status: int
) -> None:
    r = httpx.request(method, server_url + path, json=body, headers={"Origin": ORIGIN}, timeout=30)
    assert r.status_code == status, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    assert "x-request-id" in _exposed(r)
    assert "detail" in r.json()


def test_with_api_keys_a_preflight_needs_no_key_and_401_403_are_readable(
    start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    keyed = start_server(
        project(tmp_path / "keys"), db=tmp_path / "keys.sqlite3", api_keys="ci:s3cret-key-15"
    )
    r = _preflight(keyed.url + "/threads")
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    denied = httpx.post(keyed.url + "/threads", json={}, headers={"Origin": ORIGIN}, timeout=30)
    assert denied.status_code == 401, denied.text
    assert denied.headers["access-control-allow-origin"] == "*"
    allowed = httpx.post(
        keyed.url + "/threads", json={}, headers={"Origin": ORIGIN, "x-api-key": "s3cret-key-15"}, timeout=30
    )
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["access-control-allow-origin"] == "*"

    custom_auth = start_server(AUTH_PROJECT, db=tmp_path / "auth.sqlite3")
    carol = {"Origin": ORIGIN, "Authorization": "Bearer token-carol"}
    made = httpx.post(custom_auth.url + "/assistants", json={"graph_id": "echo"}, headers=carol, timeout=30)
    assert made.status_code == 200, made.text
    refused = httpx.delete(
        f"{custom_auth.url}/assistants/{made.json()['assistant_id']}", headers=carol, timeout=30
    )
    assert refused.status_code == 403, refused.text
    assert refused.headers["access-control-allow-origin"] == "*"


def test_a_413_carries_the_cors_headers(start_server: Callable[..., RunningServer]) -> None:
    running = start_server(max_body_bytes=2048)
    body = b'{"metadata": {"note": "' + b"a" * 5000 + b'"}}'
    r = httpx.post(
        running.url + "/threads",
        content=body,
        headers={"Origin": ORIGIN, "Content-Type": "application/json"},
        timeout=30,
    )
    assert r.status_code == 413, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    assert "detail" in r.json()


def test_a_500_carries_the_cors_headers(start_server: Callable[..., RunningServer], tmp_path: Path) -> None:
    app_file = Path(__file__).parents[1] / "graphs" / "http" / "starlette_app.py"
    running = start_server(project(tmp_path, {"app": f"{app_file}:app"}))
    r = httpx.get(running.url + "/custom/boom", headers={"Origin": ORIGIN}, timeout=30)
    assert r.status_code == 500, r.text
    assert r.json() == {"detail": "Internal Server Error"}
    assert r.headers["access-control-allow-origin"] == "*"


def test_http_cors_replaces_the_default(start_server: Callable[..., RunningServer], tmp_path: Path) -> None:
    cors = {
        "allow_origins": ["https://chat.example"],
        "allow_origin_regex": r"https://.*\.preview\.example",
        "allow_methods": ["GET", "POST"],
        "allow_headers": ["content-type", "x-api-key"],
        "allow_credentials": True,
        "expose_headers": ["x-pagination-next"],
        "max_age": 42,
    }
    running = start_server(project(tmp_path, {"cors": cors}))
    for origin in ("https://chat.example", "https://pr-7.preview.example"):
        r = httpx.options(
            running.url + "/threads",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-api-key",
            },
            timeout=30,
        )
        assert r.status_code == 200, r.text
        assert r.headers["access-control-allow-origin"] == origin
        assert r.headers["access-control-allow-credentials"] == "true"
        assert r.headers["access-control-max-age"] == "42"
        simple = httpx.post(running.url + "/threads", json={}, headers={"Origin": origin}, timeout=30)
        assert simple.status_code == 200, simple.text
        assert simple.headers["access-control-allow-origin"] == origin
        assert _exposed(simple) == {"x-pagination-next"}

    stranger = {"Origin": "https://evil.example"}
    r = httpx.post(running.url + "/threads", json={}, headers=stranger, timeout=30)
    assert r.status_code == 200, r.text  # the server answers; the browser withholds it from the page
    assert "access-control-allow-origin" not in r.headers
    refused = httpx.options(
        running.url + "/threads", headers={**stranger, "Access-Control-Request-Method": "POST"}, timeout=30
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    # Methods outside allow_methods fail their preflight.
    put = httpx.options(
        running.url + "/threads",
        headers={"Origin": "https://chat.example", "Access-Control-Request-Method": "DELETE"},
        timeout=30,
    )
    assert put.status_code == 400


@pytest.mark.parametrize(
    ("cors", "named"),
    [
        ("*", "http.cors must be an object"),
        ({"allow_origins": "*"}, "http.cors.allow_origins must be a list of strings"),
        ({"allow_origin_regex": "(unclosed"}, "http.cors.allow_origin_regex"),
        ({"max_age": "10"}, "http.cors.max_age"),
        ({"allow_credentials": "yes"}, "http.cors.allow_credentials must be true or false"),
        ({"allow_origin": ["*"]}, "http.cors.allow_origin is not a CORS setting"),
    ],
)
def test_a_malformed_cors_section_stops_start_up_naming_the_key(
    tmp_path: Path, cors: object, named: str
) -> None:
    config = project(tmp_path, {"cors": cors})
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        create_app(Settings(config=config, database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}"))

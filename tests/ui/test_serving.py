"""graphdock serves the built UI at `/` and its assets under `/ui/`, and the API stays as it was."""

from __future__ import annotations

import re

import httpx
import pytest

from graphdock.api import ui
from tests.ui.conftest import ROOT, STATIC


def test_the_page_is_served_at_the_root_and_always_revalidated(http_sync: httpx.Client) -> None:
    r = http_sync.get("/")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["cache-control"] == "no-cache"
    assert '<div id="root">' in r.text


def test_the_page_forbids_framing_foreign_code_and_sniffing(http_sync: httpx.Client) -> None:
    # It keeps an API key in localStorage: no other site may frame it, no other origin's code runs.
    page = http_sync.get("/")
    policy = {
        d.split(" ", 1)[0]: d.split(" ", 1)[1]
        for d in (p.strip() for p in page.headers["content-security-policy"].split(";"))
    }
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'self'"
    assert "'unsafe-inline'" not in policy["script-src"]
    assert policy["connect-src"] == "'self'"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    asset = re.findall(r'src="(/ui/assets/[^"]+)"', page.text)[0]
    assert http_sync.get(asset).headers["x-content-type-options"] == "nosniff"


def test_hashed_assets_are_cached_forever_with_their_content_type(http_sync: httpx.Client) -> None:
    page = http_sync.get("/").text
    assets = re.findall(r'(?:src|href)="(/ui/assets/[^"]+)"', page)
    assert {a.rsplit(".", 1)[1] for a in assets} == {"js", "css"}, page
    types = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}
    for asset in assets:
        r = http_sync.get(asset)
        assert r.status_code == 200, asset
        assert r.headers["content-type"] == types[asset.rsplit(".", 1)[1]]
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.content == (STATIC / asset.removeprefix("/ui/")).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/ui/assets/missing.js",
        "/ui/%2e%2e/__init__.py",
        "/ui/..%2f..%2fapp.py",
        "/ui/",
        "/ui/assets",
        "/ui/%00",
        "/ui/assets/a%00.js",
    ],
)
def test_anything_but_a_built_file_is_a_json_404(http_sync: httpx.Client, path: str) -> None:
    r = http_sync.get(path)
    assert r.status_code == 404, r.text
    assert r.headers["content-type"] == "application/json"
    assert "detail" in r.json()


def test_the_api_is_unchanged_beside_the_ui(http_sync: httpx.Client) -> None:
    assert http_sync.get("/ok").json() == {"ok": True}
    r = http_sync.post("/assistants/search", json={"limit": 1})
    assert r.status_code == 200, r.text
    assert isinstance(r.json(), list)
    # The UI's routes are not part of the API's own description.
    paths = http_sync.get("/openapi.json").json()["paths"]
    assert "/" not in paths
    assert not [p for p in paths if p.startswith("/ui")]


def test_the_ui_routes_are_on_the_compatibility_page() -> None:
    page = (ROOT / "docs" / "compatibility.md").read_text(encoding="utf-8")
    for endpoint in ui.ENDPOINTS:
        assert f"`{endpoint.method} {endpoint.path}`" in page

"""A page served from another origin drives graphdock in Debian's Chromium with the official JS SDK.

This is what agent-chat-ui and LangGraph Studio do: the page's own server (a second local port)
is one origin, graphdock another, so every call is a CORS request with a preflight. The SDK is
bundled for the browser with esbuild from tests/js's node_modules. The scenario runs against an
open server and against one that requires API keys.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.http_projects import project
from tests.conftest import RunningServer
from tests.needs import require_tool
from tests.node import ensure_node_modules, output

JS_DIR = Path(__file__).parents[1] / "js"
PAGE_DIR = JS_DIR / "browser"
KEY = "browser-key-15"
_NODE = "the cross-origin browser test bundles the JS SDK with Node.js >= 20 and npm"


@pytest.fixture(scope="module")
def page_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The page's own web server: index.html and the SDK bundle, on a port of its own."""
    require_tool("node", _NODE)
    ensure_node_modules(JS_DIR, require_tool("npm", _NODE))
    site = tmp_path_factory.mktemp("page")
    shutil.copy(PAGE_DIR / "index.html", site / "index.html")
    bundled = subprocess.run(
        [
            str(JS_DIR / "node_modules" / ".bin" / "esbuild"),
            str(PAGE_DIR / "page.mjs"),
            "--bundle",
            "--format=esm",
            "--platform=browser",
            f"--outfile={site / 'bundle.js'}",
        ],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bundled.returncode == 0, output(bundled)
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        del format, args


@pytest.fixture
def cross_origin_page(browser: Any, page_origin: str) -> Iterator[Any]:
    context = browser.new_context()
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.goto(page_origin + "/index.html")
    opened.wait_for_function("typeof window.crossOrigin === 'function'", timeout=30_000)
    yield opened
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.mark.parametrize("api_key", [None, KEY], ids=["open", "api-keys"])
def test_a_page_on_another_origin_uses_the_js_sdk(
    cross_origin_page: Any,
    page_origin: str,
    start_server: Callable[..., RunningServer],
    tmp_path: Path,
    api_key: str | None,
) -> None:
    overrides = {"api_keys": f"browser:{KEY}"} if api_key else {}
    server = start_server(project(tmp_path), **overrides)
    assert server.url.split(":")[-1] != page_origin.split(":")[-1]
    result = cross_origin_page.evaluate("([url, key]) => window.crossOrigin(url, key)", [server.url, api_key])
    assert result["runStatus"] == "success", result
    assert len(result["runIds"]) == 1, result
    assert result["events"][0] == "metadata"
    assert "values" in result["events"]
    assert result["last"]["steps"] == ["from the browser", "echo"]
    assert result["threadIds"] == [result["threadId"]]
    assert result["contentLocation"].startswith(f"/threads/{result['threadId']}/runs/"), result
    assert result["requestId"], result
    if api_key:
        refused = cross_origin_page.evaluate("(url) => window.unauthorized(url)", server.url)
        assert refused["ok"] is False
        assert refused["status"] == 401, refused


def test_an_origin_http_cors_does_not_allow_is_blocked_by_the_browser(
    cross_origin_page: Any, start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    server = start_server(project(tmp_path, {"cors": {"allow_origins": ["https://elsewhere.example"]}}))
    outcome = cross_origin_page.evaluate(
        "(url) => window.crossOrigin(url, null).then(() => 'allowed', (e) => 'blocked: ' + e)", server.url
    )
    assert outcome.startswith("blocked: "), outcome

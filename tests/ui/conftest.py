"""The UI suites' tools: node/npm for the build check, Debian's Chromium driven by Playwright.

On a laptop without them these tests skip, saying what is missing; under CI=true they fail, since
CI must run them (`make test` installs Chromium when it can).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import needs
from tests.conftest import EXAMPLE, RunningServer, serve, settings_for

ROOT = Path(__file__).parents[2]
UI_SRC = ROOT / "ui"
STATIC = ROOT / "src" / "graphdock" / "ui" / "static"
ARTIFACTS = ROOT / "test-artifacts" / "ui"
CHROMIUM = Path(os.environ.get("GRAPHDOCK_TEST_CHROMIUM", "/usr/bin/chromium"))


def require_tool(tool: str) -> str:
    return needs.require_tool(tool, "building the UI needs Node.js >= 20 with npm")


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server of the module's own on the bundled example (the guide's agent), fresh database.
    A module needing other settings (auth, say) defines its own `ui_server`; `page` follows it."""
    with serve(settings_for(tmp_path_factory.mktemp("ui") / "graphdock.sqlite3", EXAMPLE)) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        needs.unavailable(
            f"{CHROMIUM} not found: `apt-get install -y chromium` (Debian) for the browser tests"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        needs.unavailable("the `playwright` package is missing: `pip install -e '.[dev]'`")
    with sync_playwright() as pw:
        # Playwright's own browser download cannot be used here; Debian's Chromium can.
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, ui_server: RunningServer) -> Iterator[Any]:
    """A fresh browser context (so an empty localStorage) on `ui_server`; fails on JS errors and
    on anything the page's Content-Security-Policy blocks."""
    context = browser.new_context(base_url=ui_server.url, viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    # Whatever the page's Content-Security-Policy blocks is reported on the console, not thrown.
    opened.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    yield opened
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def shot(page: Any, artifacts: Path, name: str) -> None:
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def assistant_id_of(page: Any) -> str:
    found = re.search(r"#/assistants/([0-9a-f-]{36})", page.url)
    assert found, page.url
    return found.group(1)


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def http_sync(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as raw:
        yield raw

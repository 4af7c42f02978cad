"""The web UI under `http.mount_prefix`: its files, its API calls and its links all stay under the
prefix, so the UI works behind a proxy that serves graphdock at a sub-path."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.http_projects import project
from tests.conftest import RunningServer, serve, settings_for
from tests.ui.conftest import shot

with contextlib.suppress(ImportError):
    from playwright.sync_api import expect

PREFIX = "/agents"


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder = tmp_path_factory.mktemp("prefixed")
    config = project(folder, {"mount_prefix": PREFIX})
    with serve(settings_for(folder / "graphdock.sqlite3", config)) as running:
        yield running


def test_the_ui_works_under_a_mount_prefix(page: Any, ui_server: RunningServer, artifacts: Path) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{PREFIX}/")
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", name="Assistants")).to_be_visible()
    # The default assistants came through the prefixed API, and a screen that reads more of it opens.
    main.get_by_role("link", name="echo", exact=True).click()
    expect(page.get_by_role("heading", name="echo")).to_be_visible()
    expect(page.get_by_role("link", name="API docs")).to_have_attribute("href", f"{PREFIX}/docs")
    shot(page, artifacts, "under-mount-prefix")
    outside = [url for url in requested if not url.startswith(f"{ui_server.url}{PREFIX}/")]
    assert outside == [], outside
    assert any("/assistants/search" in url for url in requested), requested

"""The Store screen in headless Chromium: browse namespaces, list, filter and rank items by
meaning, view an item's JSON, delete one — checked against the API."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningServer, serve, settings_for
from tests.store.conftest import project
from tests.ui.conftest import shot

with contextlib.suppress(ImportError):
    from playwright.sync_api import Page, expect


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The memory project with store.index (fake embeddings): the screen can rank by meaning."""
    with serve(
        settings_for(tmp_path_factory.mktemp("ui-store") / "graphdock.sqlite3", project("indexed.json"))
    ) as running:
        yield running


def test_browse_filter_rank_view_and_delete_store_items(
    page: Page, ui_server: RunningServer, artifacts: Path
) -> None:
    api = httpx.Client(base_url=ui_server.url, timeout=30)
    items = {
        ("notes", "ann"): {
            "tea": {"text": "I like green tea", "kind": "taste"},
            "home": {"text": "I live in Lyon", "kind": "place"},
        },
        ("notes", "bob"): {"job": {"text": "I fix bicycles", "kind": "work"}},
    }
    for ns, by_key in items.items():
        for key, value in by_key.items():
            r = api.put("/store/items", json={"namespace": list(ns), "key": key, "value": value})
            assert r.status_code == 204, r.text

    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Store").click()
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", name="Store", exact=True)).to_be_visible()
    namespaces = main.get_by_role("navigation", name="Namespaces")
    expect(namespaces.get_by_role("link", name="notes / ann")).to_be_visible()
    expect(namespaces.get_by_role("link", name="notes / bob")).to_be_visible()

    namespaces.get_by_role("link", name="notes / ann").click()
    expect(main.get_by_role("heading", name="notes / ann")).to_be_visible()
    rows = main.get_by_role("row")
    expect(rows.filter(has_text="tea")).to_have_count(1)
    expect(rows.filter(has_text="home")).to_have_count(1)
    expect(rows.filter(has_text="job")).to_have_count(0)

    # The value's JSON.
    rows.filter(has_text="tea").get_by_role("button", name="View").click()
    expect(main.get_by_label("Value of tea")).to_contain_text('"text": "I like green tea"')
    shot(page, artifacts, "store-item")

    # Filtered by a value field, then ranked by meaning (scores shown, the exact text first at 1).
    main.get_by_label("Filter (JSON)").fill('{"kind": "place"}')
    main.get_by_role("button", name="Search").click()
    expect(rows.filter(has_text="home")).to_have_count(1)
    expect(rows.filter(has_text="tea")).to_have_count(0)
    main.get_by_label("Filter (JSON)").fill("")
    main.get_by_label("Search by meaning").fill("I like green tea")
    main.get_by_role("button", name="Search").click()
    expect(main.get_by_role("columnheader", name="Score")).to_be_visible()
    expect(main.locator("tbody tr").first).to_contain_text("tea")
    expect(main.locator("tbody tr").first).to_contain_text("1.000")
    shot(page, artifacts, "store-ranked")

    # A filter that is not an object is refused on the page, before any request.
    main.get_by_label("Filter (JSON)").fill("[1]")
    main.get_by_role("button", name="Search").click()
    expect(main.get_by_role("alert")).to_contain_text("must be a JSON object")
    main.get_by_label("Filter (JSON)").fill("")
    main.get_by_label("Search by meaning").fill("")
    main.get_by_role("button", name="Search").click()

    # Delete, confirmed; the API agrees.
    page.once("dialog", lambda dialog: dialog.accept())
    rows.filter(has_text="home").get_by_role("button", name="Delete home").click()
    expect(rows.filter(has_text="home")).to_have_count(0)
    gone = api.get("/store/items", params={"namespace": "notes.ann", "key": "home"})
    assert gone.status_code == 200, gone.text
    assert gone.json() is None
    assert api.get("/store/items", params={"namespace": "notes.ann", "key": "tea"}).json()["key"] == "tea"

"""The UI against servers that require a key or token: sign in, work, sign out.

A 401 from any call brings up the sign-in form with the server's reason; the credential is
checked, kept in localStorage and sent with every call from then on, as `x-api-key` or as
`Authorization: Bearer`. A 403 is an error on the screen, not a sign-in.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import EXAMPLE, GRAPHS, RunningServer, serve, settings_for
from tests.ui.conftest import shot

with contextlib.suppress(ImportError):
    from playwright.sync_api import Page, expect

ALICE_KEY = "alice-key-123"


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """This module's `page` opens a server whose every API call needs one of two keys."""
    settings = settings_for(
        tmp_path_factory.mktemp("ui-auth") / "graphdock.sqlite3",
        EXAMPLE,
        api_keys=f"alice:{ALICE_KEY},bob:bob-key-4567",
    )
    with serve(settings) as running:
        yield running


def sign_in(page: Page, value: str, send_as: str = "API key") -> None:
    page.get_by_label("API key or token").fill(value)
    page.get_by_role("radio", name=send_as).check()
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_with_an_api_key_edit_and_sign_out(
    page: Page, ui_server: RunningServer, artifacts: Path
) -> None:
    page.goto("/")
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(main.get_by_role("alert")).to_have_text(
        "401 — Missing API key: send it as x-api-key (or Authorization: Bearer)"
    )
    expect(page.get_by_label("API key or token")).to_have_attribute("type", "password")
    expect(page.get_by_role("radio", name="API key")).to_be_checked()  # the default
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    shot(page, artifacts, "sign-in")

    sign_in(page, "wrong-key-000")
    expect(main.get_by_role("alert")).to_have_text("401 — Invalid API key")
    expect(main.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("localStorage.length") == 0  # a refused key is not kept

    # The screen loads again, and its calls carry the key.
    with page.expect_request(lambda r: r.url.endswith("/assistants/search")) as sent:
        sign_in(page, ALICE_KEY)
    assert sent.value.headers.get("x-api-key") == ALICE_KEY
    assert "authorization" not in sent.value.headers
    expect(main.get_by_role("heading", name="Assistants")).to_be_visible()
    agent = main.get_by_role("link", name="agent", exact=True)
    expect(agent).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    shot(page, artifacts, "signed-in-table")
    stored = page.evaluate("localStorage.getItem('graphdock.credential')")
    assert json.loads(stored) == {"header": "x-api-key", "value": ALICE_KEY}

    # An edit through the form makes version 2 (as alice).
    agent.click()
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("System Prompt").fill("Signed in as alice.")
    page.get_by_role("button", name="Save — creates version 2 and makes it active").click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()
    page.get_by_role("radio", name="Select version 2").click()
    expect(page.get_by_role("heading", name="Version 2")).to_be_visible()
    # Who made it: the key's name, in the history and in the version's details.
    row = page.get_by_role("row").filter(has=page.get_by_role("radio", name="Select version 2"))
    # The "By" column (the run stats columns follow it).
    expect(row.get_by_role("cell").nth(5)).to_have_text("alice")
    by = page.get_by_role("region", name="Version 2").locator("dt:text-is('By') + dd")
    expect(by).to_have_text("alice")
    with httpx.Client(base_url=ui_server.url, headers={"x-api-key": ALICE_KEY}, timeout=30) as api:
        default = api.post("/assistants/search", json={"graph_id": "agent"}).json()[0]
        versions = api.post(f"/assistants/{default['assistant_id']}/versions", json={}).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["context"]["system_prompt"] == "Signed in as alice."
    assert versions[0]["changed_by"] == "alice"

    # The key survives a reload; signing out forgets it, and the server asks again.
    page.reload()
    expect(page.get_by_role("heading", name="Version 2")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(main.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(main.get_by_role("alert")).to_contain_text("Missing API key")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert page.evaluate("localStorage.getItem('graphdock.credential')") is None


def test_a_bearer_token_for_custom_auth_and_a_403_shown_as_an_error(
    browser: Any, start_server: Callable[..., RunningServer], artifacts: Path
) -> None:
    # The suite's per-owner custom auth: bearer tokens only; carol may not delete assistants.
    server = start_server(config=GRAPHS.parent / "auth" / "langgraph.json")
    created = httpx.post(
        f"{server.url}/assistants",
        json={"graph_id": "echo", "name": "Carol's echo"},
        headers={"authorization": "Bearer token-carol"},
    )
    assert created.status_code == 200, created.text
    assistant_id = created.json()["assistant_id"]
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"/#/assistants/{assistant_id}")
    main = page.get_by_role("main")
    expect(main.get_by_role("alert")).to_have_text("401 — Unknown or missing bearer token")

    with page.expect_request(lambda r: r.url.endswith(f"/assistants/{assistant_id}")) as sent:
        sign_in(page, "token-carol", send_as="Bearer token")
    assert sent.value.headers.get("authorization") == "Bearer token-carol"
    assert "x-api-key" not in sent.value.headers
    expect(main.get_by_role("heading", name="Carol's echo")).to_be_visible()

    # The handler's refusal is an error where she acted, not a sign-in form.
    page.get_by_role("button", name="Delete…").click()
    dialog = page.get_by_role("dialog", name="Delete assistant")
    dialog.get_by_role("button", name="Delete assistant and 1 version").click()
    expect(dialog.get_by_role("alert")).to_have_text("Not deleted: 403 — You may not delete assistants")
    expect(main.get_by_role("heading", name="Sign in")).to_have_count(0)
    shot(page, artifacts, "forbidden")
    context.close()

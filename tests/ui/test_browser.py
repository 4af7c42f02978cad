"""The UI end to end in headless Chromium: the guide's versioning story, clicked through.

Create an assistant through the generated form, edit its prompt, see version 2 active in the
table, make version 1 active again from the versions screen, check the API agrees, see exactly
the prompt change in the diff, and run it ("version 1"). Screenshots of every screen land in
test-artifacts/ui/ for a person to look at.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import RunningServer
from tests.ui.conftest import assistant_id_of, shot

# Without playwright the `browser` fixture skips these tests, or fails them under CI, saying why.
with contextlib.suppress(ImportError):
    from playwright.sync_api import Page, expect

PROMPT_V1 = "You are a helpful assistant.\nAnswer briefly."
PROMPT_V2 = "You are a helpful assistant.\nAnswer in detail, with examples."


def test_versioning_story_through_the_ui(page: Page, ui_server: RunningServer, artifacts: Path) -> None:
    api = httpx.Client(base_url=ui_server.url, timeout=30)
    page.goto("/")
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", name="Assistants")).to_be_visible()
    # The example's default assistant, with its badge.
    default_row = main.get_by_role("row").filter(has=page.get_by_role("link", name="agent", exact=True))
    expect(default_row.get_by_text("default", exact=True)).to_be_visible()

    # Create through the form generated from the graph's context schema.
    main.get_by_role("link", name="New assistant").click()
    expect(page.get_by_label("Graph", exact=True)).to_have_value("agent")
    page.get_by_label("Name", exact=True).fill("Support bot")
    page.get_by_label("Description", exact=True).fill("Answers support questions")
    model = page.get_by_label("Model Name")
    # RJSF's option values are indexes: compare the selected option's text.
    expect(model.locator("option:checked")).to_have_text("anthropic")  # the schema's default, prefilled
    expect(model.locator("option")).to_have_text(["anthropic", "openai"], use_inner_text=True)
    model.select_option(label="openai")
    expect(page.get_by_text("Which model family answers.")).to_be_visible()  # description as help
    page.get_by_label("System Prompt").fill(PROMPT_V1)
    shot(page, artifacts, "create-form")
    page.get_by_role("button", name="Create — creates version 1").click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 1")).to_be_visible()
    assistant_id = assistant_id_of(page)
    created = api.get(f"/assistants/{assistant_id}").json()
    assert created["context"] == {"model_name": "openai", "system_prompt": PROMPT_V1}
    assert created["name"] == "Support bot"

    # Edit the prompt: the button says which version the save creates.
    page.get_by_role("link", name="Edit").click()
    prompt = page.get_by_label("System Prompt")
    expect(prompt).to_have_value(PROMPT_V1)
    expect(page.get_by_label("Model Name").locator("option:checked")).to_have_text("openai")
    prompt.fill(PROMPT_V2)
    shot(page, artifacts, "edit-form")
    page.get_by_role("button", name="Save — creates version 2 and makes it active").click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()

    # The table: version 2 active, 2 versions.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Assistants").click()
    row = main.get_by_role("row").filter(has=page.get_by_role("link", name="Support bot"))
    expect(row).to_contain_text("v2 of 2 versions")
    expect(row).to_contain_text("Answers support questions")
    shot(page, artifacts, "table")

    # Versions: select version 1 and flip Active.
    row.get_by_role("link", name="Support bot").click()
    page.get_by_role("link", name="Versions").click()
    version_1 = page.get_by_role("radio", name="Select version 1")
    version_1.click()  # selecting updates the address (#…?v=1), so it takes effect a moment later
    expect(version_1).to_be_checked()
    active = page.get_by_role("switch", name="Active")
    expect(page.get_by_role("heading", name="Version 1")).to_be_visible()
    expect(active).not_to_be_checked()
    active.click()
    expect(active).to_be_checked()
    expect(page.get_by_test_id("active-version")).to_have_text("version 1")
    shot(page, artifacts, "versions")
    assert api.get(f"/assistants/{assistant_id}").json()["version"] == 1
    assert [v["version"] for v in api.post(f"/assistants/{assistant_id}/versions", json={}).json()] == [2, 1]

    # The diff from version 1 to 2: exactly the prompt, line by line.
    page.get_by_role("link", name="Diff").click()
    page.get_by_label("From version", exact=True).select_option("1")
    page.get_by_label("To version", exact=True).select_option("2")
    expect(page.get_by_role("heading", name="Changes from version 1 to version 2")).to_be_visible()
    changes = page.get_by_role("list", name="Changes").get_by_role("listitem")
    expect(changes).to_have_count(1)
    change = changes.first
    expect(change).to_have_accessible_name("context.system_prompt")
    expect(change.locator("[data-kind=removed]")).to_have_text(
        ["\u2212removed: Answer briefly."], use_inner_text=False
    )
    expect(change.locator("[data-kind=added]")).to_have_text(
        ["+added: Answer in detail, with examples."], use_inner_text=False
    )
    expect(change.locator("[data-kind=same]")).to_have_text(
        [" You are a helpful assistant."], use_inner_text=False
    )
    shot(page, artifacts, "diff")

    # Try it: the output of version 1, and the version the run reports.
    page.get_by_role("link", name="Try it").click()
    page.get_by_label("Message").fill("hi")
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_label("Output")).to_have_text(f"[openai] {PROMPT_V1} | you said: hi")
    expect(page.get_by_test_id("run-version")).to_have_text("Ran assistant version 1")
    expect(page.get_by_text("run success")).to_be_visible()
    shot(page, artifacts, "try-it")

    # The graph and its schemas.
    page.get_by_role("link", name="Graph & schemas").click()
    expect(page.get_by_role("img", name="Graph with 3 nodes and 2 edges")).to_be_visible()
    expect(page.get_by_role("list", name="Edges")).to_contain_text("START → respond")
    shot(page, artifacts, "graph")

    # Deleting asks first, saying how many versions go.
    page.get_by_role("button", name="Delete…").click()
    dialog = page.get_by_role("dialog", name="Delete assistant")
    expect(dialog).to_contain_text("all 2 of its versions")
    expect(dialog.get_by_label("Also delete its threads")).not_to_be_checked()
    shot(page, artifacts, "delete-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert api.get(f"/assistants/{assistant_id}").status_code == 200
    api.close()


def test_a_server_422_is_shown_at_the_field_it_names(page: Page, ui_server: RunningServer) -> None:
    created = httpx.post(
        f"{ui_server.url}/assistants",
        json={"graph_id": "agent", "name": "Strict", "context": {"system_prompt": "Hi"}},
    ).json()
    page.goto(f"/#/assistants/{created['assistant_id']}/edit")
    page.get_by_label("Raw JSON").check()
    context = page.get_by_label("context (JSON)")
    context.fill('{"model_name": "gpt-4", "system_prompt": "Hi"}')
    page.get_by_role("button", name=re.compile("^Save")).click()
    expect(page.get_by_role("alert").filter(has_text="Not saved")).to_be_visible()
    expect(context).to_have_attribute("aria-invalid", "true")
    error = page.get_by_role("alert").filter(has_text='model_name: "gpt-4" is not one of')
    expect(error).to_be_visible()
    assert httpx.get(f"{ui_server.url}/assistants/{created['assistant_id']}").json()["version"] == 1


def test_phone_width_keeps_every_column_readable(
    browser: Any, ui_server: RunningServer, artifacts: Path
) -> None:
    context = browser.new_context(
        base_url=ui_server.url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    phone = context.new_page()
    phone.goto("/#/?name=agent")  # other tests add assistants to this server
    main = phone.get_by_role("main")
    expect(main.get_by_role("link", name="agent", exact=True)).to_be_visible()
    # Nothing wider than the screen: no sideways scrolling of the page.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, artifacts, "phone-table")
    main.get_by_role("link", name="agent", exact=True).click()
    expect(phone.get_by_role("heading", name="agent")).to_be_visible()
    phone.get_by_role("radio", name="Select version 1").click()
    expect(phone.get_by_role("switch", name="Active")).to_be_checked()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, artifacts, "phone-versions")
    context.close()


def test_the_form_sends_the_complete_configuration_defaults_included(
    page: Page, ui_server: RunningServer
) -> None:
    page.goto("/#/new")
    page.get_by_label("Name", exact=True).fill("Defaults")
    page.get_by_label("System Prompt").fill("Be brief.")
    page.get_by_role("button", name="Create — creates version 1").click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 1")).to_be_visible()
    saved = httpx.get(f"{ui_server.url}/assistants/{assistant_id_of(page)}").json()
    # model_name was never touched: the schema's default is sent, not left out.
    assert saved["context"] == {"model_name": "anthropic", "system_prompt": "Be brief."}
    assert saved["config"]["configurable"] == saved["context"]


def test_the_table_filters_by_metadata_sorts_and_pages(page: Page, ui_server: RunningServer) -> None:
    tag = {"batch": uuid.uuid4().hex}
    for i in range(23):
        r = httpx.post(
            f"{ui_server.url}/assistants",
            json={"graph_id": "agent", "name": f"Batch {i:02d}", "metadata": tag},
        )
        assert r.status_code == 200, r.text
    page.goto("/")
    page.get_by_label("Metadata (JSON, matches by containment)").fill(json.dumps(tag))
    page.get_by_role("button", name="Filter").click()
    main = page.get_by_role("main")
    rows = main.get_by_role("row").filter(has=page.get_by_role("link", name=re.compile("^Batch")))
    expect(rows).to_have_count(20)
    expect(main.get_by_role("status").filter(has_text="of 23")).to_have_text("1\u201320 of 23")
    page.get_by_role("button", name="Name").click()  # sort by name, descending first
    expect(rows.first.get_by_role("link")).to_have_text("Batch 22")
    page.get_by_role("button", name=re.compile("^Name")).click()  # ascending
    expect(rows.first.get_by_role("link")).to_have_text("Batch 00")
    page.get_by_role("button", name="Next").click()
    expect(rows).to_have_count(3)
    expect(rows.first.get_by_role("link")).to_have_text("Batch 20")
    expect(main.get_by_role("status").filter(has_text="of 23")).to_have_text("21\u201323 of 23")
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    page.get_by_label("Name contains").fill("no such name")
    page.get_by_role("button", name="Filter").click()
    expect(main.get_by_text("No assistant matches these filters")).to_be_visible()


def test_nested_values_are_edited_as_json(
    browser: Any, start_server: Callable[..., RunningServer], artifacts: Path
) -> None:
    server = start_server(config=Path(__file__).parent / "graphs" / "langgraph.json")
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/#/new?graph=nested")
    page.get_by_label("Name", exact=True).fill("Nested")
    expect(page.get_by_label("System Prompt")).to_have_value("Be brief.")
    page.get_by_label("Temperature").fill("0.2")
    limits = page.get_by_label(re.compile(r"^Limits.*\(JSON\)"))
    expect(limits).to_have_value(re.compile(r'"max_tokens": 256'))  # the nested model's defaults
    limits.fill('{"max_tokens": 100, "stop": ["END"]}')
    expect(page.get_by_label(re.compile(r"^Tools.*\(JSON\)"))).to_have_value("[]")
    headers = page.get_by_label(re.compile(r"^Headers.*\(JSON\)"))
    headers.fill("{not json")
    expect(page.get_by_role("alert").filter(has_text="Not valid JSON")).to_be_visible()
    headers.fill('{"x-team": "search"}')
    expect(page.get_by_role("alert").filter(has_text="Not valid JSON")).to_have_count(0)
    shot(page, artifacts, "nested-form")
    page.get_by_role("button", name="Create — creates version 1").click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 1")).to_be_visible()
    saved = httpx.get(f"{server.url}/assistants/{assistant_id_of(page)}").json()
    assert saved["context"] == {
        "system_prompt": "Be brief.",
        "temperature": 0.2,
        "limits": {"max_tokens": 100, "stop": ["END"]},
        "headers": {"x-team": "search"},
    }
    context.close()


def test_restore_delete_a_version_and_delete_the_assistant(page: Page, ui_server: RunningServer) -> None:
    api = httpx.Client(base_url=ui_server.url, timeout=30)
    created = api.post(
        "/assistants", json={"graph_id": "agent", "name": "History", "context": {"system_prompt": "one"}}
    )
    assistant_id = created.json()["assistant_id"]
    for prompt in ("two", "three"):
        assert (
            api.patch(f"/assistants/{assistant_id}", json={"context": {"system_prompt": prompt}}).status_code
            == 200
        )
    page.goto(f"/#/assistants/{assistant_id}/versions")

    # The active version cannot be deleted; an older one can be restored as a new version.
    page.get_by_role("radio", name="Select version 3").click()
    expect(page.get_by_role("button", name="Delete version 3")).to_be_disabled()
    page.get_by_role("radio", name="Select version 1").click()
    page.get_by_role("button", name="Restore as new version").click()
    expect(page.get_by_test_id("active-version")).to_have_text("version 4")
    expect(page.get_by_role("row").filter(has_text="restored from version 1")).to_have_count(1)
    assert api.get(f"/assistants/{assistant_id}").json()["context"]["system_prompt"] == "one"

    # Deleting a version asks first.
    page.get_by_role("radio", name="Select version 2").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete version 2").click()
    expect(page.get_by_role("radio", name="Select version 2")).to_have_count(0)
    versions = api.post(f"/assistants/{assistant_id}/versions", json={}).json()
    assert [v["version"] for v in versions] == [4, 3, 1]

    # Delete the assistant, its 3 versions and its threads.
    thread = api.post("/threads", json={"metadata": {"assistant_id": assistant_id}}).json()
    page.get_by_role("button", name="Delete…").click()
    dialog = page.get_by_role("dialog", name="Delete assistant")
    expect(dialog).to_contain_text("all 3 of its versions")
    dialog.get_by_label("Also delete its threads").check()
    dialog.get_by_role("button", name="Delete assistant and 3 versions").click()
    expect(page.get_by_role("heading", name="Assistants")).to_be_visible()
    assert api.get(f"/assistants/{assistant_id}").status_code == 404
    assert api.get(f"/threads/{thread['thread_id']}").status_code == 404
    api.close()


def test_keyboard_skip_link_and_modal_dialog(page: Page) -> None:
    page.goto("/#/?name=agent")  # other tests add assistants to this server
    expect(page.get_by_role("link", name="agent", exact=True)).to_be_visible()
    # Without auth on the server, nothing asks to sign in or offers to sign out.
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()

    # The delete dialog is a real modal: Escape closes it.
    page.get_by_role("link", name="agent", exact=True).click()
    page.get_by_role("button", name="Delete…").click()
    dialog = page.get_by_role("dialog", name="Delete assistant")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_crons_are_listed_created_paused_resumed_and_show_their_runs(
    page: Page, ui_server: RunningServer
) -> None:
    api = httpx.Client(base_url=ui_server.url, timeout=30)
    context = {"system_prompt": "daily digest"}
    assistant_id = api.post(
        "/assistants", json={"graph_id": "agent", "name": "Digest", "context": context}
    ).json()["assistant_id"]
    thread_id = api.post("/threads", json={}).json()["thread_id"]
    made = api.post(
        f"/threads/{thread_id}/runs/crons", json={"assistant_id": assistant_id, "schedule": "0 0 1 1 *"}
    )
    cron_id = made.json()["cron_id"]
    # What a firing leaves behind: a run on the cron's thread that names the cron.
    run = api.post(
        f"/threads/{thread_id}/runs/wait",
        json={"assistant_id": assistant_id, "input": {"messages": []}, "metadata": {"cron_id": cron_id}},
    )
    assert run.status_code == 200, run.text
    page.goto(f"/#/assistants/{assistant_id}/crons")

    row = page.get_by_test_id("cron-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("0 0 1 1 *")
    row.get_by_role("button", name="Pause").click()
    expect(row.get_by_test_id("cron-state")).to_have_text("paused")
    assert api.get(f"/runs/crons/{cron_id}").json()["enabled"] is False
    row.get_by_role("button", name="Resume").click()
    expect(row.get_by_test_id("cron-state")).to_have_text("active")
    assert api.get(f"/runs/crons/{cron_id}").json()["enabled"] is True
    row.get_by_role("button", name="Runs").click()
    expect(
        page.get_by_role("table", name=f"Runs of cron {cron_id}").get_by_test_id("run-version")
    ).to_have_text("version 1")

    # A new cron from the form; a schedule the server cannot read is shown, naming it.
    form = page.get_by_role("form", name="New cron")
    form.get_by_label("Schedule (five cron fields)").fill("every morning")
    form.get_by_role("button", name="Create cron").click()
    expect(form.get_by_role("alert")).to_contain_text("schedule")
    form.get_by_label("Schedule (five cron fields)").fill("30 8 * * 1-5")
    form.get_by_label("Time zone").fill("Europe/Paris")
    form.get_by_role("button", name="Create cron").click()
    expect(page.get_by_test_id("cron-row")).to_have_count(2)
    found = api.post("/runs/crons/search", json={"assistant_id": assistant_id, "limit": 10}).json()
    assert {(c["schedule"], c["timezone"]) for c in found} == {
        ("0 0 1 1 *", None),
        ("30 8 * * 1-5", "Europe/Paris"),
    }

    page.get_by_test_id("cron-row").filter(has_text="30 8 * * 1-5").get_by_role(
        "button", name="Delete"
    ).click()
    expect(page.get_by_test_id("cron-row")).to_have_count(1)
    assert api.post("/runs/crons/count", json={"assistant_id": assistant_id}).json() == 1
    api.close()

"""The UI's runs and threads screens in headless Chromium, on the `desk` test graph.

Runs by version: a version that fails where the one before did not shows it in the versions table,
lists its failed runs (each opening its thread), and rolls back in one click. Threads: search by
assistant, status and metadata; a thread's messages, its checkpoints with the version that wrote
each, an interrupt resumed from a form, and a run forked from an earlier checkpoint. And the review
fixes: version counts and the next number from the server, a late diff never overwriting the
current one. Screenshots land in test-artifacts/ui/.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer, serve, settings_for
from tests.ui.conftest import shot

with contextlib.suppress(ImportError):
    from playwright.sync_api import Page, Route, expect

DESK = Path(__file__).parent / "graphs" / "langgraph.json"


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serve(settings_for(tmp_path_factory.mktemp("ui-runs") / "graphdock.sqlite3", DESK)) as running:
        yield running


@pytest.fixture(scope="module")
def api(ui_server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ui_server.url, timeout=60) as client:
        yield client


def assistant(api: httpx.Client, name: str, context: dict[str, Any], **metadata: Any) -> str:
    r = api.post(
        "/assistants", json={"graph_id": "desk", "name": name, "context": context, "metadata": metadata}
    )
    assert r.status_code == 200, r.text
    aid: str = r.json()["assistant_id"]
    return aid


def say(
    api: httpx.Client, aid: str, text: str, thread_id: str | None = None, **metadata: Any
) -> dict[str, Any]:
    """One run on a thread of its own (or `thread_id`), waited for; the run as stored afterwards."""
    if thread_id is None:
        r = api.post("/threads", json={"metadata": metadata})
        assert r.status_code == 200, r.text
        thread_id = r.json()["thread_id"]
    r = api.post(
        f"/threads/{thread_id}/runs",
        json={"assistant_id": aid, "input": {"messages": [{"role": "user", "content": text}]}},
    )
    assert r.status_code == 200, r.text
    run_id = r.json()["run_id"]
    assert api.get(f"/threads/{thread_id}/runs/{run_id}/join").status_code == 200
    run: dict[str, Any] = api.get(f"/threads/{thread_id}/runs/{run_id}").json()
    return run


def test_a_failing_version_shows_its_runs_and_rolls_back_in_one_click(
    page: Page, api: httpx.Client, artifacts: Path
) -> None:
    aid = assistant(api, "Desk", {"mode": "ok"})
    ok = [say(api, aid, f"hello {n}") for n in range(2)]
    r = api.patch(f"/assistants/{aid}", json={"context": {"mode": "fail"}})
    assert r.json()["version"] == 2, r.text
    bad = [say(api, aid, f"broken {n}") for n in range(2)]
    assert [x["status"] for x in ok + bad] == ["success", "success", "error", "error"]

    page.goto(f"/#/assistants/{aid}/versions")
    table = page.get_by_role("table").first
    v2 = table.get_by_role("row").filter(has=page.get_by_role("radio", name="Select version 2"))
    v1 = table.get_by_role("row").filter(has=page.get_by_role("radio", name="Select version 1"))
    # Runs and errors per version, from run_stats.
    expect(v2.get_by_role("cell").nth(6)).to_have_text("2")
    expect(v2.get_by_role("cell").nth(7)).to_have_text("2")
    expect(v1.get_by_role("cell").nth(6)).to_have_text("2")
    expect(v1.get_by_role("cell").nth(7)).to_have_text("0")
    failing = page.get_by_role("region", name="Failing version")
    expect(failing).to_contain_text("Version 2 is failing: 2 of 2 runs ended in an error")
    shot(page, artifacts, "versions-run-stats")

    # The failing version's runs, each opening its thread.
    page.get_by_role("radio", name="Select version 2").check()
    runs = page.get_by_role("table", name="Runs of version 2")
    expect(runs.get_by_role("row")).to_have_count(3)  # header + two runs
    expect(runs).to_contain_text("ValueError: the desk is in fail mode")
    page.get_by_label("Status").select_option("success")
    expect(page.get_by_text("No runs of version 2 with status success")).to_be_visible()
    page.get_by_label("Status").select_option("error")
    expect(runs.get_by_role("row")).to_have_count(3)
    shot(page, artifacts, "version-runs")
    runs.get_by_role("link", name=f"Open thread {bad[1]['thread_id']}").click()
    expect(page.get_by_role("heading", name="Thread")).to_contain_text(bad[1]["thread_id"][:8])
    expect(page.get_by_role("table", name="Runs")).to_contain_text("version 2")
    page.go_back()

    # One click back to the version that worked.
    page.get_by_role("button", name="Roll back to version 1").click()
    expect(page.get_by_test_id("active-version")).to_have_text("version 1")
    expect(failing).to_have_count(0)
    assert api.get(f"/assistants/{aid}").json()["version"] == 1
    assert say(api, aid, "after rollback")["status"] == "success"
    shot(page, artifacts, "rolled-back")


def test_threads_search_messages_history_resume_and_fork(
    page: Page, api: httpx.Client, artifacts: Path
) -> None:
    team = uuid.uuid4().hex[:8]
    reviewer = assistant(api, f"Reviewer {team}", {"review": True})
    other = assistant(api, f"Plain {team}", {})
    waiting = say(api, reviewer, "hello", team=team)
    thread_id = waiting["thread_id"]
    assert api.get(f"/threads/{thread_id}").json()["status"] == "interrupted"
    say(api, other, "unrelated", team=f"{team}-other")

    page.goto("/#/threads")
    expect(page.get_by_role("heading", name="Threads")).to_be_visible()
    page.get_by_label("Assistant").select_option(label=f"Reviewer {team}")
    rows = page.get_by_role("table", name="Threads").get_by_role("row")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("interrupted")
    page.get_by_label("Assistant").select_option("")
    page.get_by_label("Status").select_option("interrupted")
    page.get_by_label("Metadata (JSON)").fill(f'{{"team": "{team}"}}')
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text(thread_id)
    page.get_by_label("Metadata (JSON)").fill('{"team": ')
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid JSON")
    page.get_by_label("Metadata (JSON)").fill(f'{{"team": "{team}"}}')
    page.get_by_role("button", name="Search").click()
    shot(page, artifacts, "threads-list")

    # The thread: its messages, the question it waits on, checkpoints with their version.
    rows.nth(1).get_by_role("link").click()
    messages = page.get_by_role("list", name="Messages")
    expect(messages.get_by_role("listitem")).to_have_text([re.compile("hello"), re.compile("echo: hello")])
    expect(page.get_by_label("Interrupt value")).to_contain_text("Send this answer?")
    history = page.get_by_role("table", name="Checkpoints")
    expect(history).to_contain_text("version 1")
    shot(page, artifacts, "thread-interrupted")

    page.get_by_label("Resume with (JSON)").fill('"ship it"')
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("status")).to_contain_text("Resumed: run success (version 1)")
    expect(messages.get_by_role("listitem").last).to_have_text(re.compile("reviewed: ship it"))
    expect(page.get_by_text("Waiting for input")).to_have_count(0)
    shot(page, artifacts, "thread-resumed")

    # Fork from the checkpoint before the answer, with new input, on version 2 (no review).
    r = api.patch(f"/assistants/{reviewer}", json={"context": {"review": False}})
    assert r.json()["version"] == 2, r.text
    page.get_by_label("Input for a run from a checkpoint (JSON, optional)").fill(
        '{"messages": [{"role": "user", "content": "again"}]}'
    )
    before_answer = history.get_by_role("row").filter(has_text="answer").last
    before_answer.get_by_role("button").click()
    expect(page.get_by_role("status")).to_contain_text("run success (version 2)")
    expect(messages.get_by_role("listitem").last).to_have_text(re.compile("echo: again"))
    expect(messages).not_to_contain_text("reviewed: ship it")  # the fork left that branch
    expect(history).to_contain_text("version 2")
    state = api.get(f"/threads/{thread_id}/state").json()
    assert [m["content"] for m in state["values"]["messages"]][-1] == "echo: again"
    shot(page, artifacts, "thread-forked")


def test_version_counts_and_the_next_number_come_from_the_server(
    page: Page, api: httpx.Client, artifacts: Path
) -> None:
    name = f"Numbers {uuid.uuid4().hex[:6]}"
    aid = assistant(api, name, {})
    for n in range(2):
        api.patch(f"/assistants/{aid}", json={"name": f"Numbers v{n + 2}"})
    api.post(f"/assistants/{aid}/latest", json={"version": 1})
    assert api.delete(f"/assistants/{aid}/versions/3").status_code == 204

    versions_calls: list[str] = []
    page.on("request", lambda req: versions_calls.append(req.url) if req.url.endswith("/versions") else None)
    page.goto("/")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))  # version 1's name
    expect(row).to_contain_text("v1 of 2 versions")
    assert versions_calls == []  # counts come with the search, not one request per row

    # Version 3 was deleted: the next save makes version 4, never 3 again.
    page.goto(f"/#/assistants/{aid}/edit")
    save = page.get_by_role("button", name="Save — creates version 4 and makes it active")
    expect(save).to_be_visible()
    save.click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 4")).to_be_visible()


def test_a_late_diff_response_never_overwrites_the_current_one(page: Page, api: httpx.Client) -> None:
    aid = assistant(api, "Diffs", {"mode": "ok"})
    api.patch(f"/assistants/{aid}", json={"context": {"mode": "fail"}})
    api.patch(f"/assistants/{aid}", json={"context": {"mode": "ok", "review": True}})

    # The first diff asked for (from 1) is held back until the second (from 2) is on screen.
    held: list[Route] = []
    page.route("**/diff?from=1&to=3", lambda route: held.append(route))
    with page.expect_request("**/diff?from=1&to=3"):
        page.goto(f"/#/assistants/{aid}/diff?from=1&to=3")
    page.get_by_label("From version", exact=True).select_option("2")
    changes = page.get_by_role("list", name="Changes")
    mode = changes.get_by_role("listitem", name="context.mode")
    expect(mode).to_be_visible()  # only from 2 did mode change (fail → ok)
    with page.expect_response("**/diff?from=1&to=3"):
        held[0].continue_()
    page.wait_for_timeout(500)  # let the late answer reach the page's handlers
    expect(page.get_by_role("heading", name="Changes from version 2 to version 3")).to_be_visible()
    expect(mode).to_be_visible()

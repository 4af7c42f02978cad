"""agent-chat-ui itself (LangChain's chat front end, built from npm) driven in Chromium against graphdock.

Run by `make agent-chat-ui`, which builds the UI once into .agent-chat-ui/dist (npm, about a minute
with npm's cache warm) and points GRAPHDOCK_AGENT_CHAT_UI at it; `make test` runs it last.
The UI is served from its own origin, graphdock from another, exactly as a user runs them:
send → streamed answer → history → reload → interrupt → approve. Screenshots of every step land in
test-artifacts/agent-chat-ui/.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import RunningServer
from tests.ui.conftest import browser, shot

__all__ = ["browser"]  # the UI suites' Chromium fixture

HERE = Path(__file__).parent
ARTIFACTS = HERE.parents[1] / "test-artifacts" / "agent-chat-ui"
UI = os.environ.get("GRAPHDOCK_AGENT_CHAT_UI")
WAIT = 60_000  # ms; a loaded machine is slow, never a reason to fail


@pytest.fixture(scope="module")
def ui_origin() -> Iterator[str]:
    if not UI or not (Path(UI) / "index.html").is_file():
        pytest.skip("GRAPHDOCK_AGENT_CHAT_UI does not name a built agent-chat-ui (run `make agent-chat-ui`)")
    handler = functools.partial(_Quiet, directory=UI)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        del format, args


def test_agent_chat_ui_works_against_graphdock(
    browser: Any, ui_origin: str, start_server: Callable[..., RunningServer]
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = start_server(HERE / "langgraph.json")
    started = time.monotonic()
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    streamed: list[str] = []
    page.on("request", lambda r: streamed.append(r.url) if r.url.endswith("/runs/stream") else None)

    query = urlencode({"apiUrl": server.url, "assistantId": "agent", "chatHistoryOpen": "true"})
    page.goto(f"{ui_origin}/?{query}")
    box = page.get_by_placeholder("Type your message...")
    box.wait_for(timeout=WAIT)
    shot(page, ARTIFACTS, "1-connected")
    assert page.get_by_text("Failed to connect to LangGraph server").count() == 0

    # Send → a streamed answer.
    box.fill("hi there")
    box.press("Enter")
    page.get_by_text("This answer streams word by word.").wait_for(timeout=WAIT)
    assert streamed, "the UI did not stream the run"
    shot(page, ARTIFACTS, "2-streamed-answer")

    # History: the new thread appears in the sidebar under its first message.
    page.wait_for_function("new URL(location.href).searchParams.get('threadId') !== null", timeout=WAIT)
    page.get_by_role("button", name="hi there").first.wait_for(timeout=WAIT)
    shot(page, ARTIFACTS, "3-history")

    # Reload: the conversation comes back from the server.
    page.reload()
    page.get_by_text("This answer streams word by word.").wait_for(timeout=WAIT)
    shot(page, ARTIFACTS, "4-after-reload")

    # Interrupt → approve.
    box = page.get_by_placeholder("Type your message...")
    box.fill("please ask for my approval")
    box.press("Enter")
    page.get_by_text("I would like to send an email to ada@example.com.").wait_for(timeout=WAIT)
    accept = page.get_by_role("button", name="Accept", exact=True)
    accept.wait_for(timeout=WAIT)
    shot(page, ARTIFACTS, "5-interrupt")
    accept.click()
    page.get_by_text("Decision received: accept. The email is sent.").wait_for(timeout=WAIT)
    shot(page, ARTIFACTS, "6-approved")
    print(f"agent-chat-ui drive: {time.monotonic() - started:.1f} s")
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"

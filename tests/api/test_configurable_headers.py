"""`http.configurable_headers`: matching request headers reach every run's configurable; the
credentials headers never do; `logging_headers` is parsed with the same rules."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from graphdock.project import HeaderPatterns
from tests.api.http_projects import HTTP_APPS, project
from tests.conftest import RunningServer

SENT = {
    "x-user-tier": "gold",
    "x-region": "eu",
    "x-internal-trace": "hidden",
    "user-agent": "probe/1.0",
    "authorization": "Bearer secret-token",
    "x-api-key": "secret-key",
    "x-tenant-id": "tenant",
    "x-service-key": "service",
}


def _seen(url: str, path: str, body: dict[str, object]) -> dict[str, str]:
    r = httpx.post(
        url + path, json={"assistant_id": "configurable", "input": {}, **body}, headers=SENT, timeout=60
    )
    assert r.status_code == 200, r.text
    seen: dict[str, str] = r.json()["seen"]
    return seen


def test_matching_headers_reach_the_runs_configurable(
    start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    http = {
        "configurable_headers": {
            "includes": ["X-*", "user-agent", "authorization"],
            "excludes": ["x-internal-*"],
        }
    }
    config = project(tmp_path, http, graphs={"configurable": f"{HTTP_APPS}/configurable.py:graph"})
    running = start_server(config)
    thread = httpx.post(running.url + "/threads", json={}, timeout=30).json()["thread_id"]
    for path in ("/runs/wait", f"/threads/{thread}/runs/wait"):
        seen = _seen(running.url, path, {"config": {"configurable": {"x-region": "from the body"}}})
        assert seen["x-user-tier"] == "gold"
        assert seen["x-region"] == "eu"  # the header wins over the run's own value, as on the platform
        assert seen["user-agent"] == "probe/1.0"
        for never in ("x-internal-trace", "authorization", "x-api-key", "x-tenant-id", "x-service-key"):
            assert never not in seen, (never, seen)
        # The run's identity is never overridden by a header.
        assert seen["thread_id"] != "gold"


def test_by_default_no_header_reaches_a_run(
    start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    running = start_server(project(tmp_path, graphs={"configurable": f"{HTTP_APPS}/configurable.py:graph"}))
    seen = _seen(running.url, "/runs/wait", {})
    assert not set(SENT) & set(seen), seen


@pytest.mark.parametrize(
    ("patterns", "name", "allowed"),
    [
        (HeaderPatterns(("x-*",)), "x-a", True),
        (HeaderPatterns(("x-*",)), "y-a", False),
        (HeaderPatterns(("x-*",), ("x-b*",)), "x-bee", False),
        (HeaderPatterns(("*",)), "authorization", False),
        (HeaderPatterns(("*",)), "x-api-key", False),
        (HeaderPatterns(("a.c",)), "abc", False),  # `.` is a literal, not a regex wildcard
        (HeaderPatterns(()), "x-a", False),
    ],
)
def test_header_patterns(patterns: HeaderPatterns, name: str, allowed: bool) -> None:
    assert patterns.allows(name) is allowed


def test_logging_headers_log_each_request_with_the_matching_headers(
    start_server: Callable[..., RunningServer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    running = start_server(project(tmp_path, {"logging_headers": {"includes": ["x-*", "user-agent"]}}))
    capsys.readouterr()
    r = httpx.get(running.url + "/info", headers=SENT, timeout=30)
    assert r.status_code == 200, r.text
    # The line is written once the response has gone out, so it may come just after the client
    # has it: read the output until it does (a generous deadline, no timing asserted).
    out, deadline = "", time.monotonic() + 30
    while not any("http.request" in line and "/info" in line for line in out.splitlines()):
        assert time.monotonic() < deadline, out
        time.sleep(0.05)
        out += capsys.readouterr().out
    time.sleep(0.2)  # a second line, if one were (wrongly) written, would come now
    out += capsys.readouterr().out
    lines = [line for line in out.splitlines() if "http.request" in line and "/info" in line]
    assert len(lines) == 1, lines
    assert "x-user-tier" in lines[0]
    assert "probe/1.0" in lines[0]
    for secret in ("secret-token", "secret-key", "tenant", "service"):
        assert secret not in lines[0]

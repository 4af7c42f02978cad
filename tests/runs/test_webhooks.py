"""Webhooks through the official SDK: a finished run is POSTed to its webhook, retried after a 5xx,
refused at creation by the URL policy, and one slow receiver never holds up other runs' webhooks.

The receiver is a real HTTP server on loopback, which the test project's langgraph.json allows
(`webhooks.url.disable_loopback: false`); the default policy refuses it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.conftest import GRAPHS, RunningServer
from tests.runs.receiver import Receiver, receiver
from tests.runs.test_crons import WEBHOOKS
from tests.runs.waiting import new_thread


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    with receiver() as running:
        yield running


@pytest.fixture
async def allowing(start_server: Callable[..., RunningServer]) -> AsyncIterator[LangGraphClient]:
    """A client of a server whose langgraph.json allows loopback webhooks (and sets headers)."""
    sdk = get_client(url=start_server(WEBHOOKS).url)
    yield sdk
    await sdk.aclose()


async def test_a_finished_run_is_posted_with_its_values_and_the_configured_headers(
    allowing: LangGraphClient, hooks: Receiver
) -> None:
    tid = await new_thread(allowing)
    run = await allowing.runs.create(tid, "echo", input={"text": "hi"}, webhook=f"{hooks.url}/done?x=1")
    delivery = (await hooks.until("/done?x=1"))[0]
    body = delivery.body
    assert body["run_id"] == run["run_id"]
    assert body["thread_id"] == tid
    assert body["status"] == "success"
    assert body["values"] == {"text": "hi", "steps": ["echo"]}
    assert body["assistant_version"] == 1
    assert body["kwargs"]["webhook"] == f"{hooks.url}/done?x=1"
    assert body["run_started_at"] <= body["run_ended_at"] <= body["webhook_sent_at"]
    assert "error" not in body
    # `${{ env.LG_WEBHOOK_TOKEN }}` filled from langgraph.json's env.
    assert delivery.headers["X-Token"] == "Bearer from-langgraph-json"
    assert delivery.headers["X-Plain"] == "plain"
    assert delivery.headers["Content-Type"] == "application/json"


async def test_a_failed_run_is_posted_with_its_error(allowing: LangGraphClient, hooks: Receiver) -> None:
    await allowing.runs.create(None, "failing", input={"text": "x"}, webhook=f"{hooks.url}/failed")
    body = (await hooks.until("/failed"))[0].body
    assert body["status"] == "error"
    assert body["error"]["error"]
    assert body["error"]["message"]


async def test_a_webhook_answered_with_500_is_retried(allowing: LangGraphClient, hooks: Receiver) -> None:
    run = await allowing.runs.create(None, "echo", input={"text": "again"}, webhook=f"{hooks.url}/fail-once")
    first, second = await hooks.until("/fail-once", count=2)
    assert (first.status, second.status) == (500, 200)
    assert first.body["run_id"] == second.body["run_id"] == run["run_id"]


async def test_a_webhook_that_keeps_failing_gets_four_attempts_with_growing_delays(
    allowing: LangGraphClient, hooks: Receiver
) -> None:
    await allowing.runs.create(None, "echo", input={"text": "never"}, webhook=f"{hooks.url}/fail-always")
    attempts = await hooks.until("/fail-always", count=4)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(attempts)]
    # Backoff of 1 s, doubled each time (lower bounds: a slow machine only makes the gaps longer).
    assert all(gap > delay - 0.05 for gap, delay in zip(gaps, (1, 2, 4), strict=True)), gaps
    # Bounded: no fifth attempt (it would come 8 s after the fourth).
    await asyncio.sleep(9)
    assert len(hooks.to("/fail-always")) == 4


async def test_a_redirect_is_never_followed(allowing: LangGraphClient, hooks: Receiver) -> None:
    await allowing.runs.wait(None, "echo", input={"text": "hop"}, webhook=f"{hooks.url}/redirect")
    await hooks.until("/redirect")
    # A later webhook arriving shows the first one's delivery is over (one slot per webhook, in order).
    await allowing.runs.wait(None, "echo", input={"text": "after"}, webhook=f"{hooks.url}/after")
    await hooks.until("/after")
    assert [d.status for d in hooks.to("/redirect")] == [307]  # a 3xx is an answer: not retried
    assert hooks.to("/redirected") == []


async def test_a_slow_receiver_does_not_hold_up_other_runs_webhooks(
    allowing: LangGraphClient, hooks: Receiver
) -> None:
    await allowing.runs.create(None, "echo", input={"text": "slow"}, webhook=f"{hooks.url}/slow")
    await hooks.until("/slow")  # delivered, and the receiver is now taking its time answering
    await allowing.runs.wait(None, "echo", input={"text": "quick"}, webhook=f"{hooks.url}/quick")
    await hooks.until("/quick")
    assert "/slow" not in hooks.answered  # still waiting for its answer
    hooks.release()


@pytest.mark.parametrize(
    ("webhook", "named"),
    [
        ("http://127.0.0.1:9/hook", "loopback"),
        ("http://localhost:9/hook", "loopback"),
        ("http://LocalHost.:9/hook", "loopback"),
        ("http://[::1]:9/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]:9/hook", "loopback"),
        # Not literal addresses to Python, but names the resolver turns into 127.0.0.1: the check
        # is on what the host resolves to, not on how it is spelled.
        ("http://127.1:9/hook", "loopback"),
        ("http://2130706433:9/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "blocked"),
        ("http://0.0.0.0:9/hook", "blocked"),
        ("gopher://example.com/hook", "http"),
        ("http:///nohost", "host"),
    ],
)
async def test_the_default_policy_refuses_loopback_and_metadata_webhooks_at_creation(
    http: httpx.AsyncClient, webhook: str, named: str
) -> None:
    r = await http.post("/runs", json={"assistant_id": "echo", "input": {}, "webhook": webhook})
    assert r.status_code == 422, r.text
    assert named in r.json()["detail"]


async def test_https_and_allowed_domains_are_enforced_when_configured(
    start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    policy = {
        "allowed_domains": ["hooks.example.com", "*.example.org", "10.1.2.3"],
        "allowed_ports": [443],
        "disable_private_ips": True,
    }
    project = _project(tmp_path, webhooks={"url": policy})
    server = start_server(project)
    async with httpx.AsyncClient(base_url=server.url) as http:
        for webhook, named in [
            ("http://hooks.example.com/x", "https"),
            ("https://evil.example.net/x", "domain"),
            ("https://example.org/x", "domain"),  # a wildcard matches subdomains, not the apex
            ("https://hooks.example.com:8443/x", "port"),
            ("https://hooks.example.com/" + "x" * 3000, "longer"),
            ("https://10.1.2.3/x", "private"),
        ]:
            r = await http.post("/runs", json={"assistant_id": "echo", "input": {}, "webhook": webhook})
            assert r.status_code == 422, r.text
            assert named in r.json()["detail"]


def _project(tmp_path: Path, **sections: object) -> Path:
    """The webhooks test project with some sections replaced, written beside the test."""
    config = json.loads(WEBHOOKS.read_text())
    config["dependencies"] = [str(GRAPHS.parent)]
    config["graphs"] = {"echo": f"{GRAPHS.parent}/runs.py:echo"}
    config.update(sections)
    path = tmp_path / "langgraph.json"
    path.write_text(json.dumps(config))
    return path


async def test_allowed_fields_narrows_the_payload(
    start_server: Callable[..., RunningServer], tmp_path: Path, hooks: Receiver
) -> None:
    webhooks = {
        "url": {"require_https": False, "disable_loopback": False},
        "allowed_fields": ["run_id", "status"],
    }
    client = get_client(url=start_server(_project(tmp_path, webhooks=webhooks)).url)
    run = await client.runs.create(None, "echo", input={"text": "x"}, webhook=f"{hooks.url}/narrow")
    assert (await hooks.until("/narrow"))[0].body == {"run_id": run["run_id"], "status": "success"}
    await client.aclose()


async def test_disable_webhooks_keeps_the_webhook_and_sends_nothing(
    start_server: Callable[..., RunningServer], tmp_path: Path, hooks: Receiver
) -> None:
    client = get_client(url=start_server(_project(tmp_path, http={"disable_webhooks": True})).url)
    done = await client.runs.wait(None, "echo", input={"text": "x"}, webhook=f"{hooks.url}/off")
    assert done == {"text": "x", "steps": ["echo"]}
    # A sent webhook arrives within milliseconds of the run's end (see the tests above); a second
    # run with the same server proves the first one's delivery is not merely late.
    await client.runs.wait(None, "echo", input={"text": "y"}, webhook=f"{hooks.url}/off")
    await asyncio.sleep(1)
    assert hooks.deliveries == []
    await client.aclose()

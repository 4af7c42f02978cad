"""/metrics: the Prometheus text format (read back with prometheus-client's own parser), requests
by route template, method and status with latency histograms, runs, run slots, the database pool."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.api.http_projects import GRAPHS, project
from tests.conftest import RunningServer


def _samples(url: str) -> list[Sample]:
    r = httpx.get(url + "/metrics", timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return [s for family in text_string_to_metric_families(r.text) for s in family.samples]


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [
        s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, (name, labels, [s for s in samples if s.name == name])
    return found[0]


def test_requests_are_counted_and_timed_by_route_template(
    start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    config = project(tmp_path, graphs={"failing": f"{GRAPHS}/runs.py:failing"})
    running = start_server(config, run_concurrency=3)
    with httpx.Client(base_url=running.url, timeout=30) as client:
        for _ in range(3):
            assert client.get(f"/threads/{uuid.uuid4()}").status_code == 404
        thread = client.post("/threads", json={}).json()
        assert client.get(f"/threads/{thread['thread_id']}").status_code == 200
        assert client.get(f"/made/up/{uuid.uuid4()}").status_code == 404
        r = client.post(
            f"/threads/{thread['thread_id']}/runs/wait", json={"assistant_id": "echo", "input": {}}
        )
        assert r.status_code == 200, r.text
        r = client.post("/runs/wait", json={"assistant_id": "failing", "input": {}})
        assert r.status_code == 200, r.text
        assert "__error__" in r.json()
    # A run is counted as its executor finishes, just after its waiter got the answer.
    deadline = time.monotonic() + 60
    while True:
        samples = _samples(running.url)
        if len([s for s in samples if s.name == "graphdock_runs_finished_total"]) == 2:
            break
        assert time.monotonic() < deadline, [s for s in samples if s.name.startswith("graphdock_run")]
        time.sleep(0.05)
    route = "/threads/{thread_id}"
    assert _value(samples, "graphdock_http_requests_total", route=route, method="GET", status="404") == 3
    assert _value(samples, "graphdock_http_requests_total", route=route, method="GET", status="200") == 1
    assert (
        _value(samples, "graphdock_http_requests_total", route="/threads", method="POST", status="200") == 1
    )
    # Paths that match no route share one label: made-up ids never become series of their own.
    assert (
        _value(samples, "graphdock_http_requests_total", route="<unmatched>", method="GET", status="404") == 1
    )
    assert not any("made/up" in str(s.labels) for s in samples)
    assert _value(samples, "graphdock_http_request_duration_seconds_count", route=route, method="GET") == 4
    inf = _value(
        samples, "graphdock_http_request_duration_seconds_bucket", route=route, method="GET", le="+Inf"
    )
    assert inf == 4
    # Runs by final status, with their queue wait and duration.
    assert _value(samples, "graphdock_runs_finished_total", status="success") == 1
    assert _value(samples, "graphdock_runs_finished_total", status="error") == 1
    assert _value(samples, "graphdock_run_queue_wait_seconds_count") == 2
    assert _value(samples, "graphdock_run_duration_seconds_count") == 2
    assert _value(samples, "graphdock_run_duration_seconds_sum") > 0
    # Scrape-time gauges: the run slots of this replica and the database pool.
    busy = _value(samples, "graphdock_run_slots", state="busy")
    free = _value(samples, "graphdock_run_slots", state="free")
    assert busy + free == 3
    assert _value(samples, "graphdock_database_connections", state="open") >= 1
    assert _value(samples, "graphdock_database_connections", state="max") >= 1


def test_each_server_has_its_own_registry(start_server: Callable[..., RunningServer], tmp_path: Path) -> None:
    first = start_server(project(tmp_path / "a"), db=tmp_path / "a.db")
    second = start_server(project(tmp_path / "b"), db=tmp_path / "b.db")
    for _ in range(2):
        assert httpx.post(first.url + "/threads", json={}, timeout=30).status_code == 200
    assert (
        _value(
            _samples(first.url),
            "graphdock_http_requests_total",
            route="/threads",
            method="POST",
            status="200",
        )
        == 2
    )
    assert not [
        s
        for s in _samples(second.url)
        if s.name == "graphdock_http_requests_total" and s.labels["route"] == "/threads"
    ]

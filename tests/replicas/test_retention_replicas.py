"""Two replicas on one PostgreSQL sweep expired threads between them: each thread swept once,
one replica per interval (claimed in the database), each sweep bounded by sweep_limit, no errors."""

from __future__ import annotations

import re
from pathlib import Path

from langgraph_sdk import get_client

from tests.replicas.conftest import Replicas
from tests.runs.expiry import ttl_project, until_gone

_SWEPT = re.compile(r"threads\.swept\s+deleted=(\d+) holder=(\S+) limit=(\d+) pruned=(\d+)")


async def test_two_replicas_sweep_each_expired_thread_once_without_errors(
    replicas: Replicas, tmp_path: Path
) -> None:
    config = ttl_project(tmp_path / "project", default_ttl=0.005, sweep_interval_minutes=0.01, sweep_limit=4)
    a, b = replicas.start_together(2, config=config, log_level="info")
    clients = [get_client(url=a.url), get_client(url=b.url)]
    threads = [(await clients[i % 2].threads.create())["thread_id"] for i in range(24)]
    for client in clients:
        await until_gone(client, *threads)

    sweeps = [(m, replica) for replica in (a, b) for m in _SWEPT.finditer(replica.log.read_text())]
    deleted = [int(m.group(1)) for m, _ in sweeps]
    assert sum(deleted) == 24, "every thread swept exactly once, across both replicas"
    assert max(deleted) <= 4, "no sweep took more than sweep_limit"
    assert {m.group(3) for m, _ in sweeps} == {"4"}
    for replica in (a, b):
        log = replica.log.read_text()
        assert "Traceback" not in log, log
        assert "sweep_failed" not in log, log

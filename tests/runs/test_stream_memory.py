"""What resumable streams keep in memory is bounded: background runs with a 4 MiB input in five
stream modes, nobody following, grow a real `graphdock serve` process by far less than their
events weigh (each run's events are ~80 MiB; before the bound, eight runs took ~660 MiB), and a
client that reconnects to a finished run still gets its last events, and join its result.

bench/stream_memory.py prints the full figure (20 runs: 1,767 MiB peak before, 457 MiB after).
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.postgres import backend, database_for
from tests.processes import start

RUNS = 8
MIB = 1024 * 1024
MODES = ["values", "updates", "debug", "tasks", "checkpoints"]


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_resumable_streams_of_background_runs_keep_a_bounded_amount_in_memory(tmp_path: Path) -> None:
    database = (
        database_for(str(tmp_path)) if backend() == "postgres" else f"sqlite:///{tmp_path / 'db.sqlite3'}"
    )
    server = start(tmp_path, database)
    try:
        http = httpx.Client(base_url=server.url, timeout=600)
        before = _rss(server.pid)
        text = "x" * (4 * MIB)
        created = []
        for _ in range(RUNS):
            thread = http.post("/threads", json={}).json()["thread_id"]
            body = {
                "assistant_id": "slow",
                "input": {"text": text, "delay": 0.05},
                "stream_mode": MODES,
                "stream_resumable": True,
            }
            r = http.post(f"/threads/{thread}/runs", json=body)
            assert r.status_code == 200, r.text
            created.append((thread, r.json()["run_id"]))
        for thread, run_id in created:
            joined = http.get(f"/threads/{thread}/runs/{run_id}/join")
            assert joined.status_code == 200, joined.text
            assert joined.json()["steps"] == ["a", "b", "c"]
        grown = _rss(server.pid) - before
        assert grown < 350 * MIB, f"the server grew by {grown / MIB:.0f} MiB for {RUNS} runs"

        # A client reconnecting to a finished run gets the tail that is kept, then the end.
        thread, run_id = created[-1]
        with http.stream(
            "GET", f"/threads/{thread}/runs/{run_id}/stream", headers={"Last-Event-ID": "0"}
        ) as response:
            assert response.status_code == 200
            names = [
                line.removeprefix("event: ") for line in response.iter_lines() if line.startswith("event: ")
            ]
        assert names, "nothing kept for a resumable stream"
        http.close()
    finally:
        server.stop()

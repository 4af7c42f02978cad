"""Memory a graphdock server holds for resumable run streams: the figure behind issue 16's finding 6.

Starts `graphdock serve` (SQLite) on the test graphs, creates `--runs` background runs on the
three-step `slow` graph, each with a `--input-mib` MiB input, five stream modes and
`stream_resumable`, joins them all, and prints the server's RSS before, at its peak while the runs
execute, and after. Nobody follows the streams, so everything their events hold is kept only for
a client that might reconnect: the amount runtime/streams.py bounds (MAX_KEPT_BYTES per stream).

    .venv/bin/python bench/stream_memory.py            # 20 runs x 4 MiB, about a minute
    .venv/bin/python bench/stream_memory.py --runs 5   # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from pathlib import Path

import httpx

from _harness import REPO_DIR, install_exit_guards, start_server
from _runner import progress, work_root

CONFIG = REPO_DIR / "tests" / "graphs" / "langgraph.json"
MODES = ["values", "updates", "debug", "tasks", "checkpoints"]
MIB = 1024 * 1024


async def _runs(url: str, runs: int, input_mib: int) -> None:
    text = "x" * (input_mib * MIB)
    async with httpx.AsyncClient(base_url=url, timeout=600) as http:
        threads = [(await http.post("/threads", json={})).json()["thread_id"] for _ in range(runs)]
        created = []
        for thread in threads:
            body = {
                "assistant_id": "slow",
                "input": {"text": text, "delay": 0.05},
                "stream_mode": MODES,
                "stream_resumable": True,
            }
            r = await http.post(f"/threads/{thread}/runs", json=body)
            r.raise_for_status()
            created.append((thread, r.json()["run_id"]))
        for thread, run_id in created:
            (await http.get(f"/threads/{thread}/runs/{run_id}/join")).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--input-mib", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the server's work directory")
    args = parser.parse_args()
    install_exit_guards()
    with work_root(args.keep, prefix="graphdock-stream-memory-") as root:
        server = start_server("graphdock", CONFIG, Path(root) / "graphdock")
        try:
            before = server.rss_bytes()
            peak = before
            stop = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not stop.is_set():
                    peak = max(peak, server.rss_bytes())
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.perf_counter()
            asyncio.run(_runs(server.base_url, args.runs, args.input_mib))
            elapsed = time.perf_counter() - started
            stop.set()
            sampler.join()
            after = server.rss_bytes()
        finally:
            server.stop()
    progress(
        f"{args.runs} background runs x {args.input_mib} MiB input, stream modes {'+'.join(MODES)}, "
        f"stream_resumable, {elapsed:.1f} s\n"
        f"server RSS: before {before / MIB:.0f} MiB, peak {peak / MIB:.0f} MiB, after {after / MIB:.0f} MiB"
    )


if __name__ == "__main__":
    main()

"""Retention under load: a server with a thread TTL keeps its database the same size while runs
keep coming; without one it grows. Prints one sample row every --sample-seconds.

On PostgreSQL, bytes are the relations' total size (indexes and TOAST included); where autovacuum
is off, the bench vacuums those tables at every sample, as autovacuum would.

Each worker makes a thread, runs `echo` (tests/graphs/runs.py) on it three times (a run writes three
checkpoints), and moves to a new thread; the old one is left to expire. Examples:

    .venv/bin/python bench/retention.py --backend sqlite --seconds 120
    .venv/bin/python bench/retention.py --backend sqlite --seconds 120 --ttl-minutes 0   # no TTL
    .venv/bin/python bench/retention.py --backend postgres --seconds 120
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "tests" / "graphs" / "runs.py"
PG_SERVER = os.environ.get("GRAPHDOCK_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_TABLES = ("threads", "runs", "checkpoints", "checkpoint_blobs", "checkpoint_writes")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--ttl-minutes", type=float, default=0.25, help="default_ttl; 0: no TTL at all")
    p.add_argument("--sweep-interval-minutes", type=float, default=0.05)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--sample-seconds", type=float, default=10)
    p.add_argument("--port", type=int, default=0, help="0: a free one")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="graphdock-retention-", dir=REPO / "bench") as name:
        folder = Path(name)
        url = _project(args, folder)
        port = args.port or _free_port()
        cmd = [sys.executable, "-m", "graphdock", "serve", "--config", str(folder / "langgraph.json")]
        with (folder / "server.log").open("wb") as log:
            server = subprocess.Popen(
                [*cmd, "--port", str(port), "--database-url", url], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            asyncio.run(_load(args, f"http://127.0.0.1:{port}", url, server))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)


def _project(args: argparse.Namespace, folder: Path) -> str:
    """Writes the project's langgraph.json; returns the database URL to serve it on."""
    checkpointer = {}
    if args.ttl_minutes > 0:
        ttl = {"default_ttl": args.ttl_minutes, "sweep_interval_minutes": args.sweep_interval_minutes}
        checkpointer = {"ttl": ttl}
    graphs = {"echo": f"{RUNS}:echo"}
    project = {"dependencies": [str(RUNS.parent)], "graphs": graphs, "checkpointer": checkpointer}
    (folder / "langgraph.json").write_text(json.dumps(project))
    if args.backend == "sqlite":
        return f"sqlite:///{folder / 'db' / 'graphdock.sqlite3'}"
    return _fresh_postgres("gd_bench_retention")


async def _load(args: argparse.Namespace, base: str, url: str, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        await _until_up(http, server)
        done = [0]
        stop = time.monotonic() + args.seconds
        workers = [asyncio.create_task(_worker(http, stop, done)) for _ in range(args.workers)]
        ttl = f"default_ttl {args.ttl_minutes} min" if args.ttl_minutes > 0 else "no TTL"
        print(f"{args.backend}, {ttl}, {args.workers} workers, {args.seconds:.0f} s", flush=True)
        print(f"{'s':>5} {'runs':>6} {'threads':>8} {'checkpoints':>12} {'bytes':>12}", flush=True)
        started = time.monotonic()
        while time.monotonic() < stop:
            await asyncio.sleep(args.sample_seconds)
            threads = (await http.post("/threads/count", json={})).json()
            checkpoints, size = _measure(url)
            elapsed = time.monotonic() - started
            print(f"{elapsed:5.0f} {done[0]:6d} {threads:8d} {checkpoints:12d} {size:12,d}", flush=True)
        await asyncio.gather(*workers)


async def _worker(http: httpx.AsyncClient, stop: float, done: list[int]) -> None:
    while time.monotonic() < stop:
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        for _ in range(3):
            r = await http.post(
                f"/threads/{thread}/runs/wait", json={"assistant_id": "echo", "input": {"text": "x"}}
            )
            r.raise_for_status()
            done[0] += 1


def _measure(url: str) -> tuple[int, int]:
    """Checkpoints stored, and the bytes the database takes (files on SQLite, relations on PostgreSQL)."""
    if url.startswith("sqlite:///"):
        folder = Path(url.removeprefix("sqlite:///")).parent
        size = sum(f.stat().st_size for f in folder.iterdir())
        with sqlite3.connect(folder / "graphdock.checkpoints.sqlite3") as c:
            return c.execute("SELECT count(*) FROM checkpoints").fetchone()[0], size
    with psycopg.connect(url, autocommit=True) as c:
        # Deleted rows free their space for reuse only once vacuumed; where autovacuum is off
        # (as on the test server), vacuum as it would, or dead rows are measured as growth.
        autovacuum = c.execute("SHOW autovacuum").fetchone()
        if autovacuum and autovacuum[0] == "off":
            for table in PG_TABLES:
                c.execute(f"VACUUM {table}")
        count = c.execute("SELECT count(*) FROM checkpoints").fetchone()
        sizes = [c.execute("SELECT pg_total_relation_size(%s)", (t,)).fetchone() for t in PG_TABLES]
    return (count[0] if count else 0), sum(s[0] for s in sizes if s)


def _fresh_postgres(name: str) -> str:
    with psycopg.connect(PG_SERVER, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    return PG_SERVER.rsplit("/", 1)[0] + f"/{name}"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _until_up(http: httpx.AsyncClient, server: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if server.poll() is not None:
            raise SystemExit("the server exited; see its log")
        try:
            if (await http.get("/ok")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("the server did not start")


if __name__ == "__main__":
    main()

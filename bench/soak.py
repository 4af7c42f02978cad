"""Soak: minutes of mixed load (assistants and runs) against one graphdock server; counts errors,
samples the server's memory (it must settle) and records p50/p99 per operation.

The runs use `echo` of tests/graphs/langgraph.json (one node copying `text`, no LLM), so every
answer is known: a 2xx answer with another result counts as an error too.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from _harness import (
    BENCH_DIR,
    REPO_DIR,
    ServerHandle,
    Stats,
    fresh_postgres_database,
    install_exit_guards,
    record_error,
    run_load,
    start_server,
)
from _http import Client, RequestFailed, Response, call, make_client
from _report import write_json
from _runner import progress, run_async, work_root

CONFIG = REPO_DIR / "tests" / "graphs" / "langgraph.json"
GRAPH_ID = "echo"
RUN_BODY: dict[str, Any] = {"assistant_id": GRAPH_ID, "input": {"text": "hi"}}
EXPECTED_OUTPUT: dict[str, Any] = {"text": "hi", "steps": ["echo"]}
POOL = 12  # assistants each worker keeps alive; past it a create deletes one first
MIB = 1024 * 1024


class WrongOutput(Exception):
    """A 2xx answer whose run result is not the echo graph's output."""


@dataclass
class SoakResult:
    seconds: float
    load: Stats | None = None  # the load loop's own count: every failure, whatever raised it
    ops: dict[str, Stats] = field(default_factory=dict)
    rss: list[tuple[float, int]] = field(default_factory=list)  # (seconds since the start, bytes)
    log_problems: list[str] = field(default_factory=list)

    @property
    def total_ops(self) -> int:
        return sum(s.ok + s.error_count for s in self.ops.values())

    @property
    def error_count(self) -> int:
        return (self.load.error_count if self.load else 0) + len(self.log_problems)

    def rss_thirds_mib(self) -> tuple[float, float]:
        """Mean RSS of the middle and of the last third of the run: the first third is warm-up
        (caches, imports, the connection pool); a leak shows as last > middle."""
        end = self.seconds

        def mean(lo: float, hi: float) -> float:
            picked = [rss for t, rss in self.rss if lo * end <= t < hi * end]
            return sum(picked) / len(picked) / MIB if picked else math.nan

        return mean(1 / 3, 2 / 3), mean(2 / 3, 1.01)

    def summary(self) -> dict[str, Any]:
        middle, last = self.rss_thirds_mib()
        return {
            "seconds": round(self.seconds, 1),
            "total_ops": self.total_ops,
            "errors": self.error_count,
            "log_problems": self.log_problems,
            "rss_mib": {
                "middle_third_mean": round(middle, 1),
                "last_third_mean": round(last, 1),
                "peak": round(max((r for _, r in self.rss), default=0) / MIB, 1),
            },
            "rss_samples": [(round(t, 1), r) for t, r in self.rss],
            "ops": {name: stats.summary() for name, stats in sorted(self.ops.items())},
        }


class MixedLoad:
    """What each closed-loop worker does next: one assistants request, or a whole run."""

    def __init__(self, client: Client, concurrency: int, seed: int) -> None:
        self._client = client
        self._concurrency = concurrency
        self._rngs = [random.Random(f"{seed}-{i}") for i in range(concurrency)]
        self._pools: list[list[str]] = [[] for _ in range(concurrency)]
        self.ops: dict[str, Stats] = {}

    async def step(self, worker: int) -> None:
        rng, pool = self._rngs[worker], self._pools[worker]
        roll = rng.random()
        if len(pool) < 2 or roll < 0.08:
            if len(pool) >= POOL:
                await self._call("delete", "DELETE", f"/assistants/{pool.pop(0)}")
            config = {"configurable": {"worker": worker}}
            body = {"graph_id": GRAPH_ID, "config": config, "metadata": {"soak": worker}}
            pool.append((await self._call("create", "POST", "/assistants", body)).json()["assistant_id"])
        elif roll < 0.28:
            await self._call("get", "GET", f"/assistants/{rng.choice(pool)}")
        elif roll < 0.38:
            body = {"metadata": {"soak": worker}, "limit": 10}
            await self._call("search", "POST", "/assistants/search", body)
        elif roll < 0.50:
            body = {"config": {"configurable": {"n": rng.randrange(1000)}}}
            await self._call("update", "PATCH", f"/assistants/{rng.choice(pool)}", body)
        elif roll < 0.56:
            await self._call("set_latest", "POST", f"/assistants/{rng.choice(pool)}/latest", {"version": 1})
        elif roll < 0.60:
            await self._call("delete", "DELETE", f"/assistants/{pool.pop(rng.randrange(len(pool)))}")
        elif roll < 0.80:
            await self._thread_run(rng.choice(("wait", "stream")))
        else:
            mode = rng.choice(("wait", "stream"))
            await self._call(f"stateless_{mode}", "POST", f"/runs/{mode}", self._run(mode), check=mode)

    async def _thread_run(self, mode: str) -> None:
        """A new thread per run (a reused one would grow its state), deleted afterwards."""
        thread_id = (await self._call("thread_create", "POST", "/threads", {})).json()["thread_id"]
        path = f"/threads/{thread_id}/runs/{mode}"
        await self._call(f"thread_{mode}", "POST", path, self._run(mode), check=mode)
        await self._call("thread_delete", "DELETE", f"/threads/{thread_id}")

    @staticmethod
    def _run(mode: str) -> dict[str, Any]:
        return {**RUN_BODY, "stream_mode": "values"} if mode == "stream" else RUN_BODY

    async def _call(
        self, op: str, method: str, path: str, body: Any = None, *, check: str | None = None
    ) -> Response:
        """One request, timed into its operation's row; a failure (with `check`, also a run result
        that is not the echo output) counts there and is re-raised for the load loop's total."""
        stats = self.ops.setdefault(op, Stats(op, self._concurrency))
        started = time.perf_counter()
        try:
            response = await call(self._client, method, path, body)
            if check is not None:
                _check_output(check, response)
        except Exception as exc:
            key = f"HTTP {exc.status}" if isinstance(exc, RequestFailed) else type(exc).__name__
            record_error(stats, key, str(exc))
            raise
        stats.latencies.append(time.perf_counter() - started)
        return response


def _check_output(mode: str, response: Response) -> None:
    if mode == "wait":
        output = response.json()
    else:  # the last `data:` of a values stream is the final state
        data = [line for line in response.content.splitlines() if line.startswith(b"data:")]
        output = orjson.loads(data[-1][5:]) if data else None
    if output != EXPECTED_OUTPUT:
        raise WrongOutput(f"{mode}: {response.content[:300]!r}")


async def soak(
    handle: ServerHandle, *, seconds: float, concurrency: int, seed: int, sample_seconds: float
) -> SoakResult:
    """Drive the mixed load for `seconds`, sampling the server's RSS every `sample_seconds`."""
    client = make_client("raw", handle.base_url)
    load = MixedLoad(client, concurrency, seed)
    result = SoakResult(seconds)
    started = time.perf_counter()

    async def sample() -> None:
        while True:
            result.rss.append((time.perf_counter() - started, handle.rss_bytes()))
            await asyncio.sleep(sample_seconds)

    sampler = asyncio.create_task(sample())
    try:
        result.load = await run_load(load.step, concurrency=concurrency, seconds=seconds)
    finally:
        sampler.cancel()
        await client.aclose()
    result.rss.append((time.perf_counter() - started, handle.rss_bytes()))
    for stats in load.ops.values():
        stats.latencies.sort()
        stats.elapsed = seconds
    result.ops = load.ops
    result.log_problems = [line for line in handle.log_tail(10_000).splitlines() if "Traceback" in line]
    return result


def run(
    workdir: Path,
    *,
    backend: str = "sqlite",
    seconds: float,
    concurrency: int = 8,
    seed: int = 0,
    sample_seconds: float = 1.0,
    postgres_database: str = "gd_soak",
    ready_timeout: float = 300.0,
) -> SoakResult:
    """Start one server on a fresh database in `workdir`, soak it, stop it."""
    database = fresh_postgres_database(postgres_database) if backend == "postgres" else None
    kind = "graphdock-pg" if backend == "postgres" else "graphdock"
    # A generous start-up wait: on a busy 2-core machine the imports alone can take over a minute.
    flags = ["--log-level", "warning"]
    handle = start_server(
        kind, CONFIG, workdir, database_url=database, extra_args=flags, ready_timeout=ready_timeout
    )
    try:
        load = soak(
            handle, seconds=seconds, concurrency=concurrency, seed=seed, sample_seconds=sample_seconds
        )
        return run_async(load)
    finally:
        handle.stop()


def render(result: SoakResult, title: str) -> str:
    lines = [title, f"{'operation':<16}{'ops':>9}{'errors':>8}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}"]
    for name, s in sorted(result.ops.items()):
        p50, p99, top = (s.percentile_ms(q) for q in (50, 99, 100))
        lines.append(
            f"{name:<16}{s.ok + s.error_count:>9}{s.error_count:>8}{p50:>10.2f}{p99:>10.2f}{top:>10.2f}"
        )
    middle, last = result.rss_thirds_mib()
    lines.append(
        f"total {result.total_ops} operations in {result.seconds:.0f} s, {result.error_count} errors"
    )
    lines.append(f"server RSS (mean): middle third {middle:.1f} MiB -> last third {last:.1f} MiB")
    if result.load is not None:
        for key, samples in result.load.error_samples.items():
            lines.append(f"errors: {result.load.errors[key]} x {key}, e.g. {samples[0]}")
    lines += [f"server log: {line}" for line in result.log_problems[:5]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--seconds", type=float, default=300.0, help="how long the load runs (default 300)")
    p.add_argument("--concurrency", type=int, default=8, help="closed-loop workers (default 8)")
    p.add_argument("--sample-seconds", type=float, default=1.0, help="RSS sampling interval (default 1)")
    p.add_argument("--seed", type=int, default=0, help="the workers' choices of operations")
    p.add_argument(
        "--postgres-database",
        default="gd_soak",
        help="with --backend postgres: the database made afresh on $GRAPHDOCK_BENCH_POSTGRES's server",
    )
    p.add_argument("--json", type=Path, help="results file (default bench/results/soak-<timestamp>.json)")
    p.add_argument("--keep-workdir", action="store_true", help="keep the server's temp dir and log")
    args = p.parse_args(argv)
    install_exit_guards()
    started = datetime.now()
    progress(f"soak: {args.backend}, {args.seconds:.0f} s at concurrency {args.concurrency}")
    with work_root(args.keep_workdir, prefix="gd-soak-") as root:
        result = run(
            root / "server",
            backend=args.backend,
            seconds=args.seconds,
            concurrency=args.concurrency,
            seed=args.seed,
            sample_seconds=args.sample_seconds,
            postgres_database=args.postgres_database,
        )
    print(render(result, f"soak on {args.backend}, concurrency {args.concurrency}"))
    path: Path = args.json or BENCH_DIR / "results" / f"soak-{args.backend}-{started:%Y%m%d-%H%M%S}.json"
    write_json(
        path,
        {
            "benchmark": "soak",
            "started_at": started.isoformat(timespec="seconds"),
            "settings": {k: str(v) for k, v in vars(args).items()},
            **result.summary(),
        },
    )
    print(f"\nresults written to {path}")
    return 1 if result.error_count else 0


if __name__ == "__main__":
    sys.exit(main())

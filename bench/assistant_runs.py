"""How reading runs by assistant version grows with the runs kept: 1k vs 100k, per backend.

What the versions screen asks: GET /assistants/{id}/runs pages (all, one version, errors) and
run_stats for ten versions. Drives graphdock's storage layer directly (the HTTP cost does not grow
with the table), on a database filled in bulk: the assistant's runs over ten versions and 1 in 20
failing, as many runs of another assistant beside them. Each size is measured with migration
0007's indexes and again after dropping them, to show what they buy.
Run: python bench/assistant_runs.py [--backend sqlite|postgres|both] [--sizes 1000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg

from _harness import POSTGRES_ADMIN
from graphdock.domain.run_stats import RULE
from graphdock.storage import storage_for
from graphdock.storage.assistant_runs import AssistantRunFilter
from graphdock.storage.base import Storage
from graphdock.storage.records import Page, Snapshot

TARGET = "aaaaaaaa-0000-4000-8000-000000000001"
OTHER = "aaaaaaaa-0000-4000-8000-000000000002"
VERSIONS = 10
DATABASE = os.environ.get("GRAPHDOCK_BENCH_RUNS_DATABASE", "gd_bench_assistant_runs")
INDEXES = ("runs_assistant", "runs_assistant_version")
THREAD_COLUMNS = 'thread_id, created_at, updated_at, metadata, status, "values", interrupts, assistant_id'
RUN_COLUMNS = (
    "run_id, thread_id, assistant_id, created_at, updated_at, status, metadata, multitask_strategy, kwargs,"
    " assistant_version, attempt"
)


def rows(n: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Threads and runs: per assistant, n runs over n/100 threads, versions rising with time."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    threads, runs = [], []
    for a, assistant in enumerate((TARGET, OTHER)):
        per_thread = max(1, n // 100)
        for t in range(n // per_thread):
            tid = f"{a:08d}-0000-4000-8000-{t:012d}"
            threads.append((tid, start.isoformat(), start.isoformat(), "{}", "idle", None, "{}", assistant))
        for i in range(n):
            created = start + timedelta(seconds=i)
            ended = created + timedelta(milliseconds=50 + i % 100)
            runs.append(
                (
                    f"{a:08d}-1111-4000-8000-{i:012d}",
                    f"{a:08d}-0000-4000-8000-{(i // per_thread) % (n // per_thread):012d}",
                    assistant,
                    created.isoformat(timespec="microseconds"),
                    ended.isoformat(timespec="microseconds"),
                    "error" if i % 20 == 0 else "success",
                    "{}",
                    "reject",
                    "{}",
                    1 + i * VERSIONS // n,
                    1,
                )
            )
    return threads, runs


def fill_sqlite(path: Path, n: int) -> None:
    import sqlite3

    threads, runs = rows(n)
    with sqlite3.connect(path) as c:
        c.executemany(f"INSERT INTO threads ({THREAD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", threads)
        c.executemany(f"INSERT INTO runs ({RUN_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", runs)
        c.execute("ANALYZE")


def fill_postgres(url: str, n: int) -> None:
    threads, runs = rows(n)
    with psycopg.connect(url) as c:
        with c.cursor() as cur:
            with cur.copy(f"COPY threads ({THREAD_COLUMNS}) FROM STDIN") as copy:
                for row in threads:
                    copy.write_row(row)
            with cur.copy(f"COPY runs ({RUN_COLUMNS}) FROM STDIN") as copy:
                for row in runs:
                    copy.write_row(row)
        c.execute("ANALYZE")


def drop_indexes(backend: str, where: str) -> None:
    if backend == "sqlite":
        import sqlite3

        with sqlite3.connect(where) as c:
            for name in INDEXES:
                c.execute(f"DROP INDEX {name}")
    else:
        with psycopg.connect(where, autocommit=True) as c:
            for name in INDEXES:
                c.execute(f"DROP INDEX {name}")


async def median_ms(call: Callable[[], Awaitable[object]], repeat: int) -> float:
    await call()  # warm the cache and the plan
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return sorted(samples)[len(samples) // 2] * 1000


async def measure(storage: Storage, repeat: int) -> dict[str, float]:
    page = Page(limit=10)
    versions = list(range(1, VERSIONS + 1))
    cases: dict[str, Callable[[], Awaitable[object]]] = {
        "runs, newest page": lambda: storage.search_assistant_runs(AssistantRunFilter(TARGET), page),
        "runs, version 5": lambda: storage.search_assistant_runs(AssistantRunFilter(TARGET, version=5), page),
        "runs, errors": lambda: storage.search_assistant_runs(
            AssistantRunFilter(TARGET, status="error"), page
        ),
        "runs, deep page (offset 500)": lambda: storage.search_assistant_runs(
            AssistantRunFilter(TARGET), Page(limit=10, offset=500)
        ),
        "run_stats, 10 versions": lambda: storage.version_run_stats(TARGET, versions, RULE),
        # What POST /assistants/{id}/versions reads: the page of versions with their run stats.
        "versions page with run_stats": lambda: storage.list_versions_with_run_stats(TARGET, {}, page, RULE),
    }
    return {
        name: await median_ms(call, repeat if "stats" not in name else max(3, repeat // 4))
        for name, call in cases.items()
    }


async def one(backend: str, n: int, repeat: int) -> tuple[dict[str, float], dict[str, float]]:
    if backend == "sqlite":
        folder = tempfile.TemporaryDirectory(prefix="gd-bench-")
        where = str(Path(folder.name) / "runs.sqlite3")
        url = f"sqlite:///{where}"
    else:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
            admin.execute(f"CREATE DATABASE {DATABASE}")
        where = url = POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + DATABASE
    try:
        storage = storage_for(url)
        await storage.open()  # migrations
        await storage.create_assistant(TARGET, Snapshot("agent", {}, {}, {}, "target", None), "raise")
        for _ in range(VERSIONS - 1):  # the versions the runs ran
            await storage.revise_assistant(TARGET, lambda current: current.snapshot)
        (fill_sqlite if backend == "sqlite" else fill_postgres)(
            Path(where) if backend == "sqlite" else where, n
        )  # type: ignore[arg-type]
        indexed = await measure(storage, repeat)
        await storage.close()
        drop_indexes(backend, where)
        storage = storage_for(url)
        await storage.open()
        unindexed = await measure(storage, repeat)
        await storage.close()
        return indexed, unindexed
    finally:
        if backend == "sqlite":
            folder.cleanup()
        else:
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[tuple[str, int], tuple[dict[str, float], dict[str, float]]] = {}
    for backend in backends:
        for n in sizes:
            results[backend, n] = asyncio.run(one(backend, n, args.repeat))
            print(f"{backend} {n} runs: done", flush=True)
    print("\nmedian ms per call (with 0007's indexes / without them)")
    header = "| query | " + " | ".join(f"{b} {n:,}" for b, n in results) + " |"
    print(header)
    print("|---" * (len(results) + 1) + "|")
    for name in next(iter(results.values()))[0]:
        cells = [f"{with_[name]:.2f} / {without[name]:.2f}" for with_, without in results.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(orjson.dumps({f"{b}:{n}": r for (b, n), r in results.items()}).decode())


if __name__ == "__main__":
    main()

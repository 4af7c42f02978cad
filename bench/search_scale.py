"""How search cost grows with the number of assistants: the same filters at 1k and 100k, per backend.

Drives graphdock's storage layer directly (the HTTP cost is the same at any size and measured by
bench/assistants.py), so the figures isolate the database: indexes, query plans, containment.
Run: python bench/search_scale.py [--backend sqlite|postgres] [--sizes 1000,100000]
(bench/report.py runs `scale` for its table.)
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import psycopg

from _harness import POSTGRES_ADMIN
from graphdock.storage import storage_for
from graphdock.storage.base import Storage
from graphdock.storage.records import AssistantFilter, Page, Snapshot

FILTERS: dict[str, AssistantFilter] = {
    "none (newest first)": AssistantFilter(),
    "metadata owner=u3 (1%)": AssistantFilter(metadata={"owner": "u3"}),
    "metadata n=5 (one row)": AssistantFilter(metadata={"n": 5}),
    "nested team.id=3 (14%)": AssistantFilter(metadata={"team": {"id": 3}}),
    "name contains 'name 77'": AssistantFilter(name="name 77"),
    # The name rows below: a needle matching one row, one too short for a trigram index (a scan),
    # and one matching every row (its first rows in page order hold the page: no index).
    "name contains 'name 4321'": AssistantFilter(name="name 4321"),
    "name contains '77' (2 chars)": AssistantFilter(name="77"),
    "name contains 'name' (all)": AssistantFilter(name="name"),
}
COUNT = "count, no filter"
DEFAULT_PREFIX = "gd_search"  # PostgreSQL: one database per size, <prefix>_<n>, dropped afterwards
FILL_BATCH = 16  # creates in flight while filling (PostgreSQL's pool takes them in parallel)


async def fill(storage: Storage, n: int) -> None:
    async def create(i: int) -> None:
        metadata = {"owner": f"u{i % 100}", "n": i, "team": {"id": i % 7}}
        snapshot = Snapshot("agent", {}, {}, metadata, f"name {i}", None)
        await storage.create_assistant(str(uuid.uuid4()), snapshot, "raise")

    for start in range(0, n, FILL_BATCH):
        await asyncio.gather(*(create(i) for i in range(start, min(n, start + FILL_BATCH))))


async def timed(call: Callable[[], Awaitable[object]], repeat: int) -> list[float]:
    """`repeat` sequential calls; their durations in seconds, sorted."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return sorted(samples)


def percentile_ms(samples: list[float], q: float) -> float:
    """Nearest rank, as the HTTP benchmarks' Stats."""
    return samples[max(1, math.ceil(q / 100 * len(samples))) - 1] * 1000


def database_url(backend: str, n: int, workdir: Path, prefix: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'search-{n}.sqlite3'}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{prefix}_{n}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{prefix}_{n}"')
    return POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{prefix}_{n}"


async def measure(
    backend: str, n: int, workdir: Path, repeat: int, analyze: bool = True, prefix: str = DEFAULT_PREFIX
) -> dict[str, list[float]]:
    """Each filter's search (10 per page, newest first) and the unfiltered count, `repeat` times each."""
    url = database_url(backend, n, workdir, prefix)
    storage = storage_for(url)
    await storage.open()
    try:
        started = time.perf_counter()
        await fill(storage, n)
        print(f"{backend}: {n} assistants stored in {time.perf_counter() - started:.1f}s", flush=True)
        # What autovacuum does within about a minute of a bulk load: until then the planner has no
        # statistics for the new rows and may pick a slow plan (see --no-analyze).
        if backend == "postgres" and analyze:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE assistants")
        out: dict[str, list[float]] = {}
        for label, where in FILTERS.items():
            out[label] = await timed(
                lambda w=where: storage.search_assistants(w, Page(10, 0), "created_at", True), repeat
            )
        out[COUNT] = await timed(lambda: storage.count_assistants(AssistantFilter()), repeat)
        return out
    finally:
        await storage.close()
        if backend == "postgres":
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{prefix}_{n}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--sizes", default="1000,100000", help="comma-separated assistant counts")
    parser.add_argument("--repeat", type=int, default=30, help="searches per filter (median reported)")
    parser.add_argument(
        "--database-prefix",
        default=DEFAULT_PREFIX,
        help=f"PostgreSQL: databases <prefix>_<size>, dropped afterwards (default {DEFAULT_PREFIX})",
    )
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="PostgreSQL: search right after the bulk load, before autovacuum has gathered statistics",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="graphdock-search-scale-") as tmp:
        results = {
            n: asyncio.run(
                measure(args.backend, n, Path(tmp), args.repeat, args.analyze, args.database_prefix)
            )
            for n in sizes
        }
    header = "".join(f"{n:>12,}" for n in sizes)
    print(f"\nsearch p50 in ms, 10 per page, {args.backend}\n{'filter':28}{header}{'ratio':>10}")
    for label in [*FILTERS, COUNT]:
        p50 = [percentile_ms(results[n][label], 50) for n in sizes]
        cells = "".join(f"{v:12.2f}" for v in p50)
        ratio = p50[-1] / p50[0]
        print(f"{label:28}{cells}{ratio:9.1f}x")


if __name__ == "__main__":
    main()

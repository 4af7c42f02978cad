"""How search cost grows with the number of assistants: the same filters at 1k and 100k, per backend.

Drives graphdock's storage layer directly (the HTTP cost is the same at any size and measured by
bench/assistants.py), so the figures isolate the database: indexes, query plans, containment.
Run: python bench/search_scale.py [--backend sqlite|postgres] [--sizes 1000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from graphdock.storage import storage_for
from graphdock.storage.base import Storage
from graphdock.storage.records import AssistantFilter, Page, Snapshot

FILTERS: dict[str, AssistantFilter] = {
    "none (newest first)": AssistantFilter(),
    "metadata owner=u3 (1%)": AssistantFilter(metadata={"owner": "u3"}),
    "metadata n=5 (one row)": AssistantFilter(metadata={"n": 5}),
    "nested team.id=3 (14%)": AssistantFilter(metadata={"team": {"id": 3}}),
    "name contains 'name 77'": AssistantFilter(name="name 77"),
}
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def fill(storage: Storage, n: int) -> None:
    for i in range(n):
        metadata = {"owner": f"u{i % 100}", "n": i, "team": {"id": i % 7}}
        snapshot = Snapshot("agent", {}, {}, metadata, f"name {i}", None)
        await storage.create_assistant(str(uuid.uuid4()), snapshot, "raise")


async def timed(storage: Storage, where: AssistantFilter, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await storage.search_assistants(where, Page(10, 0), "created_at", True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def database_url(backend: str, n: int, workdir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'search-{n}.sqlite3'}"
    name = f"gd_search_{n}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name


def database_url_of(n: int) -> str:
    return POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/gd_search_{n}"


async def measure(backend: str, n: int, workdir: Path, repeat: int, analyze: bool) -> dict[str, float]:
    storage = storage_for(database_url(backend, n, workdir))
    await storage.open()
    try:
        started = time.perf_counter()
        await fill(storage, n)
        print(f"{backend}: {n} assistants stored in {time.perf_counter() - started:.1f}s", flush=True)
        # What autovacuum does within about a minute of a bulk load: until then the planner has no
        # statistics for the new rows and may pick a slow plan (see --no-analyze).
        if backend == "postgres" and analyze:
            with psycopg.connect(database_url_of(n), autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE assistants")
        return {label: await timed(storage, where, repeat) for label, where in FILTERS.items()}
    finally:
        await storage.close()
        if backend == "postgres":
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "gd_search_{n}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--sizes", default="1000,100000", help="comma-separated assistant counts")
    parser.add_argument("--repeat", type=int, default=30, help="searches per filter (median reported)")
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="PostgreSQL: search right after the bulk load, before autovacuum has gathered statistics",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            n: asyncio.run(measure(args.backend, n, Path(tmp), args.repeat, args.analyze)) for n in sizes
        }
    header = "".join(f"{n:>12,}" for n in sizes)
    print(f"\nsearch p50 in ms, 10 per page, {args.backend}\n{'filter':28}{header}{'ratio':>10}")
    for label in FILTERS:
        cells = "".join(f"{results[n][label]:12.2f}" for n in sizes)
        ratio = results[sizes[-1]][label] / results[sizes[0]][label]
        print(f"{label:28}{cells}{ratio:9.1f}x")


if __name__ == "__main__":
    main()

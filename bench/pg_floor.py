"""The PostgreSQL floor: what one round trip and one durable commit cost on this machine, by the
driver and event loop graphdock serves with (psycopg's AsyncConnection on uvloop), one at a time.

A request that reads PostgreSQL once cannot answer faster than the bare ASGI app (the ceiling)
plus one round trip; one that writes durably, faster than the ceiling plus one commit, whose WAL
flush waits on the disk. `report.py` prints both sums beside the official server's p50 at c=1, so
a target like "1.5 times the official server at c=1" can be checked against what the machine allows in
the same run. Run: python bench/pg_floor.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import psycopg
import uvloop

from _harness import POSTGRES_ADMIN, fresh_postgres_database
from search_scale import percentile_ms

DEFAULT_DATABASE = "gd_bench_floor"
ROUND_TRIP = "round trip: SELECT 1"
COMMIT = "durable commit: UPDATE of one row"


async def _measure(url: str, repeat: int) -> dict[str, list[float]]:
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    try:
        await conn.execute("CREATE TABLE floor (id int PRIMARY KEY, n bigint NOT NULL)")
        await conn.execute("INSERT INTO floor VALUES (1, 0)")
        # synchronous_commit is the server's (on unless configured otherwise), as for graphdock.
        statements = {ROUND_TRIP: "SELECT 1", COMMIT: "UPDATE floor SET n = n + 1 WHERE id = 1"}
        out: dict[str, list[float]] = {}
        for label, sql in statements.items():
            samples = []
            for i in range(repeat + repeat // 10):  # the first tenth warms up (and prepares)
                started = time.perf_counter()
                await conn.execute(sql)
                if i >= repeat // 10:
                    samples.append(time.perf_counter() - started)
            out[label] = sorted(samples)
        return out
    finally:
        await conn.close()


def measure(repeat: int, database: str = DEFAULT_DATABASE) -> dict[str, dict[str, float]]:
    """{label: {"p50_ms", "p99_ms"}} for a round trip and a durable commit, in a scratch database
    (made and dropped here)."""
    url = fresh_postgres_database(database)
    try:
        samples = uvloop.run(_measure(url, repeat))
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return {
        label: {"p50_ms": round(percentile_ms(s, 50), 3), "p99_ms": round(percentile_ms(s, 99), 3)}
        for label, s in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3000, help="timed statements of each kind")
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="scratch database, dropped afterwards")
    args = parser.parse_args()
    result: dict[str, Any] = measure(args.repeat, args.database)
    for label, s in result.items():
        print(f"{label:36} p50 {s['p50_ms']:.3f} ms  p99 {s['p99_ms']:.3f} ms")


if __name__ == "__main__":
    main()

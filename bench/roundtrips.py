"""PostgreSQL round trips per request: what each common operation asks of the database, counted exactly.

One graphdock server on a fresh PostgreSQL database, reached through a counting proxy
(bench/_pgwire.py). Each operation is sent `--count-requests` times one at a time; after each
answer the proxy must have been silent for `--settle-ms`, so work that follows the answer (a
worker claiming its next run) is counted with the request that caused it. The row gives the
most common count and how many requests had it (a background tick — lease renewal, the cron
scheduler — can land in a request's window). Then `--cpu-requests` more are sent back to back,
and the server's process-group CPU over them gives the CPU per request, and its PostgreSQL
backends' CPU (from /proc, so PostgreSQL must run on this machine) the database's. Those are the
only timings here; they move with the machine's load, the counts do not.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from _harness import (
    POSTGRES_ADMIN,
    REPO_DIR,
    ServerHandle,
    fresh_postgres_database,
    install_exit_guards,
    start_server,
)
from _http import Client, call, make_client
from _pgwire import Tally, WireCounter
from _runner import progress, work_root

GRAPH_ID = "echo"
RUN_BODY: dict[str, Any] = {"assistant_id": GRAPH_ID, "input": {"text": "hi"}}
EXPECTED_OUTPUT: dict[str, Any] = {"text": "hi", "steps": ["echo"]}

# fixtures for n requests -> one request given its fixture
Prepare = Callable[[Client, int], Awaitable[Sequence[Any]]]
Request = Callable[[Client, Any], Awaitable[None]]


@dataclass(frozen=True)
class Operation:
    name: str
    prepare: Prepare
    request: Request


@dataclass
class Row:
    name: str
    tally: Tally
    agreeing: int
    samples: int
    cpu_ms: float
    postgres_cpu_ms: float  # the server's PostgreSQL backends, read from /proc (same machine only)
    statements: list[str]
    others: dict[
        str, int
    ]  # the counts of the requests that disagreed ("round trips/statements/transactions")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--count-requests", type=int, default=30, help="counted requests per operation (30)")
    p.add_argument("--cpu-requests", type=int, default=500, help="requests per operation for CPU (500)")
    p.add_argument("--warmup-requests", type=int, default=60, help="unrecorded requests first (60)")
    p.add_argument("--settle-ms", type=float, default=50.0, help="proxy silence that ends a request (50)")
    p.add_argument("--only", help="comma-separated operation names (default: all)")
    p.add_argument("--statements", action="store_true", help="print each operation's statements")
    p.add_argument("--config", type=Path, default=REPO_DIR / "tests" / "graphs" / "langgraph.json")
    p.add_argument("--graphdock-bin", type=Path, default=None)
    p.add_argument(
        "--postgres-database", default="gd_roundtrips", help="dropped and made again, then dropped"
    )
    p.add_argument("--port", type=int, default=None, help="the server's port (default: a free one)")
    p.add_argument(
        "--proxy-port", type=int, default=0, help="the counting proxy's port (default: a free one)"
    )
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    p.add_argument("--keep-workdir", action="store_true")
    return p.parse_args(argv)


# -- the operations -------------------------------------------------------------------------------


def assistant_body(i: int) -> dict[str, Any]:
    return {
        "graph_id": GRAPH_ID,
        "name": f"bench-{i}",
        "config": {"tags": [f"t{i % 3}"]},
        "metadata": {"owner": f"u{i % 10}", "n": i},
    }


async def new_assistant(client: Client, i: int, versions: int = 1) -> str:
    assistant_id: str = (await call(client, "POST", "/assistants", assistant_body(i))).json()["assistant_id"]
    for v in range(2, versions + 1):
        await call(client, "PATCH", f"/assistants/{assistant_id}", {"metadata": {"v": v}})
    return assistant_id


async def new_thread(client: Client) -> str:
    thread_id: str = (await call(client, "POST", "/threads", {"metadata": {"owner": "u1"}})).json()[
        "thread_id"
    ]
    return thread_id


def operations() -> list[Operation]:
    serial = iter(range(10**9))

    async def nothing(_c: Client, n: int) -> Sequence[Any]:
        return [None] * n

    async def one_assistant(c: Client, n: int) -> Sequence[Any]:
        return [await new_assistant(c, next(serial))] * n

    async def two_versions(c: Client, n: int) -> Sequence[Any]:
        aid = await new_assistant(c, next(serial), versions=2)
        return [(aid, 1 + i % 2) for i in range(n)]  # each request moves the active version

    async def ten_versions(c: Client, n: int) -> Sequence[Any]:
        return [await new_assistant(c, next(serial), versions=10)] * n

    async def old_versions(c: Client, n: int) -> Sequence[Any]:
        aid = await new_assistant(c, next(serial), versions=n + 1)  # the newest is active
        return [(aid, v) for v in range(1, n + 1)]

    async def assistants(c: Client, n: int) -> Sequence[Any]:
        return [await new_assistant(c, next(serial)) for _ in range(n)]

    async def one_thread(c: Client, n: int) -> Sequence[Any]:
        return [await new_thread(c)] * n

    async def threads(c: Client, n: int) -> Sequence[Any]:
        return [await new_thread(c) for _ in range(n)]

    async def create(c: Client, _: Any) -> None:
        await call(c, "POST", "/assistants", assistant_body(next(serial)))

    async def get(c: Client, aid: str) -> None:
        await call(c, "GET", f"/assistants/{aid}")

    async def search(c: Client, _: Any) -> None:
        await call(c, "POST", "/assistants/search", {"metadata": {"owner": "u3"}, "limit": 10})

    async def count(c: Client, _: Any) -> None:
        await call(c, "POST", "/assistants/count", {})

    async def patch(c: Client, aid: str) -> None:
        await call(c, "PATCH", f"/assistants/{aid}", {"metadata": {"k": next(serial)}})

    async def patch_config(c: Client, aid: str) -> None:
        body = {"config": {"configurable": {"model_name": "openai", "system_prompt": f"p{next(serial)}"}}}
        await call(c, "PATCH", f"/assistants/{aid}", body)

    async def set_latest(c: Client, fixture: tuple[str, int]) -> None:
        await call(c, "POST", f"/assistants/{fixture[0]}/latest", {"version": fixture[1]})

    async def versions(c: Client, aid: str) -> None:
        await call(c, "POST", f"/assistants/{aid}/versions", {"limit": 10})

    async def delete_version(c: Client, fixture: tuple[str, int]) -> None:
        await call(c, "DELETE", f"/assistants/{fixture[0]}/versions/{fixture[1]}")

    async def delete(c: Client, aid: str) -> None:
        await call(c, "DELETE", f"/assistants/{aid}")

    async def thread_create(c: Client, _: Any) -> None:
        await call(c, "POST", "/threads", {"metadata": {"owner": "u2"}})

    async def thread_get(c: Client, tid: str) -> None:
        await call(c, "GET", f"/threads/{tid}")

    async def thread_search(c: Client, _: Any) -> None:
        await call(c, "POST", "/threads/search", {"metadata": {"owner": "u1"}, "limit": 10})

    async def wait_stateless(c: Client, _: Any) -> None:
        output = (await call(c, "POST", "/runs/wait", RUN_BODY)).json()
        if output != EXPECTED_OUTPUT:
            raise RuntimeError(f"POST /runs/wait answered {output}, expected {EXPECTED_OUTPUT}")

    async def wait_thread(c: Client, tid: str) -> None:
        output = (await call(c, "POST", f"/threads/{tid}/runs/wait", RUN_BODY)).json()
        if output != EXPECTED_OUTPUT:
            raise RuntimeError(f"POST /threads/{tid}/runs/wait answered {output}, expected {EXPECTED_OUTPUT}")

    return [
        Operation("assistant create", nothing, create),
        Operation("assistant get", one_assistant, get),
        Operation("assistant search", nothing, search),
        Operation("assistant count", nothing, count),
        Operation("assistant PATCH", one_assistant, patch),
        # One statement where the project has at most four graphs with schemas (domain/assistants.py).
        Operation("assistant PATCH of config", one_assistant, patch_config),
        Operation("set_latest", two_versions, set_latest),
        Operation("versions list", ten_versions, versions),
        Operation("delete version", old_versions, delete_version),
        Operation("assistant delete", assistants, delete),
        Operation("thread create", nothing, thread_create),
        Operation("thread get", one_thread, thread_get),
        Operation("thread search", nothing, thread_search),
        Operation("runs.wait stateless", nothing, wait_stateless),
        Operation("runs.wait on a thread", threads, wait_thread),
    ]


# -- measuring ------------------------------------------------------------------------------------


async def measure(
    op: Operation, client: Client, counter: WireCounter, handle: ServerHandle, args: argparse.Namespace
) -> Row:
    settle = args.settle_ms / 1000
    fixtures = await op.prepare(client, args.warmup_requests + args.count_requests + args.cpu_requests)
    for fixture in fixtures[: args.warmup_requests]:
        await op.request(client, fixture)
    counted = fixtures[args.warmup_requests : args.warmup_requests + args.count_requests]
    tallies: list[Tally] = []
    logs: list[list[str]] = []
    await counter.quiet(settle)
    for fixture in counted:
        before, mark = counter.tally(), len(counter.log)
        await op.request(client, fixture)
        await counter.quiet(settle)
        tallies.append(counter.tally() - before)
        logs.append(counter.log[mark:])
    (common, agreeing), *_ = Counter(tallies).most_common(1)
    statements = logs[tallies.index(common)]
    others = {_slashed(t): k for t, k in Counter(tallies).items() if t != common}
    timed = fixtures[args.warmup_requests + args.count_requests :]
    backends = backend_cpu_seconds(args.postgres_database)
    cpu_before = handle.cpu_seconds()
    for fixture in timed:
        await op.request(client, fixture)
    cpu_ms = (handle.cpu_seconds() - cpu_before) / max(1, len(timed)) * 1000
    after = backend_cpu_seconds(args.postgres_database)
    postgres_ms = sum(cpu - backends.get(pid, 0.0) for pid, cpu in after.items()) / max(1, len(timed)) * 1000
    return Row(op.name, common, agreeing, len(counted), cpu_ms, postgres_ms, statements, others)


def backend_cpu_seconds(database: str) -> dict[int, float]:
    """User+system CPU of each PostgreSQL backend serving `database` (its pid's /proc/<pid>/stat),
    when PostgreSQL runs on this machine; a backend that ends in between is not counted."""
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        pids = [
            row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))
        ]
    found: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def _slashed(t: Tally) -> str:
    return f"{t.round_trips}/{t.statements}/{t.transactions}"


async def bench(handle: ServerHandle, counter: WireCounter, args: argparse.Namespace) -> list[Row]:
    client = make_client("raw", handle.base_url)
    chosen = set(args.only.split(",")) if args.only else None
    rows = []
    try:
        for op in operations():
            if chosen is not None and op.name not in chosen:
                continue
            progress(f"{op.name}: {args.count_requests} counted, {args.cpu_requests} for CPU")
            rows.append(await measure(op, client, counter, handle, args))
    finally:
        await client.aclose()
    return rows


def print_table(rows: list[Row], show_statements: bool) -> None:
    head = (
        "operation",
        "round trips",
        "statements",
        "transactions",
        "agreeing",
        "server CPU ms/req",
        "PostgreSQL CPU ms/req",
    )
    lines = [head] + [
        (
            r.name,
            str(r.tally.round_trips),
            str(r.tally.statements),
            str(r.tally.transactions),
            f"{r.agreeing}/{r.samples}",
            f"{r.cpu_ms:.2f}",
            f"{r.postgres_cpu_ms:.2f}",
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for n, line in enumerate(lines):
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
    if show_statements:
        for r in rows:
            print(f"\n{r.name}:")
            for sql in r.statements:
                print("  " + " ".join(sql.split())[:160])


async def main_async(args: argparse.Namespace, root: Path) -> list[Row]:
    admin = urlsplit(POSTGRES_ADMIN)
    counter = WireCounter((admin.hostname or "127.0.0.1", admin.port or 5432), args.proxy_port)
    await counter.start()
    direct = fresh_postgres_database(args.postgres_database)
    user = f"{admin.username}@" if admin.username else ""
    via_proxy = f"postgresql://{user}127.0.0.1:{counter.port}/{args.postgres_database}"
    via_proxy += "?sslmode=disable&gssencmode=disable"
    handle = None
    try:
        progress(f"starting graphdock on {direct} through the counting proxy (:{counter.port})")
        # start_server blocks while the server starts; the proxy must keep forwarding meanwhile.
        handle = await asyncio.to_thread(
            start_server,
            "graphdock-pg",
            args.config,
            root / "graphdock-pg",
            port=args.port,
            graphdock_bin=args.graphdock_bin,
            database_url=via_proxy,
        )
        return await bench(handle, counter, args)
    finally:
        if handle is not None:  # in a thread: the proxy must keep forwarding while it shuts down
            await asyncio.to_thread(handle.stop)
        await counter.close()
        drop_database(args.postgres_database)


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_exit_guards()
    with work_root(args.keep_workdir, prefix="graphdock-roundtrips-") as root:
        rows = asyncio.run(main_async(args, root))
    print_table(rows, args.statements)
    if args.json is not None:
        payload = {
            "benchmark": "roundtrips",
            "started_at": datetime.now().isoformat(timespec="seconds"),
            "settings": {k: str(v) for k, v in vars(args).items()},
            "rows": [
                {
                    "operation": r.name,
                    "round_trips": r.tally.round_trips,
                    "statements": r.tally.statements,
                    "transactions": r.tally.transactions,
                    "agreeing": r.agreeing,
                    "samples": r.samples,
                    "server_cpu_ms_per_req": round(r.cpu_ms, 3),
                    "postgres_cpu_ms_per_req": round(r.postgres_cpu_ms, 3),
                    "sql": r.statements,
                    "disagreeing": r.others,
                }
                for r in rows
            ],
        }
        args.json.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

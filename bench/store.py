"""Benchmark of the Store: put, get, search and namespace listing, graphdock vs `langgraph dev`, one table.

The project is tests/graphs/memory/langgraph.json (no index: plain key-value and filtered search).
Each target starts empty; `put` fills it, and `get`, `search` and `namespaces` read what `put` wrote,
so every target reads the same number of items.
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import datetime
from typing import Any

from _harness import REPO_DIR, ServerHandle, install_exit_guards
from _http import call, make_client
from _report import TargetResult
from _runner import (
    OFFICIAL_VENV_EPILOG,
    add_target_args,
    exit_status,
    report,
    run_targets,
    server_info,
    timed_phase,
    work_root,
)

GROUPS = 10


class WrongAnswer(Exception):
    """A 2xx answer that is not what was stored; counted as an error of the phase."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, epilog=OFFICIAL_VENV_EPILOG)
    p.add_argument("--seconds", type=float, default=3.0, help="measured seconds per phase (default 3)")
    p.add_argument("--warmup", type=float, default=0.5, help="unrecorded seconds before each phase")
    p.add_argument("--concurrency", type=int, default=8, help="closed-loop workers (default 8)")
    p.add_argument("--max-errors", type=int, default=10, help="stop a phase after this many errors")
    add_target_args(
        p, benchmark="store", default_config=REPO_DIR / "tests" / "graphs" / "memory" / "langgraph.json"
    )
    return p.parse_args(argv)


async def bench_store(handle: ServerHandle, result: TargetResult, args: argparse.Namespace) -> None:
    client = make_client(args.client, handle.base_url)
    load: dict[str, Any] = {
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "max_errors": args.max_errors,
    }
    written: list[tuple[str, str]] = []
    counter = 0
    try:
        result.details["info"] = await server_info(client)

        async def put(w: int) -> None:
            nonlocal counter
            counter += 1
            key, ns = f"k{counter}", f"w{w}"
            body = {
                "namespace": ["bench", ns],
                "key": key,
                "value": {"group": counter % GROUPS, "text": "x" * 64},
            }
            await call(client, "PUT", "/store/items", body)
            written.append((ns, key))

        async def get(_w: int) -> None:
            ns, key = random.choice(written)
            item = (await call(client, "GET", f"/store/items?namespace=bench.{ns}&key={key}")).json()
            if not item or item.get("key") != key:
                raise WrongAnswer(f"GET {ns}/{key} answered {item!r}")

        async def search(_w: int) -> None:
            group = random.randrange(GROUPS)
            body = {"namespace_prefix": ["bench"], "filter": {"group": group}, "limit": 10}
            items = (await call(client, "POST", "/store/items/search", body)).json()["items"]
            if not items or any(i["value"]["group"] != group for i in items):
                raise WrongAnswer(f"search for group {group} answered {items[:2]!r}")

        async def namespaces(_w: int) -> None:
            found = await call(client, "POST", "/store/namespaces", {"prefix": ["bench"], "limit": 100})
            if not found.json()["namespaces"]:
                raise WrongAnswer("no namespaces listed")

        c = args.concurrency
        await timed_phase(handle, client, result, f"put@c{c}", put, **load)
        result.details["items"] = len(written)
        await timed_phase(handle, client, result, f"get@c{c}", get, **load)
        await timed_phase(handle, client, result, f"search@c{c}", search, **load)
        await timed_phase(handle, client, result, f"namespaces@c{c}", namespaces, **load)
    finally:
        await client.aclose()


def title(args: argparse.Namespace, results: list[TargetResult]) -> str:
    items = ", ".join(f"{r.label} {r.details.get('items', '?')}" for r in results)
    return "\n".join(
        [
            f"Store: {args.config.parent.name}/{args.config.name}, {args.concurrency} closed loops, "
            f"{args.seconds:g}s per phase after {args.warmup:g}s warm-up; client {args.client}",
            "  put: PUT /store/items, a new key each ({'group', 'text': 64 chars}) under (bench, w<worker>)",
            f"  get: GET /store/items of a random item put before ({items} items)",
            f"  search: POST /store/items/search, prefix (bench), filter group = one of {GROUPS}, limit 10",
            "  namespaces: POST /store/namespaces, prefix (bench), limit 100",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_exit_guards()
    started = datetime.now().astimezone()
    with work_root(args.keep_workdir) as root:
        results, exit_code = run_targets(args, root, lambda handle, result: bench_store(handle, result, args))
    report("store", title(args, results), results, args, started)
    return exit_status(exit_code, results)


if __name__ == "__main__":
    sys.exit(main())

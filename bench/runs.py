"""Benchmark of runs: latency and throughput of a trivial graph, graphdock vs `langgraph dev`, one table.

The graph is `echo` of tests/graphs/langgraph.json (tests/graphs/runs.py: one node copying `text`,
no LLM), so the figures are the servers' own cost of a run: creating it, queueing, executing,
checkpointing and answering.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from typing import Any

from _harness import REPO_DIR, ServerHandle, Stats, install_exit_guards
from _http import Client, Response, call, make_client
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

GRAPH_ID = "echo"
RUN_BODY: dict[str, Any] = {"assistant_id": GRAPH_ID, "input": {"text": "hi"}}
STREAM_BODY: dict[str, Any] = {**RUN_BODY, "stream_mode": "values"}
EXPECTED_OUTPUT: dict[str, Any] = {"text": "hi", "steps": ["echo"]}  # on a fresh thread, or stateless


class WrongOutput(Exception):
    """A 2xx answer whose result is not the echo graph's output; counted as an error of the phase."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, epilog=OFFICIAL_VENV_EPILOG)
    p.add_argument(
        "--latency-requests",
        type=int,
        default=500,
        help="measured requests of each concurrency-1 phase on graphdock (default 500)",
    )
    p.add_argument(
        "--official-latency-requests",
        type=int,
        default=20,
        help="the same on the official server, which takes ~1 s per run (default 20)",
    )
    p.add_argument(
        "--warmup-requests",
        type=int,
        default=5,
        help="unrecorded requests before each concurrency-1 phase on graphdock (default 5)",
    )
    p.add_argument(
        "--official-warmup-requests",
        type=int,
        default=1,
        help="the same on the official server (default 1)",
    )
    p.add_argument(
        "--throughput-seconds",
        type=float,
        default=10.0,
        help="measured duration of the throughput phase (default 10)",
    )
    p.add_argument(
        "--throughput-concurrency",
        type=int,
        default=32,
        help="closed-loop workers of the throughput phase (default 32)",
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        help="unrecorded seconds before the throughput phase (default 2)",
    )
    p.add_argument(
        "--no-background",
        action="store_true",
        help="skip the background create + join phase",
    )
    p.add_argument(
        "--max-errors",
        type=int,
        default=10,
        help="stop a phase after this many errors, so a broken server fails fast (default 10)",
    )
    p.add_argument(
        "--request-timeout",
        type=float,
        default=30.0,
        help="seconds before a request counts as a TimeoutError (default 30)",
    )
    add_target_args(p, benchmark="runs", default_config=REPO_DIR / "tests" / "graphs" / "langgraph.json")
    args = p.parse_args(argv)
    if args.throughput_concurrency < 2:
        p.error("--throughput-concurrency must be at least 2 (concurrency 1 is the latency phases)")
    if min(args.latency_requests, args.official_latency_requests) < 1:
        p.error("--latency-requests and --official-latency-requests must be at least 1")
    return args


def check_output(method: str, path: str, response: Response) -> None:
    output = response.json()
    if output != EXPECTED_OUTPUT:
        raise WrongOutput(
            f"{method} {path} answered {response.status} {response.content[:200]!r}, expected {EXPECTED_OUTPUT}"
        )


async def new_threads(client: Client, n: int) -> list[str]:
    """`n` empty threads, created one by one before a phase (not timed)."""
    return [(await call(client, "POST", "/threads", {})).json()["thread_id"] for _ in range(n)]


async def bench_runs(handle: ServerHandle, result: TargetResult, args: argparse.Namespace) -> None:
    """Every phase against one started server, in the order of the table."""
    client = make_client(args.client, handle.base_url, args.request_timeout)
    official = handle.kind == "official"
    n = args.official_latency_requests if official else args.latency_requests
    warm = args.official_warmup_requests if official else args.warmup_requests
    c1: dict[str, Any] = {
        "concurrency": 1,
        "requests": n,
        "warmup_requests": warm,
        "max_errors": args.max_errors,
    }
    result.details["latency_requests"] = {"measured": n, "warmup": warm}
    try:
        result.info = await server_info(client)

        # 1. Stateless runs.wait, one at a time.
        async def wait_stateless(_w: int) -> None:
            check_output("POST", "/runs/wait", await call(client, "POST", "/runs/wait", RUN_BODY))

        await timed_phase(handle, client, result, "wait_stateless@c1", wait_stateless, **c1)

        # 2. runs.wait on an existing thread: a new, empty thread per request, created beforehand.
        thread_ids = await new_threads(client, warm + n)
        pending = iter(thread_ids)

        async def wait_on_thread(_w: int) -> None:
            path = f"/threads/{next(pending)}/runs/wait"
            check_output("POST", path, await call(client, "POST", path, RUN_BODY))

        await timed_phase(handle, client, result, "wait_thread@c1", wait_on_thread, **c1)
        await check_thread(client, result, thread_ids[-1])

        # 3. A background run on a new thread, then join it: the timed unit is the pair.
        if not args.no_background:
            await background_phase(handle, client, result, c1)

        # 4. A stateless streamed run: when the first event arrives, and when the stream ends.
        await stream_phase(handle, client, result, c1)

        # 5. Throughput: stateless runs.wait in closed loops.
        conc = args.throughput_concurrency
        await timed_phase(
            handle,
            client,
            result,
            f"wait_stateless@c{conc}",
            wait_stateless,
            concurrency=conc,
            seconds=args.throughput_seconds,
            warmup=args.warmup,
            max_errors=args.max_errors,
        )
    finally:
        await client.aclose()
        tracebacks = handle.log_path.read_text(errors="replace").count("Traceback")
        if tracebacks:
            result.checks.append(f"the server log has {tracebacks} traceback(s) (--keep-workdir keeps it)")


async def background_phase(
    handle: ServerHandle, client: Client, result: TargetResult, c1: dict[str, Any]
) -> None:
    """`bg_create_join@c1`: POST /threads/{id}/runs, then GET …/runs/{run_id}/join, on a new thread each.

    `bg_create@c1` is the POST alone, timed inside the same loop (the warm-up's are left out).
    """
    warm = c1["warmup_requests"]
    thread_ids = await new_threads(client, warm + c1["requests"])
    pending = iter(enumerate(thread_ids))
    creates: list[float] = []

    async def create_join(_w: int) -> None:
        index, thread_id = next(pending)
        started = time.perf_counter()
        run = (await call(client, "POST", f"/threads/{thread_id}/runs", RUN_BODY)).json()
        created = time.perf_counter() - started
        path = f"/threads/{thread_id}/runs/{run['run_id']}/join"
        check_output("GET", path, await call(client, "GET", path))
        if index >= warm:  # the warm-up issues exactly `warm` requests, on the first threads
            creates.append(created)

    stats = await timed_phase(handle, client, result, "bg_create_join@c1", create_join, **c1)
    result.phases["bg_create@c1"] = Stats("bg_create@c1", 1, stats.elapsed, sorted(creates))


async def stream_phase(
    handle: ServerHandle, client: Client, result: TargetResult, c1: dict[str, Any]
) -> None:
    """`stream@c1`: POST /runs/stream (stream_mode values) read to its end, the echo output in its last event.

    `stream_first_event@c1` is when the first chunk of the event stream arrived (the `metadata`
    event on both servers), timed inside the same loop; it needs the raw client.
    """
    firsts: list[float] = []
    warm = c1["warmup_requests"]
    issued = 0

    async def stream(_w: int) -> None:
        nonlocal issued
        started = time.perf_counter()
        response = await call(client, "POST", "/runs/stream", STREAM_BODY)
        if b"event: values" not in response.content or b'"echo"' not in response.content:
            raise WrongOutput(f"POST /runs/stream answered {response.content[:300]!r}: no echo values event")
        issued += 1
        if issued > warm and response.first_chunk_at is not None:
            firsts.append(response.first_chunk_at - started)

    stats = await timed_phase(handle, client, result, "stream@c1", stream, **c1)
    result.phases["stream_first_event@c1"] = Stats("stream_first_event@c1", 1, stats.elapsed, sorted(firsts))


async def check_thread(client: Client, result: TargetResult, thread_id: str) -> None:
    """After wait_thread: the last thread has one successful run and the echo output as its state."""
    runs = (await call(client, "GET", f"/threads/{thread_id}/runs")).json()
    statuses = [r.get("status") for r in runs]
    if statuses != ["success"]:
        result.checks.append(
            f"wait_thread: thread {thread_id} lists runs with statuses {statuses}, not [success]"
        )
    values = (await call(client, "GET", f"/threads/{thread_id}/state")).json().get("values")
    if values != EXPECTED_OUTPUT:
        result.checks.append(f"wait_thread: thread {thread_id} state values {values}, not {EXPECTED_OUTPUT}")


def title(args: argparse.Namespace, results: list[TargetResult]) -> str:
    counts = "; ".join(
        f"{r.label} {r.details['latency_requests']['measured']} measured after "
        f"{r.details['latency_requests']['warmup']} unrecorded"
        for r in results
        if "latency_requests" in r.details
    )
    lines = [
        f"Runs: graph `{GRAPH_ID}` (one node, no LLM) of {args.config.name}, input {{'text': 'hi'}}; "
        f"client {args.client}",
        f"@c1 phases, one request at a time: {counts} (nearest rank: under 100 samples, p99 is the slowest one)",
        "  wait_stateless: POST /runs/wait | wait_thread: POST /threads/{id}/runs/wait, "
        "a new thread per request created beforehand (not timed)",
        "  bg_create_join: POST /threads/{id}/runs + GET /threads/{id}/runs/{run_id}/join, timed together, "
        "a new thread each | bg_create: the POST alone",
        "  stream: POST /runs/stream (stream_mode values) read to its end | stream_first_event: "
        "until its first chunk arrived",
        f"wait_stateless@c{args.throughput_concurrency}: POST /runs/wait in {args.throughput_concurrency} "
        f"closed loops, {args.throughput_seconds:g}s after {args.warmup:g}s warm-up; req/s = completed runs/s",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_exit_guards()
    started = datetime.now().astimezone()
    with work_root(args.keep_workdir) as root:
        results, exit_code = run_targets(args, root, lambda handle, result: bench_runs(handle, result, args))
    report("runs", title(args, results), results, args, started)
    return exit_status(exit_code, results)


if __name__ == "__main__":
    sys.exit(main())

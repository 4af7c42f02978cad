"""What every comparison script shares: the target flags, each target's server in turn, timed phases, the report.

A script adds its own flags next to `add_target_args`, then:

    with work_root(args.keep_workdir) as root:
        results, code = run_targets(args, root, lambda handle, result: my_phases(handle, result, args))
    report("mybench", title, results, args, started)

`my_phases` is a coroutine that records into `result` (usually through `timed_phase`); a
ServerFailed it raises marks the target failed, and the server is stopped whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Coroutine, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from _harness import (
    BENCH_DIR,
    DEFAULT_POSTGRES_DATABASE,
    OFFICIAL_VENV_ENV,
    SERVER_KINDS,
    ServerFailed,
    ServerHandle,
    ServerKind,
    Stats,
    Work,
    default_graphdock_bin,
    resolve_official_venv,
    run_load,
    start_server,
)
from _http import Client, RequestFailed, call, make_client
from _report import TargetResult, render_table, results_json, write_json

T = TypeVar("T")

OFFICIAL_VENV_EPILOG = (
    f"The official server's venv: --official-venv, else ${OFFICIAL_VENV_ENV}, else bench/.venv-official "
    "(created by bench/setup-official.sh when missing)."
)

TargetBody = Callable[[ServerHandle, TargetResult], Coroutine[Any, Any, None]]


def add_target_args(p: argparse.ArgumentParser, *, benchmark: str, default_config: Path) -> None:
    """Which servers run and how they are started; the same flags in every comparison script."""
    target = p.add_mutually_exclusive_group()
    target.add_argument("--only", choices=SERVER_KINDS, help="benchmark a single server")
    target.add_argument(
        "--no-official", action="store_true", help="graphdock only (the same as --only graphdock)"
    )
    target.add_argument(
        "--targets",
        default="official,graphdock",
        help="comma-separated servers in run order; ratios are 2nd/1st (e.g. official,official shows the noise)",
    )
    p.add_argument("--client", choices=("raw", "httpx"), default="raw", help="load generator HTTP client")
    p.add_argument(
        "--config", type=Path, default=default_config, help=f"the project (default {default_config})"
    )
    p.add_argument("--official-venv", help=f"venv with `langgraph dev` (or ${OFFICIAL_VENV_ENV})")
    p.add_argument(
        "--graphdock-bin", type=Path, help=f"graphdock executable (default {default_graphdock_bin()})"
    )
    p.add_argument("--graphdock-database-url", help="database for graphdock (default: a fresh SQLite file)")
    p.add_argument(
        "--graphdock-arg",
        action="append",
        default=[],
        help="extra argument for `graphdock serve` (repeatable)",
    )
    p.add_argument(
        "--postgres-database",
        default=DEFAULT_POSTGRES_DATABASE,
        help="database the PostgreSQL targets drop and re-create on $GRAPHDOCK_BENCH_POSTGRES's server "
        f"(default {DEFAULT_POSTGRES_DATABASE})",
    )
    p.add_argument(
        "--ready-timeout", type=float, default=90.0, help="seconds to wait for GET /ok (default 90)"
    )
    p.add_argument(
        "--json", type=Path, help=f"results file (default bench/results/{benchmark}-<timestamp>.json)"
    )
    p.add_argument("--keep-workdir", action="store_true", help="keep the servers' temp dirs and logs")


def target_list(args: argparse.Namespace) -> list[tuple[str, ServerKind]]:
    """(label, kind) pairs; a kind named twice gets a `#2` label so both runs stay apart."""
    if args.only:
        kinds = [args.only]
    elif args.no_official:
        kinds = ["graphdock"]
    else:
        kinds = [k.strip() for k in args.targets.split(",") if k.strip()]
    out: list[tuple[str, ServerKind]] = []
    for kind in kinds:
        if kind not in SERVER_KINDS:
            raise SystemExit(f"unknown target {kind!r}; choose from {', '.join(SERVER_KINDS)}")
        seen = sum(1 for _, k in out if k == kind)
        out.append((kind if not seen else f"{kind}#{seen + 1}", kind))
    return out


@contextlib.contextmanager
def work_root(keep: bool, prefix: str = "graphdock-bench-") -> Iterator[Path]:
    """A temp dir for the servers' project copies and logs; removed afterwards unless `keep`."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield root
    finally:
        if keep:
            progress(f"server dirs and logs kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def run_targets(args: argparse.Namespace, root: Path, body: TargetBody) -> tuple[list[TargetResult], int]:
    """Each target in turn, never two at once; returns the results and an exit code (130 after Ctrl-C).

    An interruption (Ctrl-C, SIGTERM with install_exit_guards) stops the loop; what was measured
    before it is kept, so the caller can still print the table.
    """
    targets = target_list(args)
    results: list[TargetResult] = []
    exit_code = 0
    try:
        for label, kind in targets:
            results.append(TargetResult(label, kind))
            bench_target(results[-1], args, root, body)
    except (KeyboardInterrupt, SystemExit) as exc:
        exit_code = exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 130
        if results:
            results[-1].failure = results[-1].failure or f"interrupted ({type(exc).__name__})"
    return results, exit_code


def bench_target(result: TargetResult, args: argparse.Namespace, root: Path, body: TargetBody) -> None:
    """Start the server, run `body` into `result`, stop the server (also on Ctrl-C)."""
    label, kind = result.label, result.kind
    progress(f"{label}: starting {kind} server")
    try:
        handle = start_server(
            kind,
            args.config,
            root / label.replace("#", "-"),
            official_venv=resolve_official_venv(args.official_venv) if kind == "official" else None,
            graphdock_bin=args.graphdock_bin,
            database_url=args.graphdock_database_url,
            extra_args=args.graphdock_arg if kind == "graphdock" else (),
            ready_timeout=args.ready_timeout,
            postgres_database=args.postgres_database,
        )
    except (ServerFailed, OSError, subprocess.CalledProcessError) as exc:
        result.failure = str(exc)
        progress(f"{label}: FAILED to start: {exc}")
        return
    result.startup_seconds = handle.startup_seconds
    progress(f"{label}: ready in {handle.startup_seconds:.2f}s at {handle.base_url}")
    try:
        run_async(body(handle, result))
    except ServerFailed as exc:
        result.failure = str(exc)
        progress(f"{label}: FAILED: {exc}")
    finally:
        handle.stop()


async def timed_phase(
    handle: ServerHandle,
    client: Client,
    result: TargetResult,
    name: str,
    work: Work,
    *,
    concurrency: int,
    **load: Any,
) -> Stats:
    """One `run_load` phase recorded as `result.phases[name]` (a table row), with a progress line.

    `load` goes to run_load (seconds, requests, warmup, warmup_requests, max_errors).
    """
    if not handle.alive:
        raise ServerFailed(f"{handle.kind} died before {name}:\n{handle.log_tail()}")
    await client.close_idle()  # the server may have timed out idle keep-alive connections
    stats = await run_load(work, concurrency=concurrency, name=name, server=handle, **load)
    result.phases[name] = stats
    errors = f", {stats.error_count} errors {dict(stats.errors)}" if stats.error_count else ""
    if stats.stopped_early:
        errors += f" (stopped after {stats.error_count} errors)"
        result.checks.append(f"{name}: stopped after {stats.error_count} errors (the error cap)")
    progress(
        f"  {result.label:<12} {name:<18} {stats.rps:9.1f} req/s  p50 {stats.percentile_ms(50):8.2f} ms"
        f"  p99 {stats.percentile_ms(99):8.2f} ms{errors}"
    )
    return stats


def measure_ceiling(
    args: argparse.Namespace, workroot: Path, concurrencies: Sequence[int]
) -> dict[int, Stats]:
    """A `get`-like load against the bare ASGI app (bench/bare_asgi.py) at each concurrency.

    The same stack as graphdock (uvicorn, uvloop, httptools) answering a static JSON body, under
    the same load generator: what any Python server can do on this machine. Empty if it fails.
    """
    progress("ceiling: starting the bare ASGI app")
    try:
        handle = start_server("bare", args.config, workroot / "bare", ready_timeout=args.ready_timeout)
    except (ServerFailed, OSError) as exc:
        progress(f"ceiling: FAILED to start: {exc}")
        return {}
    measured: dict[int, Stats] = {}
    result = TargetResult("ceiling", "bare")

    async def measure() -> None:
        client = make_client(args.client, handle.base_url)

        async def get(_w: int) -> None:
            await call(client, "GET", f"/assistants/{uuid.uuid4()}")

        try:
            for c in concurrencies:
                phase = f"ceiling@c{c}"
                load = {"seconds": args.seconds, "warmup": args.warmup}
                measured[c] = await timed_phase(handle, client, result, phase, get, concurrency=c, **load)
        finally:
            await client.aclose()

    try:
        run_async(measure())
    finally:
        handle.stop()
    return measured


async def server_info(client: Client) -> Any:
    """The server's GET /info, or None."""
    try:
        return (await call(client, "GET", "/info")).json()
    except (RequestFailed, ValueError):
        return None


def report(
    benchmark: str,
    title: str,
    results: list[TargetResult],
    args: argparse.Namespace,
    started: datetime,
    *,
    footer: str | None = None,
    **extra: Any,
) -> Path:
    """Print the table (and `footer`), write the JSON results file; returns its path."""
    print(render_table(results, title))
    if footer:
        print(footer)
    path: Path = args.json or BENCH_DIR / "results" / f"{benchmark}-{started:%Y%m%d-%H%M%S}.json"
    generator = {"client": args.client, "event_loop": loop_name(), "connections": "keep-alive"}
    stamp = started.isoformat(timespec="seconds")
    write_json(path, results_json(benchmark, stamp, results, vars(args), load_generator=generator, **extra))
    print(f"\nresults written to {path}")
    return path


def exit_status(exit_code: int, results: list[TargetResult]) -> int:
    return exit_code or (1 if any(r.failure for r in results) else 0)


def loop_name() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop when it is installed (the project's venv has it), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)

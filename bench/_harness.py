"""Benchmark harness: start/stop a graphdock or `langgraph dev` server, and drive timed load at it."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from _http import RequestFailed

ServerKind = Literal["official", "graphdock", "graphdock-pg", "graphdock-pg2", "bare"]
# graphdock: SQLite; graphdock-pg: one replica on PostgreSQL; graphdock-pg2: two replicas on one
# PostgreSQL and Redis, the client spreading its connections over both.
SERVER_KINDS: tuple[ServerKind, ...] = ("official", "graphdock", "graphdock-pg", "graphdock-pg2")
POSTGRES_ADMIN = os.environ.get("GRAPHDOCK_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("GRAPHDOCK_BENCH_REDIS", "redis://127.0.0.1:6379/0")
DEFAULT_POSTGRES_DATABASE = "gd_bench"

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
OFFICIAL_VENV_ENV = "GRAPHDOCK_BENCH_OFFICIAL_VENV"
DEFAULT_OFFICIAL_VENV = BENCH_DIR / ".venv-official"

# Every server started here, so that an exit path we did not plan for still kills it.
_LIVE: set[ServerHandle] = set()


class ServerFailed(RuntimeError):
    """A server that did not come up (or died); the message carries the tail of its log."""


# --- servers --------------------------------------------------------------------------------


@dataclass(eq=False)
class ServerHandle:
    kind: ServerKind
    base_url: str
    process: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path
    startup_seconds: float = math.nan

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def cpu_seconds(self) -> float:
        """User+system CPU of every live process in the server's process group (Linux /proc)."""
        return process_group_cpu_seconds(self.process.pid)

    def rss_bytes(self) -> int:
        """Resident memory of every live process in the server's process group (Linux /proc)."""
        return process_group_rss_bytes(self.process.pid)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the whole process group, SIGKILL what is left after `grace` seconds."""
        _LIVE.discard(self)
        pgid = self.process.pid  # start_new_session=True: the leader's pid is the group id
        _signal_group(pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(pgid, signal.SIGKILL)
            self.process.wait()
        _signal_group(pgid, signal.SIGKILL)  # workers that outlived their leader


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def process_group_cpu_seconds(pgid: int) -> float:
    """User+system CPU seconds of every live process in the group."""
    # Fields after "(comm)": state ppid pgrp session ... utime(11) stime(12) cutime(13) cstime(14)
    ticks = sum(sum(int(x) for x in fields[11:15]) for _, fields in _group_stats(pgid))
    return ticks / os.sysconf("SC_CLK_TCK")


def process_group_rss_bytes(pgid: int) -> int:
    """Resident memory of every live process in the group (field 21 after "(comm)": rss in pages)."""
    return sum(int(fields[21]) for _, fields in _group_stats(pgid)) * os.sysconf("SC_PAGE_SIZE")


def _group_stats(pgid: int) -> Iterator[tuple[int, list[str]]]:
    """(pid, the /proc/<pid>/stat fields after "(comm)") of each process in the group (Linux)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:
            yield int(entry.name), fields


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def free_pair() -> int:
    """A free port whose successor is free too (two replicas)."""
    while True:
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def resolve_official_venv(explicit: str | None = None) -> Path:
    """The venv holding `langgraph dev`: the flag, else $GRAPHDOCK_BENCH_OFFICIAL_VENV, else bench/.venv-official.

    Only the default location is created on demand (by setup-official.sh); a venv you point at
    must already exist.
    """
    chosen = explicit or os.environ.get(OFFICIAL_VENV_ENV)
    if chosen:
        venv = Path(chosen).expanduser().resolve()
        if not (venv / "bin" / "langgraph").exists():
            raise ServerFailed(
                f"{venv}/bin/langgraph not found (from --official-venv / ${OFFICIAL_VENV_ENV})"
            )
        return venv
    if not (DEFAULT_OFFICIAL_VENV / "bin" / "langgraph").exists():
        print(f"creating {DEFAULT_OFFICIAL_VENV} (set ${OFFICIAL_VENV_ENV} to reuse a venv)", file=sys.stderr)
        subprocess.run(["bash", str(BENCH_DIR / "setup-official.sh"), str(DEFAULT_OFFICIAL_VENV)], check=True)
    return DEFAULT_OFFICIAL_VENV


def default_graphdock_bin() -> Path:
    beside_python = Path(sys.executable).parent / "graphdock"
    if beside_python.exists():
        return beside_python
    found = shutil.which("graphdock")
    return Path(found) if found else REPO_DIR / ".venv" / "bin" / "graphdock"


def copy_project(config_path: Path, workdir: Path) -> Path:
    """Copy the project next to the server's files; returns the copied langgraph.json.

    `langgraph dev` resolves graph paths against its working directory and drops its
    `.langgraph_api/` state there, so each server runs from a private copy.
    """
    source = config_path.resolve().parent
    target = workdir / "project"
    ignore = shutil.ignore_patterns(".langgraph_api", ".graphdock", "__pycache__", ".venv*", "*.sqlite3*")
    shutil.copytree(source, target, ignore=ignore)
    return target / config_path.name


def _server_command(
    kind: ServerKind,
    config: Path,
    port: int,
    workdir: Path,
    official_venv: Path | None,
    graphdock_bin: Path | None,
    database_url: str | None,
    extra_args: Sequence[str],
    postgres_database: str,
) -> tuple[list[str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHDOCK_")}
    env["PYTHONUNBUFFERED"] = "1"
    if kind == "official":
        venv = official_venv or resolve_official_venv()
        # No internet here, and no tracing wanted in a benchmark: turn off everything that phones home.
        env.update(LANGSMITH_TRACING="false", LANGCHAIN_TRACING_V2="false", LANGGRAPH_CLI_NO_ANALYTICS="1")
        env.update(DO_NOT_TRACK="1")
        env.pop("LANGSMITH_API_KEY", None)
        cmd = [str(venv / "bin" / "langgraph"), "dev", "--config", str(config), "--port", str(port)]
        cmd += ["--host", "127.0.0.1", "--no-browser", "--no-reload"]
    elif kind == "bare":
        cmd = [sys.executable, str(BENCH_DIR / "bare_asgi.py"), "--port", str(port)]
    else:
        binary = graphdock_bin or default_graphdock_bin()
        if not binary.exists():
            raise ServerFailed(f"graphdock executable not found at {binary} (--graphdock-bin)")
        if kind == "graphdock":
            url = database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
        else:
            url = database_url or fresh_postgres_database(postgres_database)
        serve = [str(binary), "serve", "--config", str(config), "--host", "127.0.0.1", "--database-url", url]
        if kind != "graphdock-pg2":
            return [*serve, "--port", str(port), *extra_args], env
        # Migrations first, once, so the replicas start as in a deployment (each would wait its turn).
        subprocess.run(
            [str(binary), "migrate", "--config", str(config), "--database-url", url], check=True, env=env
        )
        ports = f"{port},{port + 1}"
        cmd = [sys.executable, str(BENCH_DIR / "replicas.py"), "--ports", ports, "--"]
        cmd += [*serve, "--port", "{port}", "--redis-url", REDIS_URL]
    return [*cmd, *extra_args], env


def fresh_postgres_database(name: str) -> str:
    """An empty PostgreSQL database for one target (the same name is dropped and made again)."""
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name


def postgres_reachable(timeout: float = 3.0) -> str | None:
    """None when $GRAPHDOCK_BENCH_POSTGRES's server answers, else why not (for a printed note)."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN, connect_timeout=max(1, int(timeout))) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure (driver missing, refused, auth) means: skip the target
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return None


def replica_count(kind: ServerKind) -> int:
    return 2 if kind == "graphdock-pg2" else 1


def start_server(
    kind: ServerKind,
    config_path: Path,
    workdir: Path,
    *,
    port: int | None = None,
    official_venv: Path | None = None,
    graphdock_bin: Path | None = None,
    database_url: str | None = None,
    extra_args: Sequence[str] = (),
    ready_timeout: float = 90.0,
    postgres_database: str = DEFAULT_POSTGRES_DATABASE,
) -> ServerHandle:
    """Start a server on a private copy of the project in `workdir`; returns once `GET /ok` answers 200.

    The PostgreSQL targets drop and re-create `postgres_database` on $GRAPHDOCK_BENCH_POSTGRES's
    server first, so two benchmarks sharing a server need different names.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config = copy_project(config_path, workdir)
    if port is None:
        port = free_pair() if replica_count(kind) == 2 else free_port()
    cmd, env = _server_command(
        kind, config, port, workdir, official_venv, graphdock_bin, database_url, extra_args, postgres_database
    )
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        log.write(("$ " + " ".join(cmd) + "\n").encode())
        log.flush()
        started = time.perf_counter()
        process = subprocess.Popen(
            cmd, cwd=config.parent, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    # Several replicas: comma-separated base URLs, which make_client balances over.
    urls = ",".join(f"http://127.0.0.1:{port + i}" for i in range(replica_count(kind)))
    handle = ServerHandle(kind, urls, process, workdir, log_path)
    _LIVE.add(handle)
    try:
        _wait_ready(handle, ready_timeout)
    except BaseException:
        handle.stop()
        raise
    handle.startup_seconds = time.perf_counter() - started
    return handle


def _wait_ready(handle: ServerHandle, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not handle.alive:
            raise ServerFailed(
                f"{handle.kind} exited with {handle.process.returncode} before it was ready; "
                f"log {handle.log_path}:\n{handle.log_tail()}"
            )
        try:
            for url in handle.base_url.split(","):
                with urllib.request.urlopen(url + "/ok", timeout=2) as r:
                    if r.status != 200:
                        break
            else:
                return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise ServerFailed(
        f"{handle.kind} not ready after {timeout:.0f}s; log {handle.log_path}:\n{handle.log_tail()}"
    )


def _stop_all() -> None:
    for handle in list(_LIVE):
        handle.stop(grace=3.0)


def install_exit_guards() -> None:
    """Turn SIGTERM/SIGHUP into SystemExit so `finally` blocks run; atexit kills any survivor.

    SIGINT gets Python's default handler back: a shell starts background jobs with SIGINT ignored,
    and an ignored Ctrl-C would leave the servers running.
    """

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGHUP, _exit)
    atexit.register(_stop_all)


# --- load -----------------------------------------------------------------------------------


@dataclass
class Stats:
    """What one timed phase measured; latencies (seconds) cover successful requests only."""

    name: str
    concurrency: int
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: dict[str, list[str]] = field(default_factory=dict)  # a few messages per error key
    client_cpu: float = 0.0
    server_cpu: float | None = None
    stopped_early: bool = False  # run_load(max_errors=...) was reached

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    def percentile_ms(self, q: float) -> float:
        """Nearest-rank percentile, q in (0, 100]."""
        if not self.latencies:
            return math.nan
        rank = max(1, math.ceil(q / 100 * len(self.latencies)))
        return self.latencies[rank - 1] * 1000

    def server_cpu_ms_per_request(self) -> float:
        done = self.ok + self.error_count
        return math.nan if self.server_cpu is None or not done else self.server_cpu / done * 1000

    def summary(self) -> dict[str, Any]:
        done = self.ok + self.error_count
        return {
            "concurrency": self.concurrency,
            "seconds": round(self.elapsed, 3),
            "ok": self.ok,
            "errors": dict(self.errors),
            "error_samples": self.error_samples,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.percentile_ms(50), 3),
            "p90_ms": round(self.percentile_ms(90), 3),
            "p99_ms": round(self.percentile_ms(99), 3),
            "max_ms": round(self.percentile_ms(100), 3),
            "mean_ms": round(sum(self.latencies) / self.ok * 1000, 3) if self.ok else math.nan,
            "client_cpu_ms_per_req": round(self.client_cpu / done * 1000, 3) if done else math.nan,
            "server_cpu_ms_per_req": round(self.server_cpu_ms_per_request(), 3),
            "stopped_early": self.stopped_early,
        }


Work = Callable[[int], Awaitable[object]]
MAX_ERROR_SAMPLES = 3


async def _drive(
    work: Work,
    concurrency: int,
    deadline: float | None,
    budget: int | None,
    stats: Stats | None,
    max_errors: int | None = None,
) -> None:
    issued = 0

    async def worker(index: int) -> None:
        nonlocal issued
        while deadline is None or time.perf_counter() < deadline:
            if max_errors is not None and stats is not None and stats.error_count >= max_errors:
                stats.stopped_early = True
                return
            if budget is not None:
                if issued >= budget:
                    return
                issued += 1
            started = time.perf_counter()
            try:
                await work(index)
            except RequestFailed as exc:
                record_error(stats, f"HTTP {exc.status}", str(exc))
            except Exception as exc:  # a load loop counts failures; it must not die of one
                record_error(stats, type(exc).__name__, f"{type(exc).__name__}: {exc}")
            else:
                if stats is not None:
                    stats.latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker(i) for i in range(concurrency)))


def record_error(stats: Stats | None, key: str, message: str) -> None:
    if stats is None:
        return
    stats.errors[key] += 1
    samples = stats.error_samples.setdefault(key, [])
    if len(samples) < MAX_ERROR_SAMPLES:
        samples.append(message[:300])


async def run_load(
    work: Work,
    *,
    concurrency: int,
    seconds: float | None = None,
    requests: int | None = None,
    warmup: float = 0.0,
    warmup_requests: int = 0,
    max_errors: int | None = None,
    name: str = "load",
    server: ServerHandle | None = None,
) -> Stats:
    """Run `work(worker_index)` in `concurrency` closed loops for `seconds` or until `requests` were issued.

    `work` raises (RequestFailed for a non-2xx answer) to count an error; errors are never dropped.
    The warm-up runs the same work unrecorded, for `warmup` seconds or `warmup_requests` requests
    (whichever ends first when both are given). With `max_errors`, the workers stop once that many
    errors were recorded (`stats.stopped_early`), so a broken or hanging server does not use up a
    long budget one timeout at a time. With `server`, its CPU time over the phase is recorded.
    """
    if seconds is None and requests is None:
        raise ValueError("run_load needs seconds or requests")
    if warmup > 0 or warmup_requests > 0:
        warmup_deadline = time.perf_counter() + warmup if warmup > 0 else None
        await _drive(work, concurrency, warmup_deadline, warmup_requests or None, None)
    stats = Stats(name, concurrency)
    cpu_before = time.process_time()
    server_before = server.cpu_seconds() if server else None
    started = time.perf_counter()
    deadline = started + seconds if seconds is not None else None
    await _drive(work, concurrency, deadline, requests, stats, max_errors)
    stats.elapsed = time.perf_counter() - started
    stats.client_cpu = time.process_time() - cpu_before
    if server is not None and server_before is not None:
        stats.server_cpu = server.cpu_seconds() - server_before
    stats.latencies.sort()
    return stats

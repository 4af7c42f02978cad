"""One benchmark report: graphdock (SQLite, PostgreSQL), `langgraph dev` and a bare ASGI ceiling, one table.

It composes the other benchmarks rather than repeating them: the Assistants API phases of
assistants.py, the run phases of runs.py, the bare ASGI app at a few concurrencies, the PostgreSQL
floor of pg_floor.py (one round trip, one durable commit) and search_scale.py's storage-level
search/count at two sizes, then prints one markdown table and writes
bench/results/report-<timestamp>.json and .md.

    python bench/report.py            # the full report (~10 minutes on 2 cores)
    python bench/report.py --quick    # a couple of minutes, smaller budgets
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import assistants
import pg_floor
import runs
import search_scale
from _harness import BENCH_DIR, install_exit_guards, postgres_reachable
from _report import TargetResult, machine_info, write_json
from _runner import OFFICIAL_VENV_EPILOG, measure_ceiling, progress, run_targets, work_root

DEFAULT_TARGETS = "official,graphdock,graphdock-pg"
DEFAULT_PREFIX = "gd_benchreport"  # PostgreSQL databases: <prefix>_pg, <prefix>_search_<n>
SCALE_REPEAT = {"full": 30, "quick": 10}
FLOOR_REPEAT = {"full": 3000, "quick": 1000}

# Budgets of the two modes: flags of assistants.py and runs.py, and the scale sizes.
PRESETS: dict[str, dict[str, list[str]]] = {
    "full": {
        "assistants": ["--seconds", "3", "--warmup", "0.5", "--versions", "5000"],
        "runs": [
            "--latency-requests", "200", "--official-latency-requests", "10",
            "--throughput-seconds", "6", "--warmup", "1",
        ],
        "sizes": ["1000", "100000"],
    },
    "quick": {
        "assistants": ["--seconds", "1", "--warmup", "0.3", "--assistants", "300", "--versions", "500"],
        "runs": [
            "--latency-requests", "50", "--official-latency-requests", "3",
            "--throughput-seconds", "2", "--warmup", "0.5",
        ],
        "sizes": ["1000", "10000"],
    },
}  # fmt: skip

SCALE_BACKEND = {"graphdock": "sqlite", "graphdock-pg": "postgres"}  # which target shows which rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, epilog=OFFICIAL_VENV_EPILOG)
    p.add_argument("--quick", action="store_true", help="small budgets: a couple of minutes")
    p.add_argument(
        "--targets",
        default=DEFAULT_TARGETS,
        help=f"servers in run order, ratios against `official` (default {DEFAULT_TARGETS}); "
        "graphdock-pg is dropped with a note when PostgreSQL is not reachable",
    )
    p.add_argument("--official-venv", help="venv with `langgraph dev`")
    p.add_argument("--graphdock-bin", type=Path, help="graphdock executable")
    p.add_argument(
        "--postgres-prefix",
        default=DEFAULT_PREFIX,
        help=f"PostgreSQL database names: <prefix>_pg for the server, <prefix>_search_<n> for the "
        f"scale rows; dropped and re-created (default {DEFAULT_PREFIX})",
    )
    p.add_argument(
        "--sizes", help="assistant counts of the scale rows (default 1000,100000; quick 1000,10000)"
    )
    p.add_argument("--no-scale", action="store_true", help="skip the storage-level scale rows")
    p.add_argument(
        "--out", type=Path, help="results path without suffix (default bench/results/report-<timestamp>)"
    )
    p.add_argument(
        "--ready-timeout",
        type=float,
        default=180.0,
        help="seconds each server may take to answer GET /ok (default 180: a cold `langgraph dev` on a "
        "busy 2-core machine needs more than a minute)",
    )
    p.add_argument("--keep-workdir", action="store_true", help="keep the servers' temp dirs and logs")
    return p.parse_args(argv)


def sub_args(args: argparse.Namespace, targets: str) -> tuple[argparse.Namespace, argparse.Namespace]:
    """The arguments assistants.py and runs.py would get for this report."""
    common = ["--targets", targets, "--postgres-database", f"{args.postgres_prefix}_pg"]
    common += ["--ready-timeout", str(args.ready_timeout)]
    if args.official_venv:
        common += ["--official-venv", args.official_venv]
    if args.graphdock_bin:
        common += ["--graphdock-bin", str(args.graphdock_bin)]
    preset = PRESETS["quick" if args.quick else "full"]
    return (
        assistants.parse_args([*preset["assistants"], *common, "--no-ceiling"]),
        runs.parse_args([*preset["runs"], *common]),
    )


def merge(label: str, parts: list[TargetResult]) -> dict[str, Any]:
    """One target's results from several benchmarks: phases side by side, checks and notes kept."""
    out: dict[str, Any] = {"label": label, "kind": parts[0].kind, "failure": None, "checks": [], "notes": []}
    out["startup_seconds"] = [round(p.startup_seconds, 3) for p in parts]
    out["phases"] = {}
    for part in parts:
        js = part.to_json()
        out["failure"] = out["failure"] or part.failure
        out["checks"] += part.checks
        out["notes"] += part.notes
        out["phases"].update(js.pop("phases"))
        out.setdefault("server_info", js.get("server_info"))
        if "growth" in js:
            out["growth"] = js["growth"]
    return out


def scale_rows(args: argparse.Namespace, backends: list[str], root: Path) -> dict[str, Any]:
    """search_scale.measure per backend and size: {backend: {size: {label: summary}}}."""
    sizes = [
        int(n)
        for n in (args.sizes or ",".join(PRESETS["quick" if args.quick else "full"]["sizes"])).split(",")
    ]
    repeat = SCALE_REPEAT["quick" if args.quick else "full"]
    out: dict[str, Any] = {"sizes": sizes, "repeat": repeat}
    for backend in backends:
        per_size: dict[str, Any] = {}
        for n in sizes:
            progress(f"scale: {backend}, {n} assistants")
            measured = asyncio.run(
                search_scale.measure(backend, n, root, repeat, prefix=f"{args.postgres_prefix}_search")
            )
            per_size[str(n)] = {
                label: {
                    "p50_ms": round(search_scale.percentile_ms(s, 50), 3),
                    "p99_ms": round(search_scale.percentile_ms(s, 99), 3),
                }
                for label, s in measured.items()
            }
        out[backend] = per_size
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_exit_guards()
    started = datetime.now().astimezone()
    clock = time.perf_counter()
    notes: list[str] = []
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if any(t.startswith("graphdock-pg") for t in targets):
        why = postgres_reachable()
        if why is not None:
            notes.append(f"PostgreSQL not reachable ({why}): graphdock-pg skipped")
            progress(notes[-1])
            targets = [t for t in targets if not t.startswith("graphdock-pg")]
    a_args, r_args = sub_args(args, ",".join(targets))
    load_before = os.getloadavg()
    with work_root(args.keep_workdir) as root:
        a_results, code = run_targets(a_args, root, lambda h, r: assistants.TargetRun(h, r, a_args).run())
        r_results, code2 = (
            ([], code)
            if code
            else run_targets(r_args, root / "runs", lambda h, r: runs.bench_runs(h, r, r_args))
        )
        code = code or code2
        concurrencies = sorted({1, a_args.concurrency, r_args.throughput_concurrency})
        ceiling = {} if code else measure_ceiling(a_args, root, concurrencies)
        floor: dict[str, Any] = {}
        if not code and any(t.startswith("graphdock-pg") for t in targets):
            progress("floor: a PostgreSQL round trip and a durable commit")
            floor = pg_floor.measure(
                FLOOR_REPEAT["quick" if args.quick else "full"], f"{args.postgres_prefix}_floor"
            )
        backends = [SCALE_BACKEND[t] for t in targets if t in SCALE_BACKEND]
        scale = {} if code or args.no_scale else scale_rows(args, backends, root)
    merged = [
        merge(label, [r for r in a_results + r_results if r.label == label])
        for label in dict.fromkeys(r.label for r in a_results + r_results)
    ]
    data = {
        "benchmark": "report",
        "mode": "quick" if args.quick else "full",
        "command": " ".join(["python", "bench/report.py", *(argv if argv is not None else sys.argv[1:])]),
        "started_at": started.isoformat(timespec="seconds"),
        "duration_seconds": round(time.perf_counter() - clock, 1),
        "machine": {**machine_info(), "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        "settings": {
            "assistants": {k: str(v) for k, v in vars(a_args).items()},
            "runs": {k: str(v) for k, v in vars(r_args).items()},
        },
        "versions": a_args.versions,
        "assistants_concurrency": a_args.concurrency,
        "targets": merged,
        "ceiling": {str(c): s.summary() for c, s in ceiling.items()},
        "floor": floor,
        "scale": scale,
        "notes": notes,
    }
    markdown = render(data)
    print("\n" + markdown)
    out = args.out or BENCH_DIR / "results" / f"report-{started:%Y%m%d-%H%M%S}"
    write_json(out.with_suffix(".json"), data)
    out.with_suffix(".md").write_text(markdown + "\n")
    print(f"\nresults written to {out}.json and {out}.md ({data['duration_seconds']:.0f}s)")
    return code or (1 if any(t["failure"] for t in merged) else 0)


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    area: str
    label: str
    phase: str  # the phase name in each target's results (or the scale label)
    baseline: str | None = None  # the row whose p50 this row's growth factor is relative to


def table_rows(data: dict[str, Any]) -> list[Row]:
    n, c = data["versions"], data["assistants_concurrency"]
    rows = [
        Row("assistants", "create (setup)", "setup_create"),
        Row("assistants", "get", "get"),
        Row("assistants", "search, metadata owner=u3", "search"),
        Row("assistants", "search, no filter", "search_all"),
        Row("assistants", "count", "count"),
        Row("assistants", f"versions list (of {assistants.VERSIONED_VERSIONS})", "versions"),
        Row("assistants", f"set_latest (of {assistants.VERSIONED_VERSIONS})", "set_latest"),
        Row("assistants", "update (PATCH), one assistant per client", "update"),
        Row("assistants", f"update (PATCH), {c} clients on one assistant", "update_same"),
        Row("assistants", "create", "create"),
        Row("assistants", "delete", "delete"),
        Row("versions", f"fill one assistant to {n:,} versions (PATCH)", "fill"),
    ]
    for op, what in (
        ("get", "get"),
        ("versions", "versions list"),
        ("set_latest", "set_latest"),
        ("update", "update"),
    ):
        rows.append(Row("versions", f"{what} @ 1 version", f"{op}@1v"))
        rows.append(Row("versions", f"{what} @ {n:,} versions", f"{op}@{n}v", baseline=f"{op}@1v"))
    scale = data.get("scale") or {}
    sizes = [str(s) for s in scale.get("sizes", [])]
    for label in [*search_scale.FILTERS, search_scale.COUNT]:
        name = label if label == search_scale.COUNT else f"search, {label}"
        for size in sizes:
            base = None if size == sizes[0] else f"scale:{sizes[0]}:{label}"
            rows.append(Row("scale (storage)", f"{name} @ {int(size):,}", f"scale:{size}:{label}", base))
    throughput = [
        p
        for t in data["targets"]
        for p in t["phases"]
        if p.startswith("wait_stateless@c") and p != "wait_stateless@c1"
    ]
    rows += [
        Row("runs", "wait, stateless", "wait_stateless@c1"),
        Row("runs", "wait, on a new thread", "wait_thread@c1"),
        Row("runs", "background create", "bg_create@c1"),
        Row("runs", "background create + join", "bg_create_join@c1"),
        Row("runs", "stream: first event", "stream_first_event@c1"),
        Row("runs", "stream: whole run", "stream@c1"),
        *[Row("runs", "wait, stateless: throughput", p) for p in dict.fromkeys(throughput)],
    ]
    return rows


def _num(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if value >= 100:
        return f"{value:,.0f}{unit}"
    return f"{value:.1f}{unit}" if value >= 10 else f"{value:.2f}{unit}"


def _cpu(value: float | None) -> str:
    """A request's CPU in ms: three decimals below 1 ms, where a cached read costs 0.05-0.1."""
    if value is not None and not math.isnan(value) and value < 1:
        return f"{value:.3f}"
    return _num(value)


def _phase(target: dict[str, Any], phase: str, scale: dict[str, Any]) -> dict[str, Any] | None:
    """A target's summary of `phase`; `scale:<size>:<label>` is a storage-level row of its backend."""
    if not phase.startswith("scale:"):
        found: dict[str, Any] | None = target["phases"].get(phase)
        return found
    _, size, label = phase.split(":", 2)
    backend = SCALE_BACKEND.get(target["kind"], "")
    return ((scale.get(backend) or {}).get(size) or {}).get(label)


def render(data: dict[str, Any]) -> str:
    """The markdown report: a header, one table, the legend and what went wrong (if anything)."""
    targets = [t for t in data["targets"] if t["phases"]]
    official = next((t for t in targets if t["kind"] == "official"), None)
    ceiling, scale = data.get("ceiling") or {}, data.get("scale") or {}
    head = ["area", "operation", "c", "ceiling req/s"]
    for t in targets:
        head += [f"{t['label']} req/s", "p50 ms", "p99 ms", "cpu ms/req"]
        head += ([] if t is official or official is None else ["vs official"]) + ["% ceiling"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for c, s in ceiling.items():
        cpu = s.get("server_cpu_ms_per_req")
        cells = [
            "ceiling",
            f"bare ASGI app, static JSON (p50 {_num(s['p50_ms'])}, p99 {_num(s['p99_ms'])} ms"
            + (f", cpu {_num(cpu)} ms/req)" if cpu else ")"),
        ]
        cells += [c, _num(s["rps"])] + ["" for _ in head[4:]]
        lines.append("| " + " | ".join(cells) + " |")
    for label, s in (data.get("floor") or {}).items():
        what = (
            f"PostgreSQL {label} (psycopg async, uvloop; p50 {_num(s['p50_ms'])}, p99 {_num(s['p99_ms'])} ms)"
        )
        lines.append("| " + " | ".join(["floor", what, "1", "-", *("" for _ in head[4:])]) + " |")
    for row in table_rows(data):
        found = [_phase(t, row.phase, scale) for t in targets]
        if not any(found):
            continue
        conc = next((f["concurrency"] for f in found if f and "concurrency" in f), 1)
        http = not row.phase.startswith("scale:")
        ceil = ceiling.get(str(conc)) if http else None
        cells = [row.area, row.label, str(conc), _num(ceil["rps"]) if ceil else "-"]
        for t, f in zip(targets, found, strict=True):
            if f is None:
                cells += ["n/a", "", "", ""] + ([] if t is official or official is None else [""]) + [""]
                continue
            p50 = _num(f["p50_ms"])
            base = _phase(t, row.baseline, scale) if row.baseline else None
            if base and base.get("p50_ms"):
                p50 += f" ({f['p50_ms'] / base['p50_ms']:.1f}x)"
            rps = f.get("rps")
            errors = sum((f.get("errors") or {}).values())
            cpu = _cpu(f.get("server_cpu_ms_per_req"))  # the server process's CPU per answered request
            cells += [_num(rps) + (f" ({errors} err)" if errors else ""), p50, _num(f["p99_ms"]), cpu]
            if t is not official and official is not None:
                o = official["phases"].get(row.phase) if http else None
                cells.append(_versus(o, f, conc))
            cells.append(f"{rps / ceil['rps']:.0%}" if ceil and rps and ceil.get("rps") else "-")
        lines.append("| " + " | ".join(cells) + " |")
    floors = _floor_lines(data, official, next((t for t in targets if t["kind"] == "graphdock-pg"), None))
    return "\n".join([*_header(data, targets), "", *lines, "", *floors, *_legend(data, targets)])


# The c=1 rows a floor bounds: reads need one round trip, writes one durable commit.
FLOOR_OF = {
    "get": pg_floor.ROUND_TRIP,
    "versions": pg_floor.ROUND_TRIP,
    "set_latest": pg_floor.COMMIT,
    "update": pg_floor.COMMIT,
}


def _floor_lines(
    data: dict[str, Any], official: dict[str, Any] | None, pg: dict[str, Any] | None
) -> list[str]:
    """For each c=1 versions row: the least p50 any server reading or writing PostgreSQL once per
    request could have here (the ceiling's p50 at c=1 plus the floor), and the most times faster
    than the official server that allows."""
    floor, ceiling = data.get("floor") or {}, (data.get("ceiling") or {}).get("1")
    if not floor or not ceiling or official is None or pg is None:
        return []
    lines = []
    for phase, o in official["phases"].items():
        op, _, at = phase.partition("@")
        if op not in FLOOR_OF or not at or phase not in pg["phases"] or not o.get("p50_ms"):
            continue
        least = ceiling["p50_ms"] + floor[FLOOR_OF[op]]["p50_ms"]
        lines.append(
            f"| {phase} | {_num(o['p50_ms'])} | {least:.2f} | {o['p50_ms'] / least:.2f}x "
            f"| {_num(pg['phases'][phase]['p50_ms'])} |"
        )
    head = [
        "PostgreSQL floor at c=1: the ceiling's p50 plus one round trip (reads) or one durable commit "
        "(writes) is the least p50 a server reading or writing PostgreSQL once per request can have on "
        "this machine, so `official / floor` is the most times faster than the official server it can be.",
        "",
        "| row | official p50 ms | floor p50 ms | official / floor | graphdock-pg p50 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    return [*head, *lines, ""] if lines else []


def _versus(official: dict[str, Any] | None, mine: dict[str, Any], concurrency: int) -> str:
    """How many times faster than the official server. At c=1 a row is a latency: the p50 ratio,
    because req/s there counts whole cycles (a background create's req/s is create + join)."""
    if not official:
        return "-"
    if concurrency == 1:
        ok = official.get("p50_ms") and mine.get("p50_ms")
        return f"{official['p50_ms'] / mine['p50_ms']:.2f}x (p50)" if ok else "-"
    ok = official.get("rps") and mine.get("rps")
    return f"{mine['rps'] / official['rps']:.2f}x" if ok else "-"


def _header(data: dict[str, Any], targets: list[dict[str, Any]]) -> list[str]:
    m = data["machine"]
    load = ", ".join(f"{x:.1f}" for x in m.get("loadavg_before", [])[:1] + m.get("loadavg_after", [])[:1])
    return [
        f"## graphdock benchmark report ({data['mode']}, {data['started_at']}, {data['duration_seconds']:.0f} s)",
        "",
        f"`{data['command']}` on {m.get('cpus')} CPUs, {m.get('platform')}, Python {m.get('python')}; "
        f"load average before/after: {load}. Targets: {', '.join(t['label'] for t in targets)}.",
    ]


def _legend(data: dict[str, Any], targets: list[dict[str, Any]]) -> list[str]:
    lines = [
        "req/s: successful requests per second, closed loops of `c` clients; p50/p99: latency in ms measured "
        "by the load generator (loopback round trip included). cpu ms/req: the server's own CPU time (its process "
        "group, user + system) over the phase, per answered request. vs official: how many times faster than "
        "`langgraph dev` (>1 = faster): req/s ratio, or at c=1 the p50 ratio. % ceiling: req/s as a share of the bare ASGI app's at the same c. "
        "(Nx) after a p50: relative to the row's smallest case (1 version, or the smallest store). "
        "scale rows: graphdock's storage layer called in-process (no HTTP), p50/p99 of sequential calls; "
        "graphdock's column is SQLite, graphdock-pg's PostgreSQL. runs: graph `echo` (one node, no LLM); "
        "stream first event = the first chunk of the SSE body.",
    ]
    lines += [f"- note: {n}" for n in data.get("notes", [])]
    for t in data["targets"]:
        if t["failure"]:
            lines.append(f"- {t['label']} FAILED: {t['failure'].splitlines()[0]}")
        lines += [f"- {t['label']}: {n}" for n in t["notes"]]
        lines += [f"- {t['label']} check: {c}" for c in t["checks"]]
        for name, s in t["phases"].items():
            for key, count in (s.get("errors") or {}).items():
                sample = (s.get("error_samples") or {}).get(key, [""])[0]
                lines.append(f"- {t['label']} errors in {name}: {count} x {key}, e.g. `{sample[:120]}`")
    return lines


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark results: one TargetResult per server, the comparison table, and the JSON file."""

from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _harness import ServerKind, Stats

RATIO_DEFINITION = "rps: second/first target; p50/p99: first/second (>1 = second target better)"


@dataclass
class TargetResult:
    """Everything measured on one server; `phases` keep their run order (the table's rows)."""

    label: str
    kind: ServerKind
    startup_seconds: float = math.nan
    info: Any = None  # the server's GET /info
    phases: dict[str, Stats] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)  # surprises worth a look (wrong counts, lost versions)
    notes: list[str] = field(default_factory=list)  # printed under the table
    details: dict[str, Any] = field(default_factory=dict)  # benchmark-specific JSON
    failure: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "kind": self.kind,
            "startup_seconds": round(self.startup_seconds, 3),
            "server_info": self.info,
            "failure": self.failure,
            "checks": self.checks,
            **self.details,
            "phases": {name: stats.summary() for name, stats in self.phases.items()},
        }


def ratios(base: Stats, cand: Stats) -> tuple[float, float, float]:
    """Candidate/base throughput, then base/candidate p50 and p99: every ratio > 1 favours the candidate."""

    def div(a: float, b: float) -> float:
        return math.nan if math.isnan(a) or math.isnan(b) or b == 0 else a / b

    return (
        div(cand.rps, base.rps),
        div(base.percentile_ms(50), cand.percentile_ms(50)),
        div(base.percentile_ms(99), cand.percentile_ms(99)),
    )


def _fmt(value: float, digits: int, suffix: str = "") -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}{suffix}"


def render_table(results: list[TargetResult], title: str) -> str:
    """One row per phase, one column group per target, and ratio columns when there are two."""
    shown = [r for r in results if r.phases]
    if not shown:
        return "\n".join(f"{r.label}: FAILED: {r.failure}" for r in results)
    names: list[str] = []
    for r in shown:
        names += [n for n in r.phases if n not in names]
    cell = f"{'req/s':>9} {'p50':>8} {'p99':>8} {'err':>5} {'cpu/req':>8}"
    compare = len(shown) == 2
    # More than two targets: each one's throughput relative to the first (the yardstick).
    against_first = shown[1:] if len(shown) > 2 else []
    head = f"{'':<18}" + "".join(f" | {r.label:^{len(cell)}}" for r in shown)
    sub = f"{'operation':<18}" + "".join(f" | {cell}" for _ in shown)
    legend = "latency in ms (successful requests only); cpu/req = server CPU ms per answered request"
    if against_first:
        head += "".join(f" | {r.label:^9}" for r in against_first)
        sub += "".join(f" | {'req/s':>9}" for _ in against_first)
        legend += f"; the last columns: req/s relative to {shown[0].label}"
    if compare:
        base, cand = shown[0].label, shown[1].label
        head += f" | {cand + '/' + base:^26}"
        sub += f" | {'req/s':>8} {'p50':>8} {'p99':>8}"
        legend += f"; ratios: req/s {cand}/{base}, p50 and p99 {base}/{cand} (>1 = {cand} better)"
    lines = [title, legend, "", head, sub, "-" * len(sub)]
    for name in names:
        row = f"{name:<18}"
        for r in shown:
            s = r.phases.get(name)
            if s is None:
                row += f" | {'':>{len(cell)}}"
                continue
            row += (
                f" | {_fmt(s.rps, 1):>9} {_fmt(s.percentile_ms(50), 2):>8} {_fmt(s.percentile_ms(99), 2):>8}"
                f" {s.error_count:>5} {_fmt(s.server_cpu_ms_per_request(), 3):>8}"
            )
        for r in against_first:
            s0, s1 = shown[0].phases.get(name), r.phases.get(name)
            rps_ratio = ratios(s0, s1)[0] if s0 is not None and s1 is not None else math.nan
            row += f" | {_fmt(rps_ratio, 2, 'x'):>9}"
        if compare and name in shown[0].phases and name in shown[1].phases:
            rps, p50, p99 = ratios(shown[0].phases[name], shown[1].phases[name])
            row += f" | {_fmt(rps, 2, 'x'):>8} {_fmt(p50, 2, 'x'):>8} {_fmt(p99, 2, 'x'):>8}"
        lines.append(row)
    lines.append("")
    for r in results:
        lines.append(
            f"{r.label}: startup {_fmt(r.startup_seconds, 2, 's')}" + "".join(f"; {n}" for n in r.notes)
        )
        if r.failure:
            lines.append(f"  FAILED: {r.failure.splitlines()[0]}")
        lines += [f"  check: {c}" for c in r.checks]
        for name, s in r.phases.items():
            for key, n in s.errors.items():
                sample = s.error_samples.get(key, [""])[0]
                lines.append(f"  errors in {name}: {n} x {key}  e.g. {sample[:160]}")
    return "\n".join(lines)


def results_json(
    benchmark: str, started_at: str, results: list[TargetResult], settings: dict[str, Any], **meta: Any
) -> dict[str, Any]:
    shown = [r for r in results if r.phases]
    table: dict[str, dict[str, float]] = {}
    if len(shown) == 2:
        for name, base in shown[0].phases.items():
            cand = shown[1].phases.get(name)
            if cand is not None:
                rps, p50, p99 = ratios(base, cand)
                table[name] = {"rps": round(rps, 3), "p50": round(p50, 3), "p99": round(p99, 3)}
    return {
        "benchmark": benchmark,
        "started_at": started_at,
        "machine": machine_info(),
        **meta,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in settings.items()},
        "ratio_definition": RATIO_DEFINITION,
        "targets": [r.to_json() for r in results],
        "ratios": {f"{shown[1].label}/{shown[0].label}": table} if len(shown) == 2 else {},
    }


def machine_info() -> dict[str, Any]:
    return {"cpus": _cpu_count(), "platform": platform.platform(), "python": platform.python_version()}


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite(data), indent=2, default=str) + "\n")


def _finite(value: Any) -> Any:
    """NaN (no sample) becomes null: json.dumps would write NaN, which is not JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _cpu_count() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

"""bench/report.py turns a results JSON into its one table: the rows, ratios and shares it promises.

No server and no timing: the table is built from fixed figures.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))  # the bench scripts import each other by name

import report


def summary(rps: float | None, p50: float, p99: float, concurrency: int = 8, **extra: Any) -> dict[str, Any]:
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "concurrency": concurrency, "errors": {}, **extra}


def target(label: str, kind: str, phases: dict[str, Any]) -> dict[str, Any]:
    return {"label": label, "kind": kind, "failure": None, "checks": [], "notes": [], "phases": phases}


DATA: dict[str, Any] = {
    "mode": "quick",
    "command": "python bench/report.py --quick",
    "started_at": "2026-11-25T13:00:00+00:00",
    "duration_seconds": 120.0,
    "machine": {
        "cpus": 2,
        "platform": "Linux",
        "python": "3.11",
        "loadavg_before": [1.0],
        "loadavg_after": [2.0],
    },
    "versions": 500,
    "assistants_concurrency": 8,
    "ceiling": {"1": summary(2000, 0.5, 1.0, 1), "8": summary(4000, 2.0, 4.0)},
    "scale": {
        "sizes": [1000, 100000],
        "sqlite": {
            "1000": {"metadata owner=u3 (1%)": {"p50_ms": 0.5, "p99_ms": 1.0}},
            "100000": {"metadata owner=u3 (1%)": {"p50_ms": 1.5, "p99_ms": 2.0}},
        },
    },
    "notes": ["PostgreSQL not reachable (OperationalError): graphdock-pg skipped"],
    "targets": [
        target(
            "official",
            "official",
            {
                "get": summary(1000, 8.0, 20.0),
                "wait_stateless@c1": summary(1.0, 1000.0, 1010.0, 1),
                "bg_create@c1": summary(1.0, 1.8, 3.5, 1),  # req/s counts create + join cycles
            },
        ),
        target(
            "graphdock",
            "graphdock",
            {
                "get": summary(2000, 4.0, 9.0, errors={"HTTP 500": 2}, server_cpu_ms_per_req=0.123),
                "get@1v": summary(500, 2.0, 3.0, 1),
                "get@500v": summary(500, 2.0, 3.0, 1),
                "update@1v": summary(400, 2.0, 3.0, 1),
                "update@500v": summary(200, 5.0, 7.0, 1),
                "wait_stateless@c1": summary(200, 5.0, 9.0, 1),
                "bg_create@c1": summary(200, 0.6, 4.5, 1),
            },
        ),
    ],
}


def rows_of(markdown: str) -> dict[str, list[str]]:
    """Table rows by their operation cell."""
    rows = [line.strip("|").split("|") for line in markdown.splitlines() if line.startswith("| ")]
    return {cells[1].strip(): [c.strip() for c in cells] for cells in rows}


def test_each_measured_operation_is_a_row_with_its_ratio_to_the_official_server_and_the_ceiling() -> None:
    rows = rows_of(report.render(DATA))
    # area, operation, c, ceiling | official req/s p50 p99 cpu %ceiling | graphdock req/s p50 p99 cpu vs %ceiling
    get = rows["get"]
    assert get[2:4] == ["8", "4,000"]
    assert get[4:9] == ["1,000", "8.00", "20.0", "-", "25%"]
    assert get[9:15] == ["2,000 (2 err)", "4.00", "9.00", "0.123", "2.00x", "50%"]
    assert rows["wait, stateless"][2:4] == ["1", "2,000"]
    assert rows["wait, stateless"][13] == "200.00x (p50)"
    # At c=1 the ratio is of latencies: 3x faster to answer, not 200x the cycles.
    assert rows["background create"][10:14] == ["0.60", "4.50", "-", "3.00x (p50)"]


def test_growth_rows_show_the_factor_against_the_smallest_case() -> None:
    rows = rows_of(report.render(DATA))
    assert rows["get @ 500 versions"][10] == "2.00 (1.0x)"
    assert rows["update @ 500 versions"][10] == "5.00 (2.5x)"
    assert rows["update @ 1 version"][10] == "2.00"
    owner = rows["search, metadata owner=u3 (1%) @ 100,000"]
    assert owner[4] == "n/a"  # the official server has no storage layer to measure
    assert owner[9:11] == ["-", "1.50 (3.0x)"]


def test_unmeasured_operations_have_no_row_and_notes_follow_the_table() -> None:
    markdown = report.render(DATA)
    rows = rows_of(markdown)
    assert "delete" not in rows
    assert "search, no filter" not in rows
    assert rows["bare ASGI app, static JSON (p50 2.00, p99 4.00 ms)"][2:4] == ["8", "4,000"]
    assert "- note: PostgreSQL not reachable (OperationalError): graphdock-pg skipped" in markdown
    assert "- graphdock errors in get: 2 x HTTP 500" in markdown


def test_help_lists_the_quick_mode(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        report.parse_args(["--help"])
    assert exited.value.code == 0
    assert "--quick" in capsys.readouterr().out


def test_the_postgresql_floor_bounds_each_c1_row_by_the_ceiling_plus_a_round_trip_or_a_commit() -> None:
    official = target(
        "official",
        "official",
        {"get@1v": summary(2000, 0.45, 0.6, 1), "set_latest@1v": summary(2000, 0.48, 0.7, 1)},
    )
    pg = target(
        "graphdock-pg",
        "graphdock-pg",
        {"get@1v": summary(2000, 0.45, 0.6, 1), "set_latest@1v": summary(1000, 0.76, 1.2, 1)},
    )
    floor = {
        "round trip: SELECT 1": {"p50_ms": 0.10, "p99_ms": 0.16},
        "durable commit: UPDATE of one row": {"p50_ms": 0.28, "p99_ms": 0.35},
    }
    ceiling = {"1": summary(7000, 0.14, 0.18, 1)}
    markdown = report.render({**DATA, "targets": [official, pg], "floor": floor, "ceiling": ceiling})
    lines = {line.split("|")[1].strip(): line for line in markdown.splitlines() if line.startswith("| ")}
    # Reads: 0.14 + 0.10; writes: 0.14 + 0.28. official / floor is the most any such server can be.
    assert lines["get@1v"] == "| get@1v | 0.45 | 0.24 | 1.88x | 0.45 |"
    assert lines["set_latest@1v"] == "| set_latest@1v | 0.48 | 0.42 | 1.14x | 0.76 |"
    assert "PostgreSQL durable commit: UPDATE of one row (psycopg async, uvloop; p50 0.28" in markdown
    # Without PostgreSQL among the targets there is no floor to show.
    assert "floor p50" not in report.render(DATA)

"""Property-based fuzzing of every documented operation: schemathesis reads /openapi.json from a
real `graphdock serve` process and checks that no input gets a 5xx and that every answer (status,
content type, headers, body) is one the document describes.

The default run is bounded and deterministic (fixed seed, a fixed number of examples per
operation), so it is the same test every time; `make fuzz` runs it longer with fresh seeds
(FUZZ_EXAMPLES, FUZZ_SECONDS, FUZZ_SEED, FUZZ_ARGS). Reports land in test-artifacts/fuzz/.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import settings_for
from tests.postgres import backend
from tests.processes import ServerProcess, start

HERE = Path(__file__).parent
ARTIFACTS = HERE.parent.parent / "test-artifacts" / "fuzz"
# Every operation of the document is tested; a floor well below that count, so that a schemathesis
# that silently skipped most of them (an unreadable document, a filter gone wrong) fails the test.
MIN_OPERATIONS = 40


@pytest.fixture
def fuzzed(tmp_path: Path) -> Iterator[ServerProcess]:
    """A `graphdock serve` process of its own, on the backend the suite runs on (on PostgreSQL
    with Redis, as replicas are deployed), with nothing else talking to it."""
    settings = settings_for(tmp_path / "fuzz.sqlite3")
    broker = {"redis_url": settings.redis_url} if settings.redis_url else {}
    server = start(tmp_path, settings.resolved_database_url, **broker)
    yield server
    server.stop()


def _arguments() -> list[str]:
    """One bounded, deterministic run by default (every phase but coverage, the exhaustive one
    that takes minutes); under `make fuzz`, every phase with fresh data (or from FUZZ_SEED) until
    FUZZ_SECONDS have passed."""
    extra = shlex.split(os.environ.get("FUZZ_ARGS", ""))
    examples = os.environ.get("FUZZ_EXAMPLES")
    if examples is None:
        bounded = ["--phases", "examples,fuzzing,stateful", "--max-examples", "5"]
        return [*bounded, "--seed", "1", "--generation-deterministic", *extra]
    seed = os.environ.get("FUZZ_SEED")
    budget = ["--max-examples", examples, "--max-time", os.environ.get("FUZZ_SECONDS", "300")]
    return [*budget, *(["--seed", seed] if seed else []), *extra]


def test_every_operation_answers_as_its_document_says(fuzzed: ServerProcess) -> None:
    reports = ARTIFACTS / backend()
    shutil.rmtree(reports, ignore_errors=True)  # this run's report is the only one read
    reports.mkdir(parents=True)
    argv = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(HERE / "schemathesis.toml")),
        *("run", f"{fuzzed.url}/openapi.json", "--report", "junit", "--report-dir", str(reports)),
        *_arguments(),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=reports, check=False)
    output = done.stdout + done.stderr
    (reports / "output.txt").write_text(output)
    server_log = fuzzed.log.read_text(errors="replace")
    assert done.returncode == 0, f"{output}\n--- server log ---\n{server_log}"
    tested, failed = _junit(reports)
    assert not failed, failed
    assert len(tested) >= MIN_OPERATIONS, (tested, output)
    assert not _unexpected_tracebacks(server_log), server_log


# A log record starts with structlog's ISO timestamp, or is uvicorn's own report of a crash.
_RECORD = re.compile(r"^(?=\d{4}-\d\d-\d\dT|Exception in ASGI application)", re.M)


def _unexpected_tracebacks(server_log: str) -> list[str]:
    """Records with a traceback, but for a graph's own failure: the fuzzer sends inputs the test
    graphs reject, and graphdock logs those at error level with their traceback on purpose."""
    records = _RECORD.split(server_log)
    return [r for r in records if "Traceback" in r and "run.graph_failed" not in r.split("\n", 1)[0]]


def _junit(reports: Path) -> tuple[list[str], list[str]]:
    """The operations the report lists, and those with a failure or error."""
    (path,) = reports.glob("junit*.xml")
    cases = ET.parse(path).getroot().iter("testcase")
    tested, failed = [], []
    for case in cases:
        tested.append(case.get("name", ""))
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(case.get("name", ""))
    return tested, failed

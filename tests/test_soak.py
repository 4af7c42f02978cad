"""The soak's load code (bench/soak.py), run briefly so CI exercises it: no errors, and the server's
memory does not keep growing (a generous bound on RSS, never a timing)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).parents[1] / "bench"


@pytest.fixture(scope="module")
def soak() -> ModuleType:
    # bench/ is a folder of scripts that import each other by plain module name.
    sys.path.insert(0, str(BENCH))
    return importlib.import_module("soak")


def test_a_short_mixed_soak_has_no_errors_and_memory_that_settles(soak: ModuleType, tmp_path: Path) -> None:
    result = soak.run(tmp_path, seconds=20, concurrency=4, sample_seconds=0.5)
    report = soak.render(result, "short soak")
    assert result.error_count == 0, report
    assert {"create", "get", "search", "update", "thread_wait", "stateless_stream"} <= set(result.ops), report
    middle, last = result.rss_thirds_mib()
    assert last <= middle * 1.5 + 64, report

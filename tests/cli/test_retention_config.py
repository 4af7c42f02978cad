"""checkpointer.ttl in langgraph.json: parsed at start-up, and a wrong value stops the server with
a message naming the key (never a traceback, never a setting silently ignored)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from graphdock.errors import ConfigError
from graphdock.project import ThreadTtlSpec, load_project_config
from tests.cli.test_cli import GRAPHDOCK
from tests.runs.expiry import ttl_project


def _project(tmp_path: Path, checkpointer: Any) -> Path:
    config = ttl_project(tmp_path)
    raw = json.loads(config.read_text())
    raw["checkpointer"] = checkpointer
    config.write_text(json.dumps(raw))
    return config


def test_the_ttl_settings_are_read_with_platform_defaults_for_what_is_left_out(tmp_path: Path) -> None:
    spec = load_project_config(_project(tmp_path, {"ttl": {"default_ttl": 0.5}})).thread_ttl
    assert spec == ThreadTtlSpec(
        strategy="delete", default_ttl=0.5, sweep_interval_minutes=5.0, sweep_limit=10_000
    )
    full = {"strategy": "keep_latest", "default_ttl": 43200, "sweep_interval_minutes": 1, "sweep_limit": 50}
    assert load_project_config(_project(tmp_path, {"ttl": full})).thread_ttl == ThreadTtlSpec(
        "keep_latest", 43200.0, 1.0, 50
    )
    assert load_project_config(_project(tmp_path, None)).thread_ttl == ThreadTtlSpec()


@pytest.mark.parametrize(
    ("checkpointer", "message"),
    [
        ([], "'checkpointer' must be an object"),
        ({"ttl": 60}, "checkpointer.ttl must be an object"),
        ({"ttl": {"strategy": "archive"}}, "checkpointer.ttl.strategy must be 'delete' or 'keep_latest'"),
        (
            {"ttl": {"default_ttl": 0}},
            "checkpointer.ttl.default_ttl must be a number of minutes greater than 0",
        ),
        ({"ttl": {"default_ttl": "1h"}}, "checkpointer.ttl.default_ttl must be a number of minutes"),
        ({"ttl": {"sweep_interval_minutes": -1}}, "checkpointer.ttl.sweep_interval_minutes must be a number"),
        ({"ttl": {"sweep_limit": 0}}, "checkpointer.ttl.sweep_limit must be a whole number of threads"),
        ({"ttl": {"sweep_limit": 2.5}}, "checkpointer.ttl.sweep_limit must be a whole number of threads"),
        ({"ttl": {"defaut_ttl": 5}}, "checkpointer.ttl: unknown keys ['defaut_ttl']"),
    ],
)
def test_a_wrong_ttl_setting_is_a_precise_configuration_error(
    tmp_path: Path, checkpointer: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_project_config(_project(tmp_path, checkpointer))
    assert message in str(raised.value)
    assert "langgraph.json" in str(raised.value)


def test_graphdock_serve_refuses_to_start_on_a_wrong_ttl_setting(tmp_path: Path) -> None:
    config = _project(tmp_path, {"ttl": {"strategy": "archive"}})
    done = subprocess.run(
        [*GRAPHDOCK, "serve", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "checkpointer.ttl.strategy must be 'delete' or 'keep_latest'" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr

"""Runs the assistant-versioning walkthrough (tests/js/walkthrough.mjs) with the official JS SDK against graphdock."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.node import ensure_node_modules, output

JS_DIR = Path(__file__).parent / "js"


def _require(tool: str) -> str:
    """Path of `tool`; skip on a laptop without it, but fail in CI, which must run this test."""
    path = shutil.which(tool)
    if path is None:
        reason = f"`{tool}` not found on PATH: the JS SDK test needs Node.js >= 20 with npm"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this test may not be skipped)")
        pytest.skip(reason)
    return path


def test_js_sdk_versioning_walkthrough(server_url: str) -> None:
    node = _require("node")
    npm = _require("npm")
    ensure_node_modules(JS_DIR, npm)

    env = {**os.environ, "GRAPHDOCK_URL": server_url, "GRAPHDOCK_GRAPH": "agent"}
    env.pop("GRAPHDOCK_REFERENCE", None)  # graphdock must pass every check, including the [graphdock] ones
    proc = subprocess.run(
        [node, "walkthrough.mjs"],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, f"JS SDK walkthrough failed against {server_url}:\n{output(proc)}"

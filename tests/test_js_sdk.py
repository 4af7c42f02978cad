"""Runs the assistant-versioning walkthrough (tests/js/walkthrough.mjs) with the official JS SDK against graphdock."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

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


def _output(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit code {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"


def _ensure_node_modules(npm: str) -> None:
    """`npm ci` unless node_modules is already installed from the current package-lock.json."""
    stamp = JS_DIR / "node_modules" / ".package-lock.json"  # npm rewrites it on every install
    lock = JS_DIR / "package-lock.json"
    if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return
    proc = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"npm ci in {JS_DIR} failed:\n{_output(proc)}"


def test_js_sdk_versioning_walkthrough(server_url: str) -> None:
    node = _require("node")
    npm = _require("npm")
    _ensure_node_modules(npm)

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
    assert proc.returncode == 0, f"JS SDK walkthrough failed against {server_url}:\n{_output(proc)}"

"""Runs the assistant-versioning walkthrough (tests/js/walkthrough.mjs) with the official JS SDK against graphdock."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.needs import require_tool
from tests.node import ensure_node_modules, output

JS_DIR = Path(__file__).parent / "js"
_NODE = "the JS SDK test needs Node.js >= 20 with npm"


def test_js_sdk_versioning_walkthrough(server_url: str) -> None:
    node = require_tool("node", _NODE)
    npm = require_tool("npm", _NODE)
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

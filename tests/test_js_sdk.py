"""Runs the JS scripts of tests/js (the assistant-versioning walkthrough, the thread streaming session) with the official JS SDK against graphdock."""

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


def test_js_sdk_thread_streaming_session(server_url: str) -> None:
    """tests/js/thread_session.mjs: ThreadStream over SSE and WebSocket (values and output, a chat
    model's message, an interrupt answered, an unknown assistant)."""
    node = require_tool("node", _NODE)
    npm = require_tool("npm", _NODE)
    ensure_node_modules(JS_DIR, npm)
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    # Node has a global WebSocket (what the SDK's WebSocket transport uses) from 22 on; 20 and 21 behind a flag.
    flags = ["--experimental-websocket"] if int(version.lstrip("v").split(".")[0]) < 22 else []
    proc = subprocess.run(
        [node, *flags, "thread_session.mjs"],
        cwd=JS_DIR,
        env={**os.environ, "GRAPHDOCK_URL": server_url},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, f"JS SDK thread session failed against {server_url}:\n{output(proc)}"
    assert "all 8 checks passed" in proc.stdout, output(proc)

"""The UI shipped in the package is exactly what its sources build to (CI rebuilds and compares)."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

from tests.ui.conftest import STATIC, UI_SRC, require_tool


def _output(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit code {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"


def _ensure_node_modules(npm: str) -> None:
    """`npm ci` unless node_modules is already installed from the current package-lock.json."""
    stamp = UI_SRC / "node_modules" / ".package-lock.json"  # npm rewrites it on every install
    lock = UI_SRC / "package-lock.json"
    if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return
    proc = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=UI_SRC,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"npm ci in {UI_SRC} failed:\n{_output(proc)}"


def _files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_committed_build_is_what_the_sources_build_to(tmp_path: Path) -> None:
    require_tool("node")
    npm = require_tool("npm")
    _ensure_node_modules(npm)
    out = tmp_path / "static"
    # The same script `make ui` runs (type check, then vite), only into a temporary folder.
    proc = subprocess.run(
        [npm, "run", "build", "--", "--outDir", str(out), "--emptyOutDir"],
        cwd=UI_SRC,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"building the UI failed:\n{_output(proc)}"
    built, shipped = _files(out), _files(STATIC)
    assert sorted(built) == sorted(shipped), "run `make ui` and commit src/graphdock/ui/static"
    differing = [name for name in built if not filecmp.cmp(built[name], shipped[name], shallow=False)]
    assert differing == [], f"{differing} differ from a fresh build: run `make ui` and commit the result"

"""The UI shipped in the package is exactly what its sources build to (CI rebuilds and compares)."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

from tests.node import ensure_node_modules, output
from tests.ui.conftest import STATIC, UI_SRC, require_tool


def _files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_committed_build_is_what_the_sources_build_to(tmp_path: Path) -> None:
    require_tool("node")
    npm = require_tool("npm")
    ensure_node_modules(UI_SRC, npm)
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
    assert proc.returncode == 0, f"building the UI failed:\n{output(proc)}"
    built, shipped = _files(out), _files(STATIC)
    assert sorted(built) == sorted(shipped), "run `make ui` and commit src/graphdock/ui/static"
    differing = [name for name in built if not filecmp.cmp(built[name], shipped[name], shallow=False)]
    assert differing == [], f"{differing} differ from a fresh build: run `make ui` and commit the result"

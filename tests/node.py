"""What the tests that run Node.js share: finding node/npm and installing a package's node_modules."""

from __future__ import annotations

import subprocess
from pathlib import Path


def output(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit code {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"


def ensure_node_modules(folder: Path, npm: str) -> None:
    """`npm ci` in `folder` unless its node_modules is installed from the current package-lock.json."""
    stamp = folder / "node_modules" / ".package-lock.json"  # npm rewrites it on every install
    lock = folder / "package-lock.json"
    if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return
    proc = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"npm ci in {folder} failed:\n{output(proc)}"

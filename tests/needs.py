"""What a test needs from the machine: skipped on a laptop without it, a failure under CI."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this test may not be skipped)")
    pytest.skip(reason)


def require_tool(tool: str, purpose: str) -> str:
    """The path of `tool` on PATH; `purpose` says what needs it, for the skip or failure."""
    path = shutil.which(tool)
    if path is None:
        unavailable(f"`{tool}` not found on PATH: {purpose}")
    return path

"""langgraph.json files with an `http` section, written for a test beside the shared test graphs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import TESTS

GRAPHS = TESTS / "graphs"
HTTP_APPS = GRAPHS / "http"


def project(folder: Path, http: dict[str, Any] | None = None, **top: Any) -> Path:
    """A langgraph.json in `folder` serving the `echo` and `agent` test graphs, plus `http`."""
    folder.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "dependencies": [str(GRAPHS)],
        "graphs": {
            "echo": f"{GRAPHS}/runs.py:echo",
            "agent": f"{GRAPHS}/agent.py:graph",
            **top.pop("graphs", {}),
        },
        **top,
    }
    if http is not None:
        config["http"] = http
    path = folder / "langgraph.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path

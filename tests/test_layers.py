"""The architecture holds: api → domain → storage/runtime, and no layer reaches around another."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "graphdock"

# package → imports it must never make (prefix match on the dotted module name)
FORBIDDEN = {
    "domain": (
        "graphdock.api",
        "graphdock.app",
        "starlette",
        "uvicorn",
        "sqlite3",
        "psycopg",
        "redis",
        "graphdock.storage.sqlite",
        "graphdock.storage.postgres",
    ),
    "storage": ("graphdock.api", "graphdock.app", "graphdock.domain", "graphdock.runtime", "starlette"),
    "runtime": ("graphdock.api", "graphdock.app", "graphdock.domain", "graphdock.storage", "starlette"),
    # Handlers see records (plain data) but never a database driver or a backend.
    "api": ("sqlite3", "graphdock.storage.sqlite", "graphdock.storage.base", "graphdock.runtime"),
    # langgraph.json read into plain specs: the layers below read them, never the other way.
    "project": ("graphdock.api", "graphdock.app", "graphdock.domain", "graphdock.runtime", "starlette"),
    "schemas": ("graphdock.api", "graphdock.domain", "graphdock.storage.sqlite", "starlette"),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_what_is_below_it(layer: str) -> None:
    files = sorted((SRC / layer).rglob("*.py"))
    assert files, f"no modules in {layer}"
    offending = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in files
        for name in sorted(_imports(path))
        if name.startswith(FORBIDDEN[layer])
    ]
    assert offending == []

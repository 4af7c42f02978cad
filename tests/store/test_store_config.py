"""langgraph.json's `store` section: precise start-up errors, and a provider model without LangChain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from graphdock.errors import ConfigError
from graphdock.project import IndexSpec, TtlSpec, load_project_config
from tests.store.conftest import MEMORY


def _project(tmp_path: Path, store: Any) -> Path:
    config = tmp_path / "langgraph.json"
    config.write_text(
        json.dumps({"graphs": {"memory": str(MEMORY / "memory.py") + ":graph"}, "store": store})
    )
    return config


def test_the_store_section_is_read_into_typed_specs(tmp_path: Path) -> None:
    store = {
        "index": {"embed": "./embeddings.py:embeddings", "dims": 16, "fields": ["text", "tags[*]"]},
        "ttl": {"default_ttl": 1.5, "refresh_on_read": False, "sweep_interval_minutes": 10},
    }
    spec = load_project_config(_project(tmp_path, store)).store
    assert spec.index == IndexSpec("./embeddings.py:embeddings", 16, ("text", "tags[*]"))
    assert spec.ttl == TtlSpec(1.5, False, 10)


@pytest.mark.parametrize(
    ("store", "named"),
    [
        ([], "'store' must be an object"),
        ({"indexes": {}}, "unknown key(s) indexes"),
        ({"index": {"dims": 3}}, "store.index.embed"),
        ({"index": {"embed": "nocolon", "dims": 3}}, "store.index.embed"),
        ({"index": {"embed": "openai:x", "dims": 0}}, "store.index.dims"),
        ({"index": {"embed": "openai:x", "dims": "3"}}, "store.index.dims"),
        ({"index": {"embed": "openai:x", "dims": 3, "fields": []}}, "store.index.fields"),
        ({"ttl": {"default_ttl": -1}}, "store.ttl.default_ttl"),
        ({"ttl": {"refresh_on_read": "yes"}}, "store.ttl.refresh_on_read"),
        ({"ttl": {"sweep_interval_minutes": 0}}, "store.ttl.sweep_interval_minutes"),
    ],
)
def test_a_bad_store_section_is_one_precise_error(tmp_path: Path, store: Any, named: str) -> None:
    with pytest.raises(ConfigError, match="store") as caught:
        load_project_config(_project(tmp_path, store))
    assert named in str(caught.value)


def test_a_provider_model_without_langchain_names_the_missing_package(tmp_path: Path) -> None:
    try:
        import langchain  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("langchain is installed here")
    config = _project(tmp_path, {"index": {"embed": "openai:text-embedding-3-small", "dims": 1536}})
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "graphdock",
            "migrate",
            "--config",
            str(config),
            "--database-url",
            f"sqlite:///{tmp_path / 'db.sqlite3'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "install the 'langchain' package" in done.stderr
    assert "Traceback" not in done.stderr

"""Graph factories in every ServerRuntime form, through the real server (issue 17, item 2).

`tests/graphs/server_runtime` serves `(runtime)` and `(config, runtime)`, each sync and async, and
sync and async context-manager factories; each notes its calls in a file, so the test sees why the server
built the graph (`runtime.access_context`) and that a context manager is exited after each use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.conftest import TESTS, RunningServer

PROJECT = TESTS / "graphs" / "server_runtime" / "langgraph.json"
GRAPHS = [
    "by_runtime",
    "aby_runtime",
    "by_config_and_runtime",
    "by_config_and_runtime_sync",
    "managed",
    "amanaged",
]
MANAGED = {"managed", "amanaged"}


@pytest.fixture
def factory_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "factories.log"
    monkeypatch.setenv("GRAPHDOCK_TEST_FACTORY_LOG", str(log))
    return log


def calls(log: Path, graph_id: str) -> list[str]:
    return [
        line.split(" ", 1)[1]
        for line in log.read_text(encoding="utf-8").splitlines()
        if line.split(" ", 1)[0] == graph_id
    ]


async def test_every_factory_form_loads_runs_and_learns_why_it_is_called(
    start_server: Callable[..., RunningServer], factory_log: Path
) -> None:
    server = start_server(config=PROJECT)  # one such graph used to stop the whole server
    client = get_client(url=server.url)
    try:
        for graph_id in GRAPHS:
            assert calls(factory_log, graph_id)[0] == "enter assistants.read", "schemas are read at start"
            thread = (await client.threads.create())["thread_id"]
            result = await client.runs.wait(
                thread,
                graph_id,
                input={"text": "t"},
                config={"configurable": {"tenant": "acme", "variant": "v"}},
            )
            assert result["built_for"] == "threads.create_run", graph_id
            assert result["tenant"] == "acme", "the run's context reaches the factory"
            if graph_id in MANAGED:
                assert result["resource_open"] is True, "the context manager is open while the run uses it"
            if graph_id in ("by_config_and_runtime", "by_config_and_runtime_sync", "amanaged"):
                assert result["variant"] == "v", "the config reaches a (config, runtime) factory"

            before = len(calls(factory_log, graph_id))
            state = await client.threads.get_state(thread)
            assert state["values"]["built_for"] == "threads.create_run"
            await client.threads.update_state(thread, {"text": "edited"}, as_node="report")
            [default] = await client.assistants.search(graph_id=graph_id)
            await client.assistants.get_schemas(default["assistant_id"])
            entered = [c for c in calls(factory_log, graph_id)[before:] if c.startswith("enter")]
            assert "enter threads.read" in entered
            assert "enter threads.update" in entered
            assert "enter assistants.read" in entered

            if graph_id in MANAGED:
                made = calls(factory_log, graph_id)
                enters = [c.split(" ", 1)[1] for c in made if c.startswith("enter")]
                exits = [c.split(" ", 1)[1] for c in made if c.startswith("exit")]
                assert sorted(enters) == sorted(exits), "every use is exited after it"
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("graph_id", "configurable", "expected"),
    [
        ("factory", {}, "hello from langgraph.json: t"),
        ("factory_config", {"variant": "loud"}, "T"),
        ("factory_async", {"audit": True}, "t [audited]"),
    ],
)
async def test_plain_and_config_factories_run_through_the_server(
    client: LangGraphClient, graph_id: str, configurable: dict[str, object], expected: str
) -> None:
    """`()`, `(config)` sync and `(config)` async, as langgraph.json's older forms: each run's config
    reaches the factory."""
    result = await client.runs.wait(
        None, graph_id, input={"text": "t"}, config={"configurable": configurable}
    )
    assert result["text"] == expected

"""The SQLite saver answering LangGraph's async API on the loop's thread (runtime/sqlite_saver.py).

Real files; a real graph writes its checkpoints through it, and the file is then read back by
LangGraph's own AsyncSqliteSaver, so the two stay interchangeable for files already on disk.
"""

from __future__ import annotations

import asyncio
import operator
import threading
from pathlib import Path
from typing import Annotated, Any

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from graphdock.runtime.checkpoints import open_saver


class _State(TypedDict):
    steps: Annotated[list[str], operator.add]


def _graph() -> Any:
    builder = StateGraph(_State)
    builder.add_node("a", lambda s: {"steps": ["a"]})
    builder.add_node("b", lambda s: {"steps": ["b"]})
    return builder.add_edge(START, "a").add_edge("a", "b").add_edge("b", END)


def _config(thread: str) -> Any:
    return {"configurable": {"thread_id": thread}}


async def test_a_graph_keeps_its_state_across_runs_and_the_file_reads_back_with_langgraphs_saver(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'graphdock.sqlite3'}"
    async with open_saver(url) as saver:
        graph = _graph().compile(checkpointer=saver)
        await graph.ainvoke({"steps": []}, _config("t1"))
        out = await graph.ainvoke({"steps": ["again"]}, _config("t1"))
        assert out["steps"] == ["a", "b", "again", "a", "b"]
        history = [item async for item in saver.alist(_config("t1"))]
        assert len(history) >= 6
        await saver.adelete_thread("t2")  # a thread with nothing: no error

    import aiosqlite

    async with aiosqlite.connect(tmp_path / "graphdock.checkpoints.sqlite3") as conn:
        theirs = AsyncSqliteSaver(conn)
        state = await _graph().compile(checkpointer=theirs).aget_state(_config("t1"))
        assert state.values["steps"] == ["a", "b", "again", "a", "b"]
        assert len([item async for item in theirs.alist(_config("t1"))]) == len(history)


def test_writes_between_the_items_of_a_listing_do_not_wait_for_it(tmp_path: Path) -> None:
    """A listing must not hold the saver's lock across an await: the write below runs on the same
    thread, and would wait for that lock forever. So the scenario runs on a loop of its own in a
    thread, which must end."""
    seen: list[int] = []

    async def scenario() -> None:
        async with open_saver(f"sqlite:///{tmp_path / 'graphdock.sqlite3'}") as saver:
            graph = _graph().compile(checkpointer=saver)
            await graph.ainvoke({"steps": []}, _config("listed"))
            async for _ in saver.alist(_config("listed")):
                seen.append(1)
                await graph.ainvoke({"steps": []}, _config(f"other-{len(seen)}"))

    runner = threading.Thread(target=asyncio.run, args=(scenario(),), daemon=True)
    runner.start()
    runner.join(30)
    assert not runner.is_alive(), "a write waited for the listing's lock"
    assert len(seen) >= 3


async def test_a_sync_caller_in_another_thread_shares_the_saver(tmp_path: Path) -> None:
    """A sync node that invokes a graph with the same saver runs in LangGraph's executor thread."""
    async with open_saver(f"sqlite:///{tmp_path / 'graphdock.sqlite3'}") as saver:
        graph = _graph().compile(checkpointer=saver)
        done: list[Any] = []
        worker = threading.Thread(target=lambda: done.append(graph.invoke({"steps": []}, _config("sync"))))
        worker.start()
        await graph.ainvoke({"steps": []}, _config("async"))
        await asyncio.to_thread(worker.join, 30)
        assert done == [{"steps": ["a", "b"]}]
        assert (await graph.aget_state(_config("sync"))).values["steps"] == ["a", "b"]

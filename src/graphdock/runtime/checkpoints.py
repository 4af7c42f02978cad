"""Checkpoints: LangGraph's own savers, and thread copy, prune and rollback on top of them.

SQLite uses langgraph-checkpoint-sqlite in a file beside the database (its own file, so its
writer never waits on ours), run on the event loop's thread (sqlite_saver.py); PostgreSQL uses
langgraph-checkpoint-postgres in the same database.
Copy, prune and "delete what one run wrote" go through a saver's own method when it has one and
are otherwise rebuilt from its public list/put API: never by writing its tables behind its back.
"""

from __future__ import annotations

import asyncio
import select
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple

from graphdock.runtime.sqlite_saver import LoopSqliteSaver, open_loop_saver

if TYPE_CHECKING:
    from psycopg import AsyncConnection

Saver = BaseCheckpointSaver[Any]

# The advisory lock key LangGraph's tables' setup (saver and store) runs under ("graphdock" as an integer).
SETUP_LOCK = 0x6772617068646F63


def checkpoint_path(database_path: Path) -> Path:
    """`data/graphdock.sqlite3` → `data/graphdock.checkpoints.sqlite3`."""
    return database_path.with_name(f"{database_path.stem}.checkpoints{database_path.suffix or '.sqlite3'}")


@asynccontextmanager
async def open_saver(database_url: str) -> AsyncIterator[Saver]:
    if database_url.startswith("sqlite:///"):
        path = checkpoint_path(Path(database_url.removeprefix("sqlite:///")))
        path.parent.mkdir(parents=True, exist_ok=True)
        with open_loop_saver(path) as saver:
            yield saver
        return

    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    async with AsyncConnectionPool(
        url,
        min_size=1,
        max_size=8,
        open=False,
        kwargs={"autocommit": True, "prepare_threshold": None, "row_factory": dict_row},
        check=closed_by_server,
    ) as pool:
        pg_saver = AsyncPostgresSaver(pool)
        # The saver's setup is not safe to run twice at once (both insert its migration rows), so
        # replicas starting together take turns under an advisory lock. They poll for it rather
        # than block in pg_advisory_lock: a blocked statement keeps its snapshot, and the setup's
        # CREATE INDEX CONCURRENTLY waits until every older snapshot is gone, so the holder and
        # the waiters would wait for each other forever (PostgreSQL does not see that deadlock).
        async with pool.connection() as conn:
            await advisory_lock(conn, SETUP_LOCK)
            try:
                await pg_saver.setup()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))
        yield pg_saver


async def closed_by_server(conn: AsyncConnection[Any]) -> None:
    """The pools' check as a connection leaves them, free in the usual case.

    After PostgreSQL restarted or failed over, every pooled connection is dead, and the saver and
    the store run inside graphs: one handed out dead would fail that run. An idle connection has
    nothing to read unless the server wrote to it (its "terminating connection" and the close),
    so only a readable one is pinged (psycopg_pool's own check, a round trip), and the pool
    replaces it when that fails. Pinging every connection would cost a round trip per checkout,
    seven per run on a thread."""
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        from psycopg_pool import AsyncConnectionPool

        await AsyncConnectionPool.check_connection(conn)


async def advisory_lock(conn: Any, key: int) -> None:
    """pg_advisory_lock without blocking inside a statement (see open_saver)."""
    while True:
        row = await (await conn.execute("SELECT pg_try_advisory_lock(%s) AS locked", (key,))).fetchone()
        if row["locked"]:
            return
        await asyncio.sleep(0.05)


async def discard_thread(saver: Saver, thread_id: str, *, written: bool) -> None:
    """A stateless run's checkpoints, once its answer is out. Its graph ran without graphdock's
    checkpointer, so unless it was compiled with one of its own (`written`; that one may keep its
    checkpoints in graphdock's tables, a PostgresSaver on the same database) it wrote none here, and
    PostgreSQL's saver is not asked (a pool checkout and a round trip of three DELETEs, ~0.4 ms of
    CPU a run). SQLite's still is: on the loop's thread (sqlite_saver.py) it costs tens of
    microseconds, and it also takes what a client may have written to the thread meanwhile."""
    if written or isinstance(saver, LoopSqliteSaver):
        await saver.adelete_thread(thread_id)


async def copy_thread(saver: Saver, source: str, target: str) -> None:
    try:
        await saver.acopy_thread(source, target)
        return
    except NotImplementedError:
        pass
    for item in await _all(saver, source):
        await _put(saver, target, item)


async def prune_threads(
    saver: Saver, thread_ids: Sequence[str], strategy: Literal["delete", "keep_latest"]
) -> None:
    if strategy == "delete":
        for thread_id in thread_ids:
            await saver.adelete_thread(thread_id)
        return
    try:
        await saver.aprune(thread_ids, strategy=strategy)
        return
    except NotImplementedError:
        pass
    for thread_id in thread_ids:
        items = await _all(saver, thread_id)
        latest: dict[str, CheckpointTuple] = {}
        for item in items:  # oldest first: the last one seen per namespace is the latest
            latest[item.config["configurable"].get("checkpoint_ns", "")] = item
        await saver.adelete_thread(thread_id)
        for item in latest.values():
            await _put(saver, thread_id, item, parent=False)


async def forget_run(saver: Saver, thread_id: str, run_id: str) -> None:
    """Remove the checkpoints one run wrote (a rollback), leaving the thread as it was before it."""
    try:
        await saver.adelete_for_runs([run_id])
        return
    except NotImplementedError:
        pass
    items = await _all(saver, thread_id)
    keep = [i for i in items if (i.metadata or {}).get("run_id") != run_id]
    if len(keep) == len(items):
        return
    await saver.adelete_thread(thread_id)
    for item in keep:
        await _put(saver, thread_id, item)


async def _all(saver: Saver, thread_id: str) -> list[CheckpointTuple]:
    """Every checkpoint of a thread in every namespace, oldest first."""
    items = [item async for item in saver.alist({"configurable": {"thread_id": thread_id}})]
    items.sort(key=lambda i: i.checkpoint["id"])  # uuid6 ids sort in time order
    return items


async def _put(saver: Saver, thread_id: str, item: CheckpointTuple, *, parent: bool = True) -> None:
    ns = item.config["configurable"].get("checkpoint_ns", "")
    parent_id = (item.parent_config or {}).get("configurable", {}).get("checkpoint_id") if parent else None
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}
    if parent_id:
        config["configurable"]["checkpoint_id"] = parent_id
    # new_versions = every channel: savers that store channel blobs apart (Postgres) need them all.
    saved = await saver.aput(
        config,  # type: ignore[arg-type]
        item.checkpoint,
        item.metadata,
        dict(item.checkpoint["channel_versions"]),
    )
    writes: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for task_id, channel, value in item.pending_writes or []:
        writes[task_id].append((channel, value))
    for task_id, task_writes in writes.items():
        await saver.aput_writes(saved, task_writes, task_id)

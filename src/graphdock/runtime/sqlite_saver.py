"""LangGraph's SQLite saver with its async methods run on the event loop's thread.

langgraph-checkpoint-sqlite's AsyncSqliteSaver goes through aiosqlite, which hands every call to a
thread of its own: a checkpoint write is four to six thread hops (cursor, execute, commit, close),
each a wake-up of another thread and a GIL hand-over. Its statements are the same short indexed
writes as graphdock's own (storage/sqlite/store.py), which run on the loop for that reason: a hop
costs more than the statement. So this is the sync SqliteSaver (the same tables, the same
statements) answering the async API directly.

Its lock is a plain threading.Lock, taken only for the length of one call: `alist` reads its
page whole before yielding, because a generator that held the lock across an await would
deadlock the next call on the same thread. Sync callers in other threads (a sync node invoking a
subgraph) take the same lock, as SqliteSaver is built for.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.sqlite import SqliteSaver

from graphdock.sqlite_wal import WalCheckpointer


class LoopSqliteSaver(SqliteSaver):
    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        for item in list(self.list(config, filter=filter, before=before, limit=limit)):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return self.get_delta_channel_history(config=config, channels=channels)


@contextmanager
def open_loop_saver(path: Path) -> Iterator[LoopSqliteSaver]:
    """The saver on its own file; WAL + NORMAL as for the main database: a checkpoint survives
    SIGKILL of this process (not a power cut between a commit and the next WAL sync)."""
    # The driver's implicit transactions, as SqliteSaver expects (it commits through conn.commit()).
    conn = sqlite3.connect(path, check_same_thread=False)
    # A run on a thread writes a checkpoint per step: their WAL is checkpointed off the loop too.
    checkpoints = WalCheckpointer(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        saver = LoopSqliteSaver(conn)
        saver.setup()
        checkpoints.start(conn)
        yield saver
    finally:
        checkpoints.stop()
        conn.close()

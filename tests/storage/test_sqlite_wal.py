"""SQLite's WAL is checkpointed by a thread of its own (graphdock/sqlite_wal.py), not by the commits
the event loop makes: what the WAL index says was copied into the database file shows it."""

from __future__ import annotations

import asyncio
import struct
import threading
from pathlib import Path

from graphdock.storage import storage_for
from graphdock.storage.records import Snapshot

# The WAL index (the -shm file) in native byte order: its header's mxFrame (the last valid frame)
# at byte 16, and the checkpoint's nBackfill (frames copied into the database file) at byte 96.
_MX_FRAME, _BACKFILL = 16, 96


def _frames(database: Path) -> tuple[int, int]:
    shm = database.with_name(database.name + "-shm").read_bytes()
    (last,) = struct.unpack_from("=I", shm, _MX_FRAME)
    (copied,) = struct.unpack_from("=I", shm, _BACKFILL)
    return last, copied


async def test_writes_reach_the_database_file_without_a_commit_checkpointing(tmp_path: Path) -> None:
    database = tmp_path / "g.sqlite3"
    storage = storage_for(f"sqlite:///{database}")
    await storage.open()
    try:
        for n in range(20):  # a few dozen pages: far below any automatic checkpoint's threshold
            await storage.create_assistant(
                f"00000000-0000-4000-8000-{n:012d}", Snapshot("agent", {}, {}, {}, f"a{n}", None), "raise"
            )
        for _ in range(200):  # 10 s at most
            last, copied = _frames(database)
            if 0 < last == copied:
                break
            await asyncio.sleep(0.05)
        assert last > 0
        assert copied == last, f"{copied} of the WAL's {last} frames were copied"
    finally:
        await storage.close()
    # The checkpoint thread's connection was closed first: the serving one, the last, removed the WAL.
    assert not database.with_name(database.name + "-wal").exists()
    # Its thread is gone too (named after its file: other tests' servers may still run theirs).
    assert [t.name for t in threading.enumerate() if t.name.endswith(str(database))] == []

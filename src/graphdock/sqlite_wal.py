"""SQLite's WAL checkpoints on a thread of their own, off the event loop's.

In WAL mode with `synchronous=NORMAL` a commit only appends pages to the WAL; the disk work is the
checkpoint, which copies them into the database file and syncs both files. SQLite runs it by
default inside the commit that takes the WAL past 1,000 pages, so every few hundred writes one
request waited on two fsyncs, on the thread that serves every other request too, and a page
written many times between checkpoints was copied every time it crossed one.

Here a thread with its own connection runs a PASSIVE checkpoint a few times a second (PASSIVE
never waits for, nor blocks, the writer or a reader). The serving connection keeps an automatic
checkpoint only as a backstop, far beyond what the thread lets the WAL reach: should the thread
fall behind (a reader holding an old snapshot), the WAL still stays bounded. The sqlite3 driver
releases the GIL while SQLite works, so the copy runs beside the loop on the other core.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import structlog

log = structlog.get_logger("graphdock.storage")

# Seconds between two checkpoints. One that finds nothing new reads the WAL index and returns.
INTERVAL = 0.2
# Pages the WAL may hold before the serving connection checkpoints by itself (SQLite's own
# default is 1,000; at ~10 pages a write the thread's interval keeps it far below this).
BACKSTOP_PAGES = 20_000


class WalCheckpointer:
    """Checkpoints `path`'s WAL until `stop`; `start` sets the serving connection's backstop."""

    def __init__(self, path: Path, *, interval: float = INTERVAL) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, serving: sqlite3.Connection) -> None:
        serving.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        # Connected here, so a file that cannot be opened fails the caller's start, not the thread.
        conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        self._thread = threading.Thread(
            target=self._run, args=(conn,), name=f"sqlite-checkpoint:{self._path}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Returns once the thread's connection is closed (before the serving one closes, whose
        close then finds itself the last and checkpoints and removes the WAL, as before)."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None

    def _run(self, conn: sqlite3.Connection) -> None:
        failing = False
        try:
            while not self._stop.wait(self._interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    failing = False
                except sqlite3.Error:
                    # A full disk, say: the serving connection reports its own errors, and its
                    # backstop checkpoints once the cause is gone. Logged once, never fatal here.
                    if not failing:
                        log.warning("sqlite.checkpoint_failed", path=str(self._path), exc_info=True)
                    failing = True
        finally:
            conn.close()

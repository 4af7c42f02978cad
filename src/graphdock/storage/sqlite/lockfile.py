"""Locks on a file beside the SQLite database that the kernel releases when their holder dies.

SQLite's own locks last one transaction; what must last longer (a migration run, a server's whole
life) is an `flock` on a sibling file. A process killed with SIGKILL leaves the file behind but
never the lock, so nothing ever needs breaking by hand.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog

log = structlog.get_logger("graphdock.storage")


def sibling(database: Path, purpose: str) -> Path:
    return database.with_name(f"{database.name}.{purpose}.lock")


class LockHeld(Exception):
    """Another live process holds the lock."""


class FileLock:
    """An exclusive flock held until `release` (or the process ends)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, *, wait: bool) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    raise LockHeld(str(self.path)) from None
                log.info("storage.lock_wait", lock=str(self.path), hint="another process holds it")
                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


@contextmanager
def held(path: Path) -> Iterator[None]:
    """Wait for the lock, hold it for the block."""
    lock = FileLock(path)
    lock.acquire(wait=True)
    try:
        yield
    finally:
        lock.release()

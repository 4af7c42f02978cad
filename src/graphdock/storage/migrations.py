"""Numbered migrations, each applied atomically with its record, under a lock its holder's death frees.

yoyo reads the numbered files and keeps the bookkeeping tables (`_yoyo_migration`, by migration
id), but two of its habits break a first start that is killed (SIGKILL, OOM, a pod evicted):

- it applies a migration on one connection and records it on another, so a kill in between leaves
  the tables without the record, and every later start fails ("table threads already exists");
- its lock is a row in `yoyo_lock`: a killed holder leaves it behind, every later start waits 10 s
  and fails, and the advice it prints (`yoyo break-lock`) would also break a live migration.

So each backend takes a lock that cannot outlive its holder (PostgreSQL: a session advisory lock,
dropped with the connection; SQLite: an flock on a file beside the database, dropped by the kernel
with the process) and calls `apply_pending`, which writes each migration and its record in one
transaction on one connection. yoyo's own row lock is never taken.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yoyo


def apply_pending(backend: Any, folder: Path) -> list[str]:
    """Apply what is not yet recorded, in order; the caller holds the backend's migration lock.
    Returns the ids applied."""
    # yoyo's re-entrancy flag: with it set, `backend.lock()` (which yoyo takes itself to upgrade
    # its internal tables) yields at once instead of writing a row a kill would strand.
    backend._is_locked = True
    backend.ensure_internal_schema_updated()
    applied: list[str] = []
    for migration in backend.to_apply(yoyo.read_migrations(str(folder))):
        with backend.transaction():
            # Inside an open transaction yoyo runs the steps under a savepoint of it.
            migration.process_steps(backend, "apply")
            backend.mark_one(migration, log=False)
            backend.log_migration(migration, "apply")
        applied.append(migration.id)
    return applied

"""Write transactions in psycopg's pipeline mode: a transaction's statements in as few round trips as its reads allow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg


@asynccontextmanager
async def pipelined(c: psycopg.AsyncConnection[Any]) -> AsyncIterator[None]:
    """A write transaction in pipeline mode: BEGIN travels with the first statement and COMMIT
    with the last, and statements whose results are not read in between share a round trip (a
    fetch waits for its result; read rowcount only after the block). BEGIN and COMMIT are sent
    as statements: psycopg's transaction() adds a Sync, so a round trip, at each end. A server
    error surfaces at the next fetch or at the end of the block, inside the caller's `_read`."""
    try:
        async with c.pipeline():
            await c.execute("BEGIN")
            yield
            await c.execute("COMMIT")
    except BaseException:
        await c.rollback()  # nothing when the transaction never began or already ended
        raise

"""Heartbeats: bytes sent while a run is silent, so that proxies with idle timeouts keep the request.

As on the official server: `runs.wait` and `join` bodies get a newline every `heartbeat_seconds`
while the run has not ended (JSON parsers skip leading whitespace, so the body still parses), and
SSE streams get a `: heartbeat` comment line (clients ignore comments). A run that ends before the
first heartbeat is due is answered as a plain JSON response.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from graphdock.api.endpoints import JSONResponse

T = TypeVar("T")

SSE_HEARTBEAT = b": heartbeat\n\n"


def interval(request: Request) -> float:
    seconds: float = request.app.state.settings.heartbeat_seconds
    return seconds


async def waiting_json(result: Coroutine[Any, Any, Any], seconds: float, headers: dict[str, str]) -> Response:
    """The result's JSON; if it takes longer than `seconds`, streamed after a newline per interval."""
    task = asyncio.ensure_future(result)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except BaseException:
        task.cancel()
        raise
    if done:
        return JSONResponse(task.result(), headers=headers)

    async def body() -> AsyncIterator[bytes]:
        try:
            while True:
                finished, _ = await asyncio.wait({task}, timeout=seconds)
                if finished:
                    yield orjson.dumps(task.result())
                    return
                yield b"\n"
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    return StreamingResponse(body(), media_type="application/json", headers=headers)


async def with_heartbeats(items: AsyncIterator[T], seconds: float) -> AsyncIterator[T | None]:
    """The items, and None whenever `seconds` pass without one (the caller sends a heartbeat)."""
    pending: asyncio.Future[T] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(items))
            done, _ = await asyncio.wait({pending}, timeout=seconds)
            if not done:
                yield None
                continue
            finished, pending = pending, None
            try:
                item = finished.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                await pending

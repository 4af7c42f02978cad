"""A webhook receiver on a real socket: records every POST (with when it came); `/fail-once…`
answers 500 the first time, `/fail-always…` every time, `/redirect…` 307 to `/redirected`, `/slow…`
answers only once the test calls `release()`, anything else 200."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int
    at: float  # time.monotonic() on arrival


@dataclass
class Receiver:
    url: str
    deliveries: list[Delivery] = field(default_factory=list)
    # Paths whose (slow) answer has been sent.
    answered: set[str] = field(default_factory=set)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()

    def to(self, path: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.path == path]

    async def until(self, path: str, count: int = 1, seconds: float = 60) -> list[Delivery]:
        """The deliveries to `path` once there are `count` of them (polled, generous deadline)."""
        deadline = time.monotonic() + seconds
        while len(self.to(path)) < count:
            assert time.monotonic() < deadline, f"{path}: {len(self.to(path))} deliveries, not {count}"
            await asyncio.sleep(0.05)
        return self.to(path)


@contextmanager
def receiver() -> Iterator[Receiver]:
    lock = threading.Lock()
    state = Receiver(url="")
    failed: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
            with lock:
                first = self.path not in failed
                if self.path.startswith("/fail-always") or (self.path.startswith("/fail-once") and first):
                    status = 500
                elif self.path.startswith("/redirect") and not self.path.startswith("/redirected"):
                    status = 307  # a client that followed it would POST the same body again
                else:
                    status = 200
                failed.add(self.path)
                state.deliveries.append(
                    Delivery(self.path, dict(self.headers), body, status, time.monotonic())
                )
            if self.path.startswith("/slow"):
                state.released.wait(60)
            self.send_response(status)
            if status == 307:
                self.send_header("Location", f"{state.url}/redirected")
            self.end_headers()
            with lock:
                state.answered.add(self.path)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release()
        server.shutdown()
        server.server_close()

"""A lean HTTP/1.1 keep-alive client for load generation (and an httpx twin with the same interface)."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    content: bytes
    # perf_counter() when the first chunk of a chunked body arrived (RawClient only): for a
    # server-sent event stream, the moment the client had its first event.
    first_chunk_at: float | None = None

    def json(self) -> Any:
        return orjson.loads(self.content)


class RequestFailed(Exception):
    """A non-2xx answer; the load loop counts it as an error under `HTTP <status>`."""

    def __init__(self, method: str, path: str, response: Response) -> None:
        self.status = response.status
        self.body = response.content[:300].decode("utf-8", "replace")
        super().__init__(f"{method} {path} -> {response.status}: {self.body}")


class Client(Protocol):
    async def request(self, method: str, path: str, body: Any = None) -> Response: ...

    async def close_idle(self) -> None: ...

    async def aclose(self) -> None: ...


async def call(client: Client, method: str, path: str, body: Any = None) -> Response:
    """One request that must succeed: anything outside 2xx raises RequestFailed."""
    response = await client.request(method, path, body)
    if not 200 <= response.status < 300:
        raise RequestFailed(method, path, response)
    return response


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.reusable = True

    async def exchange(self, head: bytes, body: bytes) -> Response:
        self.writer.write(head + body if body else head)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw[:-4].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        first_chunk_at = None
        if "content-length" in headers:
            content = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            content, first_chunk_at = await self._read_chunked()
        elif status in (204, 304) or 100 <= status < 200:
            content = b""
        else:  # body delimited by the connection closing
            content = await self.reader.read()
            self.reusable = False
        if headers.get("connection", "").lower() == "close":
            self.reusable = False
        return Response(status, headers, content, first_chunk_at)

    async def _read_chunked(self) -> tuple[bytes, float | None]:
        parts: list[bytes] = []
        first_at = None
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                await self._skip_trailers()
                return b"".join(parts), first_at
            parts.append(await self.reader.readexactly(size))
            first_at = first_at or time.perf_counter()
            await self.reader.readexactly(2)

    async def _skip_trailers(self) -> None:
        while (await self.reader.readuntil(b"\r\n")) != b"\r\n":
            pass

    def close(self) -> None:
        self.writer.close()


class RawClient:
    """HTTP/1.1 over asyncio streams, one keep-alive connection per in-flight request.

    It does a fraction of httpx's per-request work (no URL model, no header objects, no
    middleware), which matters when the load generator shares two cores with the server.
    """

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._timeout = timeout
        self._idle: list[_Connection] = []
        self._host_header = f"Host: {self._host}:{self._port}\r\n"

    async def _connect(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self._host, self._port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Connection(reader, writer)

    async def request(self, method: str, path: str, body: Any = None) -> Response:
        payload = b"" if body is None else orjson.dumps(body)
        head = f"{method} {path} HTTP/1.1\r\n{self._host_header}"
        if body is not None or method in ("POST", "PATCH", "PUT"):
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        encoded = (head + "\r\n").encode("latin-1")
        reused = bool(self._idle)
        conn = self._idle.pop() if reused else await self._connect()
        try:
            response = await asyncio.wait_for(conn.exchange(encoded, payload), self._timeout)
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as exc:
            conn.close()
            # A reused connection the server had already closed (keep-alive timeout) fails before
            # any byte of an answer arrives; retry that once on a fresh connection, as browsers do.
            nothing_read = not isinstance(exc, asyncio.IncompleteReadError) or not exc.partial
            if not (reused and nothing_read):
                raise
            conn = await self._connect()
            response = await asyncio.wait_for(conn.exchange(encoded, payload), self._timeout)
        except BaseException:
            conn.close()
            raise
        if conn.reusable:
            self._idle.append(conn)
        else:
            conn.close()
        return response

    async def close_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    async def aclose(self) -> None:
        await self.close_idle()


class HttpxClient:
    """The same interface over httpx.AsyncClient, to cross-check RawClient's figures."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        import httpx

        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits)

    async def request(self, method: str, path: str, body: Any = None) -> Response:
        content = None if body is None else orjson.dumps(body)
        headers = {"content-type": "application/json"} if content is not None else None
        r = await self._client.request(method, path, content=content, headers=headers)
        return Response(r.status_code, dict(r.headers), r.content)

    async def close_idle(self) -> None:
        pass  # httpx retires connections the server closed by itself

    async def aclose(self) -> None:
        await self._client.aclose()


class RoundRobinClient:
    """Requests spread over several replicas in turn, as a load balancer in front of them would."""

    def __init__(self, clients: list[Client]) -> None:
        self._clients = clients
        self._next = 0

    async def request(self, method: str, path: str, body: Any = None) -> Response:
        client = self._clients[self._next]
        self._next = (self._next + 1) % len(self._clients)
        return await client.request(method, path, body)

    async def close_idle(self) -> None:
        for client in self._clients:
            await client.close_idle()

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


def make_client(kind: str, base_url: str, timeout: float = 30.0) -> Client:
    """`timeout` bounds each request (seconds); a request that exceeds it raises TimeoutError.
    `base_url` may list several replicas, comma-separated: requests go to each in turn."""
    if "," in base_url:
        return RoundRobinClient([make_client(kind, url, timeout) for url in base_url.split(",")])
    if kind == "raw":
        return RawClient(base_url, timeout)
    if kind == "httpx":
        return HttpxClient(base_url, timeout)
    raise ValueError(f"unknown client {kind!r} (raw, httpx)")

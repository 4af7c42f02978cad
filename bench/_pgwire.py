"""A counting TCP proxy for PostgreSQL's wire protocol: exact round trips, statements, transactions.

The server under test connects through it (its --database-url names the proxy's port); the proxy
forwards every byte unchanged and reads the messages as they pass:

- a **round trip** is one point where the client stops to wait for PostgreSQL: a simple `Query`
  ('Q'), a `Sync` ('S') or a `Flush` ('H'), consecutive Syncs and Flushes counting once (psycopg
  ends a pipeline with both). Without pipelining that is one per statement; in pipeline mode
  the statements sent before a Sync or Flush share one. Counted from the messages, not from
  timing, so the same requests always give the same count;
- a **statement** is one `Execute` ('E') or one simple `Query`;
- a **transaction** ends when a `ReadyForQuery` reports the session idle ('I') after it was in a
  block ('T'/'E': a COMMIT or ROLLBACK), or after a statement that ran outside any block
  (autocommit). psycopg's prepare-only round trip (Parse, Sync) is not a transaction.

Counting at the wire needs nothing of the PostgreSQL server (no pg_stat_statements preload, no
shared log), sees every statement the server's pools send (storage and checkpointer alike), and
counts round trips, which a statement log cannot: one round trip may carry several statements.
The connection must not use TLS (`sslmode=disable`), or the messages could not be read.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

_SSL_OR_GSS = (80877103, 80877104)  # request codes the server answers with one byte, before startup


@dataclass(frozen=True, slots=True)
class Tally:
    round_trips: int = 0
    statements: int = 0
    transactions: int = 0

    def __sub__(self, other: Tally) -> Tally:
        return Tally(
            self.round_trips - other.round_trips,
            self.statements - other.statements,
            self.transactions - other.transactions,
        )


@dataclass
class _Session:
    """What one client connection has said so far."""

    prepared: dict[str, str] = field(default_factory=dict)  # statement name -> its SQL
    bound: str = ""  # the SQL of the statement the next Execute runs
    parsed_only: str | None = None  # a Parse not (yet) followed by a Bind: a prepare-only request
    executed: bool = False  # a statement ran since the last ReadyForQuery
    status: bytes = b"I"
    last: bytes = b""  # the kind of the client's previous message


class WireCounter:
    """Listens on `port` (0: any free one) and forwards to PostgreSQL at `upstream`."""

    def __init__(self, upstream: tuple[str, int], port: int = 0) -> None:
        self._upstream = upstream
        self._port = port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.round_trips = 0
        self.statements = 0
        self.transactions = 0
        self.last_activity = time.monotonic()
        # Every statement's SQL as it was executed, and "[prepare] <SQL>" for a round trip that
        # only prepared one (psycopg prepares a statement on its sixth use on a connection).
        self.log: list[str] = []

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def tally(self) -> Tally:
        return Tally(self.round_trips, self.statements, self.transactions)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self._port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def quiet(self, seconds: float) -> None:
        """Return once no byte has passed for `seconds` (work after a response has landed)."""
        # Polled, not signalled: traffic only ever postpones the moment, never brings it forward.
        while (idle := time.monotonic() - self.last_activity) < seconds:  # noqa: ASYNC110
            await asyncio.sleep(seconds - idle)

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self._upstream)
        except OSError:
            client_w.close()
            return
        session = _Session()
        up = asyncio.create_task(self._pump(client_r, server_w, self._client_messages(session)))
        down = asyncio.create_task(self._pump(server_r, client_w, self._server_messages(session)))
        self._tasks |= {up, down}
        await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        for task in (up, down):
            task.cancel()
        await asyncio.gather(up, down, return_exceptions=True)
        self._tasks -= {up, down}
        for writer in (client_w, server_w):
            writer.close()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        parse: Callable[[bytes], None],
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                self.last_activity = time.monotonic()
                parse(chunk)
                writer.write(chunk)
                await writer.drain()

    def _client_messages(self, session: _Session) -> Callable[[bytes], None]:
        buffer = bytearray()
        started = False

        def feed(chunk: bytes) -> None:
            nonlocal started
            buffer.extend(chunk)
            while True:
                if not started:  # untyped: length, then a request code or the protocol version
                    if len(buffer) < 8:
                        return
                    (length,) = struct.unpack_from("!i", buffer, 0)
                    if len(buffer) < length:
                        return
                    (code,) = struct.unpack_from("!i", buffer, 4)
                    started = code not in _SSL_OR_GSS
                    del buffer[:length]
                    continue
                if len(buffer) < 5:
                    return
                (length,) = struct.unpack_from("!i", buffer, 1)
                if len(buffer) < 1 + length:
                    return
                kind, body = bytes(buffer[0:1]), bytes(buffer[5 : 1 + length])
                del buffer[: 1 + length]
                self._client_message(session, kind, body)

        return feed

    def _client_message(self, session: _Session, kind: bytes, body: bytes) -> None:
        waits = kind == b"Q" or (kind in (b"S", b"H") and session.last not in (b"S", b"H"))
        self.round_trips += waits
        session.last = kind
        if kind == b"Q":
            self.statements += 1
            session.executed = True
            self.log.append(_cstring(body, 0)[0])
        elif kind == b"P":
            name, end = _cstring(body, 0)
            session.prepared[name] = session.bound = session.parsed_only = _cstring(body, end)[0]
        elif kind == b"B":
            session.parsed_only = None
            _portal, end = _cstring(body, 0)
            session.bound = session.prepared.get(_cstring(body, end)[0], "?")
        elif kind == b"E":
            self.statements += 1
            session.executed = True
            self.log.append(session.bound)
        elif kind == b"S" and session.parsed_only is not None:
            self.log.append(f"[prepare] {session.parsed_only}")
            session.parsed_only = None

    def _server_messages(self, session: _Session) -> Callable[[bytes], None]:
        buffer = bytearray()

        def feed(chunk: bytes) -> None:
            buffer.extend(chunk)
            while len(buffer) >= 5:
                (length,) = struct.unpack_from("!i", buffer, 1)
                if len(buffer) < 1 + length:
                    return
                if buffer[0:1] == b"Z":
                    status = bytes(buffer[5:6])
                    if status == b"I" and (session.status != b"I" or session.executed):
                        self.transactions += 1
                    session.status, session.executed = status, False
                del buffer[: 1 + length]

        return feed


def _cstring(body: bytes, start: int) -> tuple[str, int]:
    end = body.index(b"\0", start)
    return body[start:end].decode("utf-8", "replace"), end + 1

"""uvicorn's httptools protocol, with each response leaving in one socket write instead of two.

uvicorn writes a response's head when the app sends `http.response.start` and its body when the
app sends the body: two `send()` calls, and on loopback or a LAN each is a trip through the TCP
stack (a py-spy profile of `GET /assistants/{id}` under load put 38 % of the server's samples in
those two writes). An ASGI app sends both in one step of its task, so holding the writes of one
turn of the event loop and sending them together at the end of that turn (`call_soon`) joins
them, and delays nothing: a streamed response's head still leaves before the loop waits for
anything, and every later chunk leaves in the turn that produced it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _TurnBuffer:
    """The transport as the protocol sees it: writes of one loop turn are sent together."""

    __slots__ = ("_held", "_loop", "_transport", "raw")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.raw = self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)

    def flush(self) -> None:
        if not self._held:
            return
        held, self._held = self._held, []
        if self._transport.is_closing():
            return  # the peer is gone: there is no one to write to
        if len(held) == 1:
            self._transport.write(held[0])
        else:
            self._transport.writelines(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # everything else is the transport's own
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_TurnBuffer(transport, self.loop))  # type: ignore[arg-type]

    def handle_websocket_upgrade(self) -> None:
        # The WebSocket protocol takes the connection over with the real transport: its frames
        # are its own business, and it must not outlive this protocol's buffer.
        if isinstance(self.transport, _TurnBuffer):
            self.transport.flush()
            self.transport = self.transport.raw
        super().handle_websocket_upgrade()

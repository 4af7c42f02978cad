"""Each response leaves in one socket write (graphdock/http_protocol.py), and nothing waits for it.

Counted by the kernel, not by graphdock: Linux's TCP_INFO on the client's socket says how many
segments carrying data it received, and with TCP_NODELAY (uvicorn sets it) each `send()` of a
small response is one segment.
"""

from __future__ import annotations

import socket
import struct
import sys
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import RunningServer

# struct tcp_info (linux/tcp.h): tcpi_data_segs_in, a __u32 at byte 152 (Linux 4.6+).
_DATA_SEGS_IN = 152


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=30)


def _data_segments_in(sock: socket.socket) -> int:
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    if len(info) < _DATA_SEGS_IN + 4:
        pytest.skip("this kernel's TCP_INFO has no tcpi_data_segs_in")
    return int(struct.unpack_from("I", info, _DATA_SEGS_IN)[0])


def _response(sock: socket.socket, *, until_close: bool = False) -> bytes:
    """One whole response: head, then content-length bytes of body (or everything until EOF)."""
    data = b""
    while b"\r\n\r\n" not in data or until_close:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.mark.skipif(sys.platform != "linux", reason="TCP_INFO's segment counts are Linux's")
def test_a_response_leaves_in_one_segment(server: RunningServer) -> None:
    with _connect(server.url) as sock:
        for path in ("/ok", "/assistants/search", "/no/such/route"):
            method = "POST" if path == "/assistants/search" else "GET"
            body = b"{}" if method == "POST" else b""
            before = _data_segments_in(sock)
            sock.sendall(
                f"{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            response = _response(sock)
            assert response.startswith(b"HTTP/1.1 "), response
            # Two writes (head, then body) would be two segments.
            assert _data_segments_in(sock) - before == 1, (path, response[:200])


def test_a_response_to_connection_close_is_whole_before_the_close(server: RunningServer) -> None:
    with _connect(server.url) as sock:
        sock.sendall(b"GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        response = _response(sock, until_close=True)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"connection: close" in head.lower()
    assert body == b'{"ok":true}'


async def test_a_streamed_responses_head_arrives_while_its_run_still_runs(server: RunningServer) -> None:
    """The head is not held for the body: a stream's client sees it as the run starts."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": "slow", "input": {"delay": 0.5}, "stream_mode": "values"}
        async with http.stream("POST", f"/threads/{thread}/runs/stream", json=body) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            runs = (await http.get(f"/threads/{thread}/runs")).json()
            assert [run["status"] for run in runs] == ["running"]
            events = [line async for line in r.aiter_lines() if line.startswith("event: ")]
        assert events[0] == "event: metadata"
        assert events[-1] == "event: values"
        assert [run["status"] for run in (await http.get(f"/threads/{thread}/runs")).json()] == ["success"]

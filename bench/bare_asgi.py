"""The ceiling: a bare ASGI app answering every request with a static assistant-shaped JSON body.

Served by the same stack as graphdock (uvicorn, uvloop, httptools, no access log), it shows what
any Python server can do on this machine under the same load generator; graphdock's `get` is
reported as a fraction of it. It is plain uvicorn: two socket writes per response, where graphdock
makes one (src/graphdock/http_protocol.py). Run: python bench/bare_asgi.py --port N
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
import uvloop

BODY = (
    b'{"assistant_id":"6b2d9f4e-3c1a-4f7e-9a52-0c8d1e2f3a4b","graph_id":"agent","config":{"configurable":'
    b'{"model_name":"openai","system_prompt":"You are a helpful assistant."}},"context":{"model_name":"openai",'
    b'"system_prompt":"You are a helpful assistant."},"metadata":{"owner":"u3","n":3},"name":"bench 3",'
    b'"description":null,"version":1,"created_at":"2026-11-25T00:00:00.000000+00:00",'
    b'"updated_at":"2026-11-25T00:00:00.000000+00:00"}'
)
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    uvloop.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()

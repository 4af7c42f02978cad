"""The A2A routes: each assistant's agent card, and its JSON-RPC endpoint (see api/a2a_agents.py).

Cards are served where the a2a-sdk's client looks for them beside the agent's URL
(`/a2a/{assistant_id}/.well-known/agent-card.json`) and, as on the official server, at
`/.well-known/agent-card.json?assistant_id=`. Like every route but health and discovery, they
need credentials when auth is on, and show only assistants the caller may read.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from google.protobuf.json_format import MessageToDict
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from graphdock.api.assistants import service as assistants
from graphdock.api.auth import authorize
from graphdock.api.bodies import read_bytes
from graphdock.api.endpoints import JSONResponse
from graphdock.errors import InvalidRequest

AGENT = "/a2a/{assistant_id}"
_MODES = ["application/json", "text/plain"]


async def _card(request: Request) -> Response:
    raw = request.path_params.get("assistant_id") or request.query_params.get("assistant_id")
    if raw is None:
        raise InvalidRequest("assistant_id: required (/.well-known/agent-card.json?assistant_id=<uuid>)")
    try:
        assistant_id = str(uuid.UUID(raw))
    except ValueError:
        raise InvalidRequest(f"assistant_id: {raw!r} is not a valid UUID") from None
    visible = await authorize(request, "assistants", "read", {"assistant_id": uuid.UUID(assistant_id)})
    assistant = await assistants(request).get(assistant_id, visible=visible)
    snapshot = assistant.snapshot
    # root_path: http.mount_prefix (base_url leaves it out), or a client would post where nothing is.
    url = str(request.url.replace(path=f"{request.scope.get('root_path', '')}/a2a/{assistant_id}", query=""))
    description = snapshot.description or f"The {snapshot.name} assistant (graph {snapshot.graph_id})"
    card = AgentCard(
        name=snapshot.name,
        description=description,
        supported_interfaces=[AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")],
        # The assistant's active version: the card changes when the agent does.
        version=str(assistant.version),
        capabilities=AgentCapabilities(streaming=True, push_notifications=False),
        default_input_modes=_MODES,
        default_output_modes=_MODES,
        skills=[
            AgentSkill(
                id=f"{assistant_id}-main",
                name=snapshot.name,
                description=description,
                tags=["assistant", "langgraph", snapshot.graph_id],
            )
        ],
    )
    # `url` as well: A2A 0.3 clients read the endpoint there.
    return JSONResponse({**MessageToDict(card), "url": url})


async def _rpc(request: Request) -> Response:
    # Read here, within --max-body-bytes (the SDK would read any size), then handed on whole.
    raw = await read_bytes(request)

    async def replay() -> Message:
        return {"type": "http.request", "body": raw, "more_body": False}

    rpc: JsonRpcDispatcher = request.app.state.a2a
    return await rpc.handle_requests(Request(request.scope, replay))


class _ProtocolRoute:
    """An ASGI app for one A2A path: 404 while `http.disable_a2a` is set, 405 for other methods.

    An ASGI app rather than an endpoint, so that the route stays out of the OpenAPI route table
    (A2A is JSON-RPC described by its own specification, not by /openapi.json)."""

    def __init__(self, method: str, handler: Callable[[Request], Awaitable[Response]]) -> None:
        self.method = method
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["app"].state.a2a is None:
            response: Response = JSONResponse({"detail": "Not Found"}, status_code=404)
        elif scope["method"] not in (self.method, "HEAD" if self.method == "GET" else self.method):
            response = JSONResponse(
                {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": self.method}
            )
        else:
            response = await self.handler(Request(scope, receive))
        await response(scope, receive, send)


ROUTES = [
    Route(AGENT, _ProtocolRoute("POST", _rpc)),
    Route(f"{AGENT}/.well-known/agent-card.json", _ProtocolRoute("GET", _card)),
    Route("/.well-known/agent-card.json", _ProtocolRoute("GET", _card)),
]

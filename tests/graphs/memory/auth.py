"""Per-user memories as the LangGraph docs scope the store: every namespace a user sends is put
under their identity, so alice and bob can use the same namespaces and never see each other's
items. carol may read but not write."""

from __future__ import annotations

from typing import Any

from langgraph_sdk import Auth

TOKENS = {"token-alice": "alice", "token-bob": "bob", "token-carol": "carol"}

auth = Auth()


@auth.authenticate
async def authenticate(authorization: str | None) -> Auth.types.MinimalUserDict:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or token not in TOKENS:
        raise Auth.exceptions.HTTPException(status_code=401, detail="Unknown or missing bearer token")
    return {"identity": TOKENS[token]}


@auth.on.store
async def own_namespace(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> None:
    if ctx.action in ("put", "delete") and ctx.user.identity == "carol":
        raise Auth.exceptions.HTTPException(status_code=403, detail="carol may only read memories")
    namespace = tuple(value["namespace"]) if value.get("namespace") else ()
    if not namespace or namespace[0] != ctx.user.identity:
        namespace = (ctx.user.identity, *namespace)
    value["namespace"] = namespace

"""Shared assistants, private threads: everyone runs the team's assistants on threads of their own.

What GET /assistants/{id}/runs and run_stats must get right: an assistant anyone may read still has
runs on threads only their owners may see. carol sees only assistants she owns (others' are 404 to
her); dave may not search threads at all (403 from threads.search).
"""

from __future__ import annotations

from typing import Any

from langgraph_sdk import Auth

USERS = ("alice", "bob", "carol", "dave")

auth = Auth()


@auth.authenticate
async def authenticate(authorization: str | None) -> Auth.types.MinimalUserDict:
    scheme, _, token = (authorization or "").partition(" ")
    user = token.removeprefix("token-")
    if scheme.lower() != "bearer" or user not in USERS:
        raise Auth.exceptions.HTTPException(status_code=401, detail="Unknown or missing bearer token")
    return {"identity": user, "permissions": ["read", "write"]}


@auth.on.assistants
async def shared_assistants(
    ctx: Auth.types.AuthContext, value: dict[str, Any]
) -> Auth.types.FilterType | None:
    if ctx.action == "create" and isinstance(value.get("metadata"), dict):
        value["metadata"]["owner"] = ctx.user.identity
    return {"owner": "carol"} if ctx.user.identity == "carol" else None


@auth.on.threads
async def own_threads(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> Auth.types.FilterType:
    if ctx.user.identity == "dave" and ctx.action == "search":
        raise Auth.exceptions.HTTPException(status_code=403, detail="dave may not search threads")
    if ctx.action in ("create", "create_run") and isinstance(value.get("metadata"), dict):
        value["metadata"]["owner"] = ctx.user.identity
    return {"owner": ctx.user.identity}

"""Per-owner auth as the LangGraph docs write it: bearer tokens, an owner stamped on what a user
creates, and a filter on everything they read, update, delete, search or run.

carol is authenticated but lacks the "delete" permission: her deletes are refused with 403.
"""

from __future__ import annotations

from typing import Any

from langgraph_sdk import Auth

TOKENS = {
    "token-alice": ("alice", ["read", "write", "delete"]),
    "token-bob": ("bob", ["read", "write", "delete"]),
    "token-carol": ("carol", ["read", "write"]),
}

auth = Auth()


@auth.authenticate
async def authenticate(authorization: str | None) -> Auth.types.MinimalUserDict:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or token not in TOKENS:
        raise Auth.exceptions.HTTPException(status_code=401, detail="Unknown or missing bearer token")
    identity, permissions = TOKENS[token]
    return {"identity": identity, "permissions": permissions}


@auth.on
async def owner_only(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> Auth.types.FilterType:
    if ctx.action in ("create", "create_run") and isinstance(value.get("metadata"), dict):
        value["metadata"]["owner"] = ctx.user.identity
    return {"owner": ctx.user.identity}


@auth.on.assistants.delete
async def delete_needs_permission(
    ctx: Auth.types.AuthContext, value: dict[str, Any]
) -> Auth.types.FilterType:
    if "delete" not in ctx.permissions:
        raise Auth.exceptions.HTTPException(status_code=403, detail="You may not delete assistants")
    return {"owner": ctx.user.identity}

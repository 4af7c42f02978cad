"""Custom auth for the UI's sign-in test: bearer tokens only, one of them refused with a 403."""

from __future__ import annotations

from langgraph_sdk import Auth

auth = Auth()

EDITOR_TOKEN = "editor-token-1"
SUSPENDED_TOKEN = "suspended-token-1"


@auth.authenticate
async def authenticate(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Auth.exceptions.HTTPException(status_code=401, detail="Send a token as Authorization: Bearer")
    if token == SUSPENDED_TOKEN:
        # Known but refused: the UI shows this as an error, not as a sign-in form.
        raise Auth.exceptions.HTTPException(status_code=403, detail="This token is suspended")
    if token != EDITOR_TOKEN:
        raise Auth.exceptions.HTTPException(status_code=401, detail="Unknown token")
    return "editor"

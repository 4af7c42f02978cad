"""The one error tree: every failure a client can see is a GraphdockError with its HTTP status.

    GraphdockError (500)
    ├── InvalidRequest (422)          malformed or schema-violating input
    │   └── ConflictingInput (400)    contradictory fields (configurable together with context)
    ├── AuthError (401)              no or bad credentials; an auth handler may pick another status
    │   └── Forbidden (403)           an auth handler refused the action
    ├── NotFound (404)
    │   └── NoSuchInterrupt          an answer to an interrupt the thread is not waiting on
    ├── Conflict (409)
    │   └── NotInterrupted           an answer for a thread that waits on no interrupt
    ├── PreconditionFailed (412)   If-Match no longer names the active version
    ├── PayloadTooLarge (413)
    ├── Unavailable (503)         the database is busy or gone; retry
    ├── ConfigError (start-up only)   langgraph.json or a graph cannot be loaded
    │   └── GraphLoadError
    └── CommandError (CLI only)       export/import failed (server unreachable, refused)

The domain and storage raise these; the API layer turns them into `{"detail": ...}` responses
in one handler. Nothing else may reach the client except a bare 500 "Internal Server Error".
"""

from __future__ import annotations


class GraphdockError(Exception):
    status_code: int = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequest(GraphdockError):
    status_code = 422

    def __init__(self, detail: str, *, loc: tuple[str | int, ...] | None = None) -> None:
        super().__init__(detail)
        # Where the problem is, as data (["context", "model_name"]), so a client need not parse
        # `detail`; sent beside it in the body as `loc`, as FastAPI-style clients expect.
        self.loc = loc


class ConflictingInput(InvalidRequest):
    status_code = 400


class NotApplicable(InvalidRequest):
    """Well-formed, but the target is not in a state it applies to (a state update on a thread no
    run has used): 400, as on the official server."""

    status_code = 400


class AuthError(GraphdockError):
    """Authentication failed (401), or an auth handler raised its own HTTPException (any status)."""

    status_code = 401

    def __init__(self, detail: str, *, status_code: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        if status_code is not None:
            self.status_code = status_code
        self.headers = headers or {}


class Forbidden(AuthError):
    status_code = 403


class NotFound(GraphdockError):
    status_code = 404


class Conflict(GraphdockError):
    status_code = 409


class NoSuchInterrupt(NotFound):
    pass


class NotInterrupted(Conflict):
    pass


class PreconditionFailed(GraphdockError):
    """An If-Match named a version that is no longer the active one."""

    status_code = 412


class PayloadTooLarge(GraphdockError):
    status_code = 413


class ConfigError(GraphdockError):
    """Raised at start-up; the CLI prints it and exits instead of serving."""


class GraphLoadError(ConfigError):
    pass


class CommandError(GraphdockError):
    """A CLI command (export, import) could not do its job; the CLI prints it and exits 2."""


class Unavailable(GraphdockError):
    """The database is busy or unreachable; the client may retry."""

    status_code = 503

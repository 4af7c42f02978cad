"""The thread streaming session's commands (`run.start`, `input.respond`, …) and their envelopes.

A command is `{"id": <int>, "method": <str>, "params": {...}}`; its answer is always an envelope,
`{"type": "success", "id", "result", "meta"}` or `{"type": "error", "id", "error": <code>,
"message"}`, whatever went wrong (the SDKs raise the code and message). They arrive by
`POST /threads/{id}/commands` (api/thread_session.py) or as WebSocket frames.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection

from graphdock.api.bodies import parse_value
from graphdock.api.runs import start_run
from graphdock.api.threads import on_thread
from graphdock.domain.runs import Runs
from graphdock.domain.session_events import RUN_MODES
from graphdock.errors import GraphdockError, InvalidRequest, NoSuchInterrupt, NotFound, NotInterrupted
from graphdock.schemas.threads import RunCreate
from graphdock.storage.records import Json

# run.start's params that are RunCreate fields (others, such as langsmith_tracer, are not acted on).
_RUN_FIELDS = (
    *("input", "config", "context", "metadata", "multitask_strategy"),
    *("interrupt_before", "interrupt_after", "checkpoint", "checkpoint_id", "durability"),
)
# Commands of the protocol graphdock does not serve.
_UNSERVED = ("input.inject", "state.get", "state.listCheckpoints", "state.fork", "subscription.reconnect")
NO_INTERRUPTED_RUN = "No interrupted run is bound to this thread."


class CommandFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_command(payload: Any) -> bool:
    return (
        isinstance(payload, dict)
        and isinstance(payload.get("id"), int)
        and not isinstance(payload.get("id"), bool)
        and isinstance(payload.get("method"), str)
    )


def malformed(payload: Any) -> Json:
    wanted = payload.get("id") if isinstance(payload, dict) and isinstance(payload.get("id"), int) else None
    message = "Protocol commands must include an integer id and string method."
    return error(wanted, "invalid_argument", message)


def error(command_id: int | None, code: str, message: str) -> Json:
    return {"type": "error", "id": command_id, "error": code, "message": message}


async def run_command(conn: HTTPConnection, thread_id: str, command: Json, seq: int) -> Json:
    """The envelope answering one well-formed command (`seq`: the connection's last event's)."""
    method: str = command["method"]
    raw = command.get("params")
    params: Json = raw if isinstance(raw, dict) else {}
    try:
        if method == "run.start":
            result = await _start(conn, thread_id, params)
        elif method == "input.respond":
            result = await _respond(conn, thread_id, params)
        elif method in _UNSERVED:
            raise CommandFailed("not_supported", f"graphdock does not serve {method}")
        elif method == "agent.getTree" or method.startswith("subscription."):
            raise CommandFailed("no_such_run", "No run is bound to this connection.")
        else:
            raise CommandFailed("unknown_command", f"Unknown protocol command: {method}")
    except CommandFailed as exc:
        return error(command["id"], exc.code, exc.message)
    return {"type": "success", "id": command["id"], "result": result, "meta": {"applied_through_seq": seq}}


async def _start(conn: HTTPConnection, thread_id: str, params: Json) -> Json:
    assistant_id = params.get("assistant_id")
    if not isinstance(assistant_id, str) or not assistant_id:
        raise CommandFailed("invalid_argument", "run.start requires an assistant_id.")
    # The SDK mints the thread id and sends no if_not_exists: the first run creates the thread.
    body = {key: params[key] for key in _RUN_FIELDS if params.get(key) is not None}
    body |= {"assistant_id": assistant_id, "if_not_exists": "create"}
    return {"run_id": await _create(conn, thread_id, body)}


async def _respond(conn: HTTPConnection, thread_id: str, params: Json) -> Json:
    many = params.get("responses")
    entries: list[Any] = many if isinstance(many, list) else [params]
    resume: Json = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("interrupt_id"), str):
            raise CommandFailed(
                "invalid_argument", "input.respond requires an interrupt_id for each response."
            )
        resume[entry["interrupt_id"]] = entry.get("response")
    runs: Runs = conn.app.state.runs
    try:
        assistant_id = await runs.resuming(thread_id, list(resume), visible=await on_thread(conn, "read"))
    except NoSuchInterrupt as exc:
        raise CommandFailed("no_such_interrupt", exc.detail) from None
    except (NotFound, NotInterrupted):
        raise CommandFailed("no_such_run", NO_INTERRUPTED_RUN) from None
    except GraphdockError as exc:
        raise CommandFailed(*_failure(exc)) from None
    body = {key: params[key] for key in ("config", "metadata") if isinstance(params.get(key), dict)}
    body |= {"assistant_id": assistant_id, "command": {"resume": resume}}
    await _create(conn, thread_id, body)
    return {}


async def _create(conn: HTTPConnection, thread_id: str, body: Json) -> str:
    """Queue a session run: every stream mode the channels are made from, its events kept a while
    after its end so that a stream opened just after it still replays it."""
    body = {**body, "stream_mode": list(RUN_MODES), "stream_resumable": True}
    try:
        started = await start_run(conn, thread_id, parse_value(body, RunCreate))
    except InvalidRequest as exc:
        raise CommandFailed("invalid_argument", exc.detail) from None
    except GraphdockError as exc:
        raise CommandFailed(*_failure(exc)) from None
    return started.run.run_id


def _failure(exc: GraphdockError) -> tuple[str, str]:
    # As the official server words a refused run: "<status>: <detail>".
    code = "permission_denied" if exc.status_code in (401, 403) else "unknown_error"
    return code, f"{exc.status_code}: {exc.detail}"

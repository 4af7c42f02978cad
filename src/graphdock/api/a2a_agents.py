"""Assistants as Agent2Agent (A2A) agents: JSON-RPC at /a2a/{assistant_id}, served by the a2a-sdk.

The SDK parses and answers the protocol (v1.0 method names, and the v0.3 ones: message/send,
message/stream, tasks/get, tasks/cancel); this handler maps it onto graphdock's threads and runs:
a `contextId` is a thread (created on first use), a task is a run on it, with the id
"<context_id>:<run_id>" so `tasks/get` needs nothing else (as on the official server). Runs go
through the same path as `POST /threads/{id}/runs`, so auth applies as to the REST routes.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Awaitable
from typing import Any, TypeVar

import orjson
import structlog
from a2a.server.context import ServerCallContext
from a2a.server.events.event_queue import Event
from a2a.server.request_handlers.request_handler import RequestHandler
from a2a.server.routes.common import DefaultServerCallContextBuilder
from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from a2a.types import (
    AgentCard,
    Artifact,
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    ListTasksResponse,
    Message,
    Part,
    Role,
    SendMessageRequest,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from a2a.utils.errors import (
    A2AError,
    InternalError,
    InvalidParamsError,
    TaskNotFoundError,
    UnsupportedOperationError,
)
from google.protobuf.json_format import MessageToDict, ParseDict
from google.protobuf.struct_pb2 import Value
from starlette.requests import Request

from graphdock.api.assistants import service as assistants
from graphdock.api.auth import authorize
from graphdock.api.bodies import parse_value
from graphdock.api.runs import service as runs
from graphdock.api.runs import start_run
from graphdock.errors import GraphdockError, NotFound
from graphdock.schemas.threads import RunCreate
from graphdock.storage.threads import Run

log = structlog.get_logger("graphdock.a2a")
T = TypeVar("T")

_REQUEST = "graphdock.request"
_REPLY = "Assistant Response"
_AI = ("ai", "AIMessageChunk")


class _WithRequest(DefaultServerCallContextBuilder):
    """The SDK's call context, carrying the HTTP request (its app, its authenticated user)."""

    def build(self, request: Request) -> ServerCallContext:
        context = super().build(request)
        context.state[_REQUEST] = request
        return context


def dispatcher() -> JsonRpcDispatcher:
    return JsonRpcDispatcher(Agents(), context_builder=_WithRequest(), enable_v0_3_compat=True)


class Agents(RequestHandler):
    async def on_message_send(self, params: SendMessageRequest, context: ServerCallContext) -> Task | Message:
        request, assistant_id = _target(context)
        task, run, stream = await _guarded(_start(request, assistant_id, params.message))
        return _finished(task, await _guarded(runs(request).result(run, stream)))

    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncGenerator[Event]:
        request, assistant_id = _target(context)
        task, run, stream = await _guarded(_start(request, assistant_id, params.message, streaming=True))
        yield task
        yield _status(task, TaskState.TASK_STATE_WORKING)
        # The model's tokens as they come, appended to one artifact; the whole reply then replaces
        # it (the same id, append false), so a client that missed a chunk still ends right.
        artifact_id = str(uuid.uuid4())
        streamed = False
        async for event in stream.follow(0):
            if (text := _token(event.event, event.data)) is not None:
                chunk = Artifact(artifact_id=artifact_id, name=_REPLY, parts=[Part(text=text)])
                yield TaskArtifactUpdateEvent(
                    task_id=task.id, context_id=task.context_id, artifact=chunk, append=streamed
                )
                streamed = True
        result = await _guarded(runs(request).result(run, stream))
        done = _finished(Task(id=task.id, context_id=task.context_id, history=task.history), result)
        for artifact in done.artifacts:
            if streamed:
                artifact.artifact_id = artifact_id
            yield TaskArtifactUpdateEvent(
                task_id=task.id, context_id=task.context_id, artifact=artifact, last_chunk=True
            )
        yield TaskStatusUpdateEvent(task_id=task.id, context_id=task.context_id, status=done.status)

    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task | None:
        request, assistant_id = _target(context)
        return await _guarded(_task(request, assistant_id, params.id))

    async def on_cancel_task(self, params: CancelTaskRequest, context: ServerCallContext) -> Task | None:
        request, assistant_id = _target(context)
        run = await _guarded(_run_of(request, assistant_id, params.id, action="update"))
        if run.status in ("pending", "running"):
            await _guarded(runs(request).cancel_and_wait(run, "interrupt"))
        return await _guarded(_task(request, assistant_id, params.id))

    async def on_list_tasks(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        raise UnsupportedOperationError(message="tasks/list is not served; use tasks/get")

    async def on_get_extended_agent_card(self, params: Any, context: ServerCallContext) -> AgentCard:
        raise UnsupportedOperationError(message="No extended agent card")

    async def on_subscribe_to_task(self, params: Any, context: ServerCallContext) -> AsyncGenerator[Event]:
        raise UnsupportedOperationError(message="Resubscribing to a task is not served")
        yield  # pragma: no cover

    async def on_create_task_push_notification_config(self, params: Any, context: ServerCallContext) -> Any:
        raise UnsupportedOperationError(message="Push notifications are not served")

    on_get_task_push_notification_config = on_create_task_push_notification_config
    on_list_task_push_notification_configs = on_create_task_push_notification_config
    on_delete_task_push_notification_config = on_create_task_push_notification_config


def _target(context: ServerCallContext) -> tuple[Request, str]:
    request: Request = context.state[_REQUEST]
    raw = request.path_params["assistant_id"]
    try:
        return request, str(uuid.UUID(raw))
    except ValueError:
        raise InvalidParamsError(message=f"assistant_id: {raw!r} is not a valid UUID") from None


async def _guarded(work: Awaitable[T]) -> T:
    """graphdock's refusals as A2A errors with their detail; anything unforeseen an opaque
    internal error, as a 500 would be."""
    try:
        return await work
    except A2AError:
        raise
    except GraphdockError as exc:
        raise InvalidParamsError(message=exc.detail) from None
    except Exception:
        log.exception("a2a.failed")
        raise InternalError(message="Internal Server Error") from None


async def _task(request: Request, assistant_id: str, task_id: str) -> Task:
    run = await _run_of(request, assistant_id, task_id)
    task = Task(id=task_id, context_id=run.thread_id)
    if run.status in ("pending", "running"):
        task.status.state = task_state(run.status)
        return task
    return _finished(task, await runs(request).result(run))


async def _start(
    request: Request, assistant_id: str, message: Message, *, streaming: bool = False
) -> tuple[Task, Run, Any]:
    """Queue the run a message asks for: new input on its context's thread, or the answer to the
    question an input-required task is waiting on."""
    context_id = message.context_id or str(uuid.uuid4())
    try:
        context_id = str(uuid.UUID(context_id))
    except ValueError:
        raise InvalidParamsError(message=f"contextId: {context_id!r} is not a UUID") from None
    text, data = _read_parts(message)
    body: dict[str, Any] = {"assistant_id": assistant_id, "if_not_exists": "create"}
    if streaming:
        body["stream_mode"] = ["messages-tuple"]
    if message.task_id:
        waiting = await _run_of(request, assistant_id, message.task_id)
        state = await _state_of(request, waiting)
        if state != TaskState.TASK_STATE_INPUT_REQUIRED:
            raise UnsupportedOperationError(message="This task has ended; send the message without taskId")
        context_id = waiting.thread_id
        body["command"] = {"resume": data if data is not None else text}
    else:
        body["input"] = await _input(request, assistant_id, text, data)
    started = await start_run(request, context_id, parse_value(body, RunCreate))
    run = started.run
    task_id = f"{run.thread_id}:{run.run_id}"
    sent = Message()
    sent.CopyFrom(message)
    sent.context_id, sent.task_id = run.thread_id, task_id
    task = Task(id=task_id, context_id=run.thread_id, history=[sent])
    task.status.state = TaskState.TASK_STATE_SUBMITTED
    return task, run, started.stream


def _read_parts(message: Message) -> tuple[str, Any]:
    """The message's text (its text parts joined) and its data (a data part's JSON value)."""
    texts, data = [], None
    for part in message.parts:
        kind = part.WhichOneof("content")
        if kind == "text":
            texts.append(part.text)
        elif kind == "data":
            data = MessageToDict(part.data)
        else:
            raise InvalidParamsError(message=f"Only text and data parts are accepted, not {kind} parts")
    if not texts and data is None:
        raise InvalidParamsError(message="The message has no text or data part")
    return "\n".join(texts), data


async def _input(request: Request, assistant_id: str, text: str, data: Any) -> Any:
    """A data part is the graph's input as it stands; text becomes a user message, which needs
    a graph whose input has `messages`."""
    if data is not None and not text:
        return data
    schemas = await assistants(request).schemas(assistant_id)
    properties = (schemas.get("input_schema") or {}).get("properties") or {}
    if "messages" not in properties:
        raise InvalidParamsError(
            message="This assistant's input has no 'messages': send its input as a data part"
        )
    extra = data if isinstance(data, dict) else {}
    return {**extra, "messages": [{"role": "user", "content": text}]}


async def _run_of(request: Request, assistant_id: str, task_id: str, action: str = "read") -> Run:
    thread_id, _, run_id = task_id.partition(":")
    try:
        thread_id, run_id = str(uuid.UUID(thread_id)), str(uuid.UUID(run_id))
    except ValueError:
        raise TaskNotFoundError(message=f"Task not found: {task_id}") from None
    value = {"thread_id": uuid.UUID(thread_id), "run_id": uuid.UUID(run_id)}
    visible = await authorize(request, "threads", "read" if action == "read" else "update", value)
    try:
        run = await runs(request).get(thread_id, run_id, visible=visible)
    except NotFound:
        raise TaskNotFoundError(message=f"Task not found: {task_id}") from None
    if run.assistant_id != assistant_id:
        raise TaskNotFoundError(message=f"Task not found: {task_id}")
    return run


async def _state_of(request: Request, run: Run) -> TaskState:
    if run.status in ("pending", "running"):
        return task_state(run.status)
    task = _finished(Task(), await runs(request).result(run))
    return task.status.state


def task_state(status: str) -> TaskState:
    """A run's status as a task's state (a finished run's state also depends on its result)."""
    return {
        "pending": TaskState.TASK_STATE_SUBMITTED,
        "running": TaskState.TASK_STATE_WORKING,
        "success": TaskState.TASK_STATE_COMPLETED,
        "interrupted": TaskState.TASK_STATE_CANCELED,
    }.get(status, TaskState.TASK_STATE_FAILED)


def _status(task: Task, state: TaskState) -> TaskStatusUpdateEvent:
    event = TaskStatusUpdateEvent(task_id=task.id, context_id=task.context_id)
    event.status.state = state
    return event


def _finished(task: Task, result: dict[str, Any]) -> Task:
    """A task whose run has ended, from the run's result (`runs/wait`'s body)."""
    status = TaskStatus()
    status.timestamp.GetCurrentTime()
    if isinstance(error := result.get("__error__"), dict):
        # A cancelled run (tasks/cancel, or any cancel of its run) ends with graphdock's CancelledError.
        cancelled = error.get("error") == "CancelledError"
        status.state = TaskState.TASK_STATE_CANCELED if cancelled else TaskState.TASK_STATE_FAILED
        status.message.CopyFrom(_agent(task, f"{error.get('error')}: {error.get('message')}"))
    elif result.get("__interrupt__"):
        status.state = TaskState.TASK_STATE_INPUT_REQUIRED
        interrupts = orjson.loads(orjson.dumps(result["__interrupt__"]))
        status.message.CopyFrom(_agent(task, None, interrupts))
    else:
        status.state = TaskState.TASK_STATE_COMPLETED
        answer = _last_ai_text(result.get("messages"))
        reply = _agent(task, answer, None if answer is not None else orjson.loads(orjson.dumps(result)))
        task.history.append(reply)
        task.artifacts.append(Artifact(artifact_id=str(uuid.uuid4()), name=_REPLY, parts=reply.parts))
    task.status.CopyFrom(status)
    return task


def _agent(task: Task, text: str | None, data: Any = None) -> Message:
    message = Message(
        message_id=str(uuid.uuid4()), role=Role.ROLE_AGENT, task_id=task.id, context_id=task.context_id
    )
    if text is not None:
        message.parts.append(Part(text=text))
    if data is not None:
        message.parts.append(Part(data=ParseDict(data, Value())))
    return message


def _token(event: str, data: bytes) -> str | None:
    """The text of a model's chunk in a `messages-tuple` event ([message, metadata]), if any."""
    if event != "messages":
        return None
    payload = orjson.loads(data)
    message = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(message, dict) or message.get("type") not in _AI:
        return None
    text = _content_text(message.get("content"))
    return text or None


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return None


def _last_ai_text(messages: Any) -> str | None:
    """The text of the graph's last AI message (content as a string or as content blocks)."""
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("type") in _AI:
            return _content_text(message.get("content"))
    return None

"""Graph factories, in every form the platform accepts, called for each use of the graph.

A graph in langgraph.json may be a function that builds it: with no argument, `(config)`,
`(runtime)` (a `langgraph_sdk.runtime.ServerRuntime`), or `(config, runtime)`; sync or async; and
it may return the graph or a (sync or async) context manager that yields it, entered for one use
and exited after it (a run, a state read, a schema). `runtime.access_context` says why the graph
is built: `threads.create_run` (executing a run: `runtime.execution_runtime.context` is the run's
context), `threads.read`, `threads.update`, `assistants.read`.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal, cast

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import ensure_config

# The SDK's two runtime variants; ServerRuntime is their union, and the server builds them.
from langgraph_sdk.runtime import _ExecutionRuntime, _ReadRuntime

AccessContext = Literal["threads.create_run", "threads.update", "threads.read", "assistants.read"]


@dataclass(frozen=True, slots=True)
class Access:
    """Why a graph is built, and for a run, the context it runs with."""

    why: AccessContext
    context: Any = None
    # The server's store (runtime.store), set by the registry.
    store: Any = None


# A factory normalised to one calling convention: (the full config, why it is called).
Factory = Callable[[dict[str, Any], Access], Any]


def as_factory(fn: Callable[..., Any], refuse: Callable[[str], Exception]) -> Factory:
    """`fn` called the way its signature asks; `refuse(reason)` for a signature no form matches."""
    try:
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.default is p.empty
        ]
    except (TypeError, ValueError) as exc:
        raise refuse(f"cannot read the factory's signature: {exc}") from exc
    if len(params) > 2 or (len(params) == 2 and not _is_runtime(params[1])):
        names = ", ".join(p.name for p in params)
        raise refuse(
            f"TypeError: a graph factory takes (), (config), (runtime) or (config, runtime), not ({names})"
        )
    makers = [_runtime_of if _is_runtime(p) else _config_of for p in params]

    def call(config: dict[str, Any], access: Access) -> Any:
        args = [make(config, access) for make in makers]
        positional = [a for p, a in zip(params, args, strict=True) if p.kind is not p.KEYWORD_ONLY]
        named = {p.name: a for p, a in zip(params, args, strict=True) if p.kind is p.KEYWORD_ONLY}
        return fn(*positional, **named)

    return call


@asynccontextmanager
async def entered(factory: Factory, config: dict[str, Any], access: Access) -> AsyncIterator[Any]:
    """What the factory returns, for one use: a context manager's value is yielded, then exited."""
    # Factories are written against a full RunnableConfig (config["configurable"][...]), as the
    # official server passes; ensure_config also copies, so a factory cannot mutate the caller's.
    result = factory(cast(dict[str, Any], ensure_config(cast(RunnableConfig, config))), access)
    if inspect.isawaitable(result):
        result = await result
    if hasattr(result, "__aenter__") and hasattr(result, "__aexit__"):
        async with result as graph:
            yield graph
    elif hasattr(result, "__enter__") and hasattr(result, "__exit__"):
        with result as graph:
            yield graph
    else:
        yield result


def _is_runtime(param: inspect.Parameter) -> bool:
    # `runtime: ServerRuntime[Context]` (a string under `from __future__ import annotations`).
    annotation = param.annotation
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", repr(annotation))
    return "Runtime" in str(text) or (annotation is param.empty and param.name == "runtime")


def _config_of(config: dict[str, Any], access: Access) -> Any:
    return config


def _runtime_of(config: dict[str, Any], access: Access) -> Any:
    # No user is handed over (runtime.user is None); the rest is as on the platform.
    store = access.store
    if access.why == "threads.create_run":
        return _ExecutionRuntime(access_context=access.why, store=store, context=access.context)
    return _ReadRuntime(access_context=access.why, store=store)

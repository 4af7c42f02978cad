"""Test graph `functional`: a Functional API `@entrypoint` (a Pregel, not a CompiledStateGraph)."""

from __future__ import annotations

from langgraph.func import entrypoint


@entrypoint()
def graph(text: str) -> str:
    return text[::-1]

"""The README's snippets run as shown (issue 17, item 11): in order, as in `python -m asyncio`.

They run against a server on the bundled example (what `make dev` serves), with the README's
URL pointed at that server; what they print must be what the README's comments say.
"""

from __future__ import annotations

import ast
import asyncio
import re
import types
from collections.abc import Callable
from pathlib import Path

from tests.conftest import EXAMPLE, RunningServer

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
# Every Python snippet before the compatibility notes: the quick start, runs and versions, crons and
# webhooks, and the MCP and A2A clients. The crons snippet's webhook host is the reader's to fill in
# and resolves nowhere here: a literal public address stands in for it (the URL policy refuses a
# host that does not resolve).
FIRST_MINUTES = README.split("\n## Compatibility", 1)[0].replace(
    "https://hooks.example.com/digest", "https://203.0.113.80/digest"
)
BLOCKS = re.findall(r"```python\n(.*?)```", FIRST_MINUTES, flags=re.DOTALL)


def test_the_readme_has_python_snippets() -> None:
    assert len(BLOCKS) >= 2


async def test_every_readme_python_snippet_runs_as_shown(start_server: Callable[..., RunningServer]) -> None:
    server = start_server(config=EXAMPLE)
    printed: list[str] = []

    def capture(*values: object) -> None:
        # The server runs in this process and logs to stdout: the snippets' own prints are taken here.
        printed.append(" ".join(str(v) for v in values))

    namespace: dict[str, object] = {"__name__": "__main__", "print": capture}
    for block in BLOCKS:
        source = block.replace("http://127.0.0.1:2024", server.url)
        # Statement by statement, as the asyncio REPL compiles what is pasted into it.
        for statement in ast.parse(source).body:
            code = compile(
                ast.Module(body=[statement], type_ignores=[]),
                "<README>",
                "exec",
                flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
            )
            result = types.FunctionType(code, namespace)()
            if asyncio.iscoroutine(result):
                await result
    expected = re.findall(r"^\s*print\(.*\)\s+# (.*)$", "\n".join(BLOCKS), flags=re.MULTILINE)
    assert expected, "the quick start ends with a run whose output the README states"
    assert printed == expected

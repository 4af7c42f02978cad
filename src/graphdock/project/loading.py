"""Reading langgraph.json: the file, its graphs and env, and each section handed to its own parser.

The format is the langgraph-cli one: `graphs` maps a graph id to `"./file.py:attr"` (or a module
path `"pkg.module:attr"`), or to `{"path": ..., "description": ...}`; `env` is a mapping or the
path of a dotenv file; `dependencies` lists local folders to put on `sys.path`; `auth` and `http`
are the platform's; `checkpointer.ttl` is the thread retention policy (swept by
domain/retention.py). Keys that only shape a Docker image (python_version, dockerfile_lines, …) are
accepted, so one file serves both, and named in a `config.build_only` warning; any other key
graphdock does not implement is named in one `config.not_implemented` warning at start
(`ProjectConfig.unimplemented`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from graphdock.errors import ConfigError
from graphdock.project.http import HttpSpec, parse_http
from graphdock.project.retention import ThreadTtlSpec, checkpointer_unimplemented, parse_thread_ttl
from graphdock.project.store import StoreSpec, parse_store
from graphdock.project.webhooks import WebhooksSpec, parse_webhooks

# The top-level keys graphdock acts on. A helper implementing another key (store, webhooks, …)
# adds it here, which also takes it out of the start-up warning.
IMPLEMENTED_KEYS = frozenset(
    {"graphs", "env", "dependencies", "auth", "http", "store", "webhooks", "checkpointer"}
)
# Keys that only shape the Docker image `langgraph build` makes: nothing for a server to do.
BUILD_ONLY_KEYS = frozenset(
    {
        "$schema",
        "python_version",
        "pip_config_file",
        "pip_installer",
        "dockerfile_lines",
        "base_image",
        "image_distro",
        "api_version",
        "keep_pkg_tools",
    }
)

log = structlog.get_logger("graphdock.config")
# The config is read by the CLI and again by the app: a missing env file is named once.
_WARNED_MISSING: set[Path] = set()


@dataclass(frozen=True, slots=True)
class GraphSpec:
    graph_id: str
    # Either a file (absolute path) or a dotted module name; exactly one is set.
    file: Path | None
    module: str | None
    attr: str
    description: str | None = None

    @property
    def location(self) -> str:
        """How the user wrote it, for error messages."""
        return f"{self.file or self.module}:{self.attr}"


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    path: Path
    graphs: tuple[GraphSpec, ...]
    env: dict[str, str] = field(default_factory=dict)
    dependencies: tuple[Path, ...] = ()
    auth: dict[str, Any] | None = None
    # checkpointer.ttl; without it threads expire only when a client gave them their own ttl.
    thread_ttl: ThreadTtlSpec = field(default_factory=ThreadTtlSpec)
    store: StoreSpec = field(default_factory=StoreSpec)
    webhooks: WebhooksSpec = field(default_factory=WebhooksSpec)
    http: HttpSpec = field(default_factory=HttpSpec)
    # Keys of the file (top-level, or `http.<key>`) that graphdock accepts but does not act on yet.
    unimplemented: tuple[str, ...] = ()
    # Keys for `langgraph build`'s image, named in their own warning at start.
    build_only: tuple[str, ...] = ()

    @property
    def root(self) -> Path:
        return self.path.parent


def load_project_config(path: Path) -> ProjectConfig:
    path = path.resolve()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file (pass --config or run graphdock in a folder with a langgraph.json)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it as JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a JSON object")
    root = path.parent
    graphs = raw.get("graphs")
    if not isinstance(graphs, dict) or not graphs:
        raise ConfigError(f"{path}: 'graphs' must map at least one graph id to './file.py:attr'")
    specs = tuple(_graph_spec(path, root, gid, value) for gid, value in graphs.items())
    deps = raw.get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise ConfigError(f"{path}: 'dependencies' must be a list of strings")
    # Only local folders matter to a server that imports graphs in-process; package names
    # ("langchain_openai") are the user's environment's business, as with `langgraph dev`.
    local = tuple((root / d).resolve() for d in deps if d.startswith((".", "/")))
    auth = raw.get("auth")
    if auth is not None and not isinstance(auth, dict):
        raise ConfigError(f"{path}: 'auth' must be an object")
    http, http_unimplemented = parse_http(path, raw.get("http"))
    ignored = sorted(k for k in raw if k not in IMPLEMENTED_KEYS | BUILD_ONLY_KEYS)
    return ProjectConfig(
        path=path,
        graphs=specs,
        env=_env(path, root, raw.get("env")),
        dependencies=local,
        auth=auth,
        thread_ttl=parse_thread_ttl(path, raw.get("checkpointer")),
        store=parse_store(path, raw.get("store")),
        webhooks=parse_webhooks(path, raw.get("webhooks")),
        http=http,
        unimplemented=(*ignored, *http_unimplemented, *checkpointer_unimplemented(raw.get("checkpointer"))),
        # `$schema` only points an editor at the file's JSON Schema.
        build_only=tuple(sorted(k for k in raw if k in BUILD_ONLY_KEYS and k != "$schema")),
    )


def _graph_spec(path: Path, root: Path, graph_id: object, value: object) -> GraphSpec:
    description: str | None = None
    if isinstance(value, dict):
        description = value.get("description")
        value = value.get("path")
        if description is not None and not isinstance(description, str):
            raise ConfigError(f"{path}: graphs.{graph_id}.description must be a string")
    if not isinstance(graph_id, str) or not graph_id:
        raise ConfigError(f"{path}: graph ids must be non-empty strings")
    if not isinstance(value, str) or value.count(":") != 1:
        raise ConfigError(
            f"{path}: graphs.{graph_id} must look like './file.py:attr' or 'pkg.module:attr', got {value!r}"
        )
    target, attr = value.split(":")
    if not attr.isidentifier():
        raise ConfigError(f"{path}: graphs.{graph_id}: {attr!r} is not a Python identifier")
    if target.endswith(".py") or "/" in target:
        return GraphSpec(graph_id, (root / target).resolve(), None, attr, description)
    return GraphSpec(graph_id, None, target, attr, description)


def _env(path: Path, root: Path, env: object) -> dict[str, str]:
    if env is None:
        return {}
    if isinstance(env, dict):
        return {str(k): str(v) for k, v in env.items()}
    if isinstance(env, str):
        env_file = root / env
        try:
            lines = env_file.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            # As `langgraph dev`: a project's .env is often not committed; the graphs may need none.
            if env_file not in _WARNED_MISSING:
                _WARNED_MISSING.add(env_file)
                log.warning("config.env_file_missing", path=str(path), env_file=str(env_file))
            return {}
        except OSError as exc:
            raise ConfigError(f"{path}: env file {env_file} cannot be read: {exc}") from exc
        return dict(_dotenv_line(line) for line in lines if _is_assignment(line))
    raise ConfigError(f"{path}: 'env' must be an object or the path of a .env file")


def _is_assignment(line: str) -> bool:
    line = line.strip()
    return bool(line) and not line.startswith("#") and "=" in line


def _dotenv_line(line: str) -> tuple[str, str]:
    key, _, value = line.strip().removeprefix("export ").partition("=")
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return key.strip(), value

"""langgraph.json, parsed once into typed specs, with precise errors at start-up.

The format is the langgraph-cli one: `graphs` maps a graph id to `"./file.py:attr"` (or a module
path `"pkg.module:attr"`), or to `{"path": ..., "description": ...}`; `env` is a mapping or the
path of a dotenv file; `dependencies` lists local folders to put on `sys.path`; `auth` and `http`
are the platform's; `checkpointer.ttl` is the thread retention policy (swept by
domain/retention.py). Keys that only shape a Docker image (python_version, dockerfile_lines, …) are
accepted silently, so one file serves both; any other key graphdock does not implement is named in
one warning at start (`ProjectConfig.unimplemented`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args

import structlog

from graphdock.errors import ConfigError
from graphdock.http_config import HttpSpec, parse_http
from graphdock.storage.retention import TtlStrategy

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
class ThreadTtlSpec:
    """`checkpointer.ttl`: what happens to threads nobody has used for a while.

    Minutes may be fractional (0.05 is three seconds), which is how tests keep TTLs short.
    """

    # delete: the thread, its runs and checkpoints go; keep_latest: only its latest checkpoint stays.
    strategy: TtlStrategy = "delete"
    # Minutes since a thread was last used (created, run, state updated, patched) before it is
    # swept; None: only threads given their own `ttl` expire.
    default_ttl: float | None = None
    sweep_interval_minutes: float = 5.0
    # Threads handled per sweep, at most; the rest wait for the next sweep.
    sweep_limit: int = 10_000


_TTL_KEYS = {f.name for f in fields(ThreadTtlSpec)}


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """`store.index`: which embeddings, how many dimensions, which fields of a value to embed."""

    embed: str  # "./file.py:attr", "pkg.module:attr" or "provider:model" (LangChain's init_embeddings)
    dims: int
    fields: tuple[str, ...] | None = None  # None: the whole value ("$")


@dataclass(frozen=True, slots=True)
class TtlSpec:
    """`store.ttl`, in minutes as in langgraph.json."""

    default_ttl: float | None = None
    refresh_on_read: bool = True
    sweep_interval_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class StoreSpec:
    index: IndexSpec | None = None
    ttl: TtlSpec | None = None


@dataclass(frozen=True, slots=True)
class WebhookUrlPolicy:
    """`webhooks.url`: which URLs a run's or cron's webhook may name (see domain/webhook_policy.py)."""

    # Measured on langgraph dev: https is required once a `webhooks.url` section exists, not before.
    require_https: bool = False
    allowed_domains: tuple[str, ...] = ()
    allowed_ports: tuple[int, ...] = ()
    max_url_length: int = 2048
    disable_loopback: bool = True
    disable_private_ips: bool = False


@dataclass(frozen=True, slots=True)
class WebhooksSpec:
    url: WebhookUrlPolicy = field(default_factory=WebhookUrlPolicy)
    # Header name → value, or a template naming `${{ env.LG_WEBHOOK_* }}` variables, filled at start.
    headers: dict[str, str] = field(default_factory=dict)
    # Only these fields of the payload are sent (None: all of them).
    allowed_fields: tuple[str, ...] | None = None


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
        thread_ttl=_thread_ttl(path, raw.get("checkpointer")),
        store=_store(path, raw.get("store")),
        webhooks=_webhooks(path, raw.get("webhooks")),
        http=http,
        unimplemented=(*ignored, *http_unimplemented, *_checkpointer_unimplemented(raw.get("checkpointer"))),
        # `$schema` only points an editor at the file's JSON Schema.
        build_only=tuple(sorted(k for k in raw if k in BUILD_ONLY_KEYS and k != "$schema")),
    )


def _checkpointer_unimplemented(checkpointer: object) -> list[str]:
    """`checkpointer` keys beside `ttl` (`serde`, …): LangGraph's own savers run with their defaults."""
    if not isinstance(checkpointer, dict):
        return []
    return [f"checkpointer.{key}" for key in sorted(checkpointer) if key != "ttl"]


def _thread_ttl(path: Path, checkpointer: object) -> ThreadTtlSpec:
    if checkpointer is None:
        return ThreadTtlSpec()
    if not isinstance(checkpointer, dict):
        raise ConfigError(f"{path}: 'checkpointer' must be an object")
    ttl = checkpointer.get("ttl")
    if ttl is None:
        return ThreadTtlSpec()
    where = f"{path}: checkpointer.ttl"
    if not isinstance(ttl, dict):
        raise ConfigError(
            f"{where} must be an object with strategy, default_ttl, sweep_interval_minutes, sweep_limit"
        )
    if unknown := sorted(set(ttl) - _TTL_KEYS):
        raise ConfigError(f"{where}: unknown keys {unknown}; expected some of {sorted(_TTL_KEYS)}")
    strategy = ttl.get("strategy", "delete")
    if strategy not in get_args(TtlStrategy):
        raise ConfigError(f"{where}.strategy must be 'delete' or 'keep_latest', got {strategy!r}")
    default_ttl = ttl.get("default_ttl")
    if default_ttl is not None:
        default_ttl = _minutes(f"{where}.default_ttl", default_ttl)
    interval = _minutes(f"{where}.sweep_interval_minutes", ttl.get("sweep_interval_minutes", 5.0))
    limit = ttl.get("sweep_limit", 10_000)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"{where}.sweep_limit must be a whole number of threads, 1 or more, got {limit!r}")
    return ThreadTtlSpec(strategy, default_ttl, interval, limit)


def _minutes(where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e9:
        raise ConfigError(f"{where} must be a number of minutes greater than 0, got {value!r}")
    return float(value)


_URL_POLICY_KEYS = {
    "require_https",
    "allowed_domains",
    "allowed_ports",
    "max_url_length",
    "disable_loopback",
    "disable_private_ips",
}
_TEMPLATE = re.compile(r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def _webhooks(path: Path, section: object) -> WebhooksSpec:
    if section is None:
        return WebhooksSpec()
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: 'webhooks' must be an object")
    unknown = set(section) - {"url", "headers", "allowed_fields"}
    if unknown:
        raise ConfigError(
            f"{path}: webhooks: unknown keys {sorted(unknown)} (expected url, headers, allowed_fields)"
        )
    policy = WebhookUrlPolicy()
    url = section.get("url")
    if url is not None:
        if not isinstance(url, dict) or set(url) - _URL_POLICY_KEYS:
            raise ConfigError(
                f"{path}: webhooks.url must be an object with keys among {sorted(_URL_POLICY_KEYS)}"
            )
        policy = WebhookUrlPolicy(
            require_https=_flag(path, url, "require_https", True),
            allowed_domains=_strings(path, url, "allowed_domains"),
            allowed_ports=_ports(path, url),
            max_url_length=_positive(path, url, "max_url_length", 2048),
            disable_loopback=_flag(path, url, "disable_loopback", True),
            disable_private_ips=_flag(path, url, "disable_private_ips", False),
        )
    headers = section.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ConfigError(f"{path}: webhooks.headers must map header names to strings")
    for name, value in headers.items():
        for variable in _TEMPLATE.findall(value):
            if not variable.startswith("LG_WEBHOOK_"):
                raise ConfigError(
                    f"{path}: webhooks.headers.{name}: only LG_WEBHOOK_* variables may be used, not {variable}"
                )
    allowed = section.get("allowed_fields")
    if allowed is not None and (
        not isinstance(allowed, list) or not all(isinstance(f, str) for f in allowed)
    ):
        raise ConfigError(f"{path}: webhooks.allowed_fields must be a list of payload field names")
    return WebhooksSpec(
        url=policy,
        headers=dict(headers),
        allowed_fields=tuple(allowed) if allowed else None,
    )


def fill_header_templates(headers: dict[str, str], env: dict[str, str]) -> dict[str, str]:
    """`${{ env.LG_WEBHOOK_X }}` → the variable's value; a variable that is not set is an error."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"webhooks.headers: the environment variable {name} is not set")
        return env[name]

    return {name: _TEMPLATE.sub(value, template) for name, template in headers.items()}


def _flag(path: Path, section: dict[str, Any], key: str, default: bool) -> bool:
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: webhooks.url.{key} must be true or false")
    return value


def _strings(path: Path, section: dict[str, Any], key: str) -> tuple[str, ...]:
    value = section.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{path}: webhooks.url.{key} must be a list of host names")
    return tuple(value)


def _ports(path: Path, section: dict[str, Any]) -> tuple[int, ...]:
    value = section.get("allowed_ports") or []
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 < v < 65536 for v in value
    ):
        raise ConfigError(f"{path}: webhooks.url.allowed_ports must be a list of port numbers")
    return tuple(value)


def _positive(path: Path, section: dict[str, Any], key: str, default: int) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{path}: webhooks.url.{key} must be a positive integer")
    return value


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


def _store(path: Path, raw: object) -> StoreSpec:
    if raw is None:
        return StoreSpec()
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: 'store' must be an object with 'index' and/or 'ttl'")
    unknown = sorted(set(raw) - {"index", "ttl"})
    if unknown:
        raise ConfigError(f"{path}: store: unknown key(s) {', '.join(unknown)}; expected index, ttl")
    return StoreSpec(index=_index(path, raw.get("index")), ttl=_ttl(path, raw.get("ttl")))


def _index(path: Path, raw: object) -> IndexSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: store.index must be an object with 'embed' and 'dims'")
    embed, dims, fields = raw.get("embed"), raw.get("dims"), raw.get("fields")
    if not isinstance(embed, str) or ":" not in embed:
        raise ConfigError(
            f"{path}: store.index.embed must look like './file.py:attr' or 'provider:model' "
            f"(e.g. 'openai:text-embedding-3-small'), got {embed!r}"
        )
    if isinstance(dims, bool) or not isinstance(dims, int) or dims < 1:
        raise ConfigError(f"{path}: store.index.dims must be a positive integer, got {dims!r}")
    if fields is not None and (
        not isinstance(fields, list) or not fields or not all(isinstance(f, str) and f for f in fields)
    ):
        raise ConfigError(f"{path}: store.index.fields must be a non-empty list of field paths")
    return IndexSpec(embed, dims, tuple(fields) if fields is not None else None)


def _ttl(path: Path, raw: object) -> TtlSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: store.ttl must be an object")
    default_ttl, refresh, sweep = (
        raw.get("default_ttl"),
        raw.get("refresh_on_read", True),
        raw.get("sweep_interval_minutes"),
    )
    if default_ttl is not None and (
        isinstance(default_ttl, bool) or not isinstance(default_ttl, int | float) or default_ttl <= 0
    ):
        raise ConfigError(f"{path}: store.ttl.default_ttl must be a positive number of minutes")
    if not isinstance(refresh, bool):
        raise ConfigError(f"{path}: store.ttl.refresh_on_read must be true or false")
    if sweep is not None and (isinstance(sweep, bool) or not isinstance(sweep, int) or sweep < 1):
        raise ConfigError(f"{path}: store.ttl.sweep_interval_minutes must be a positive integer")
    return TtlSpec(float(default_ttl) if default_ttl is not None else None, refresh, sweep)


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

"""langgraph.json's `http` section, parsed once into typed specs with errors that name the key.

Every key of the platform's `HttpConfig` is accepted. `cors` without a value keeps the default
(any origin, as `langgraph dev` answers); with one, it replaces the default entirely.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from graphdock.errors import ConfigError

# Route groups a `disable_<group>` flag can turn off (`webhooks` stops sending them instead).
ROUTE_GROUPS = ("assistants", "threads", "runs", "store", "meta", "ui", "mcp", "a2a", "webhooks")
# Never copied into a run's configurable or a log line, whatever the patterns say: credentials.
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "x-tenant-id", "x-service-key"})
# What graphdock's own clients read from cross-origin responses: the SDKs read the first three
# (pagination, and a run's id and reconnect URL), the web UI and If-Match users the rest.
DEFAULT_EXPOSE_HEADERS = (
    "content-location",
    "location",
    "x-pagination-next",
    "x-pagination-total",
    "x-request-id",
    "etag",
)
_KEYS = frozenset(
    {
        "app",
        "cors",
        "mount_prefix",
        "configurable_headers",
        "logging_headers",
        "enable_custom_route_auth",
        "middleware_order",
        *(f"disable_{group}" for group in ROUTE_GROUPS),
    }
)


@dataclass(frozen=True, slots=True)
class CorsSpec:
    """Starlette's CORSMiddleware arguments; the defaults are those of `http.cors` when given."""

    allow_origins: tuple[str, ...] = ()
    allow_origin_regex: str | None = None
    allow_methods: tuple[str, ...] = ("GET",)
    allow_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    expose_headers: tuple[str, ...] = ()
    max_age: int = 600


# No `http.cors`: any origin, every method, whatever headers the preflight asks for.
DEFAULT_CORS = CorsSpec(
    allow_origins=("*",),
    allow_methods=("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"),
    allow_headers=("*",),
    expose_headers=DEFAULT_EXPOSE_HEADERS,
)


@dataclass(frozen=True, slots=True)
class HeaderPatterns:
    """`includes`/`excludes` of lower-cased header names, `*` matching any run of characters."""

    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()

    def allows(self, name: str) -> bool:
        # Exclusion wins; without includes nothing is let through (the official default).
        if name in SECRET_HEADERS or _globs(self.excludes).fullmatch(name):
            return False
        return _globs(self.includes).fullmatch(name) is not None

    def pick(self, headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
        """The allowed request headers (ASGI's raw pairs), by lower-cased name."""
        picked: dict[str, str] = {}
        if not self.includes:
            return picked
        for raw_name, raw_value in headers:
            name = raw_name.decode("latin-1").lower()
            if self.allows(name):
                picked[name] = raw_value.decode("latin-1")
        return picked


@dataclass(frozen=True, slots=True)
class AppRef:
    """`http.app`: a file (absolute path) or a dotted module, and the attribute to serve."""

    file: Path | None
    module: str | None
    attr: str

    @property
    def location(self) -> str:
        return f"{self.file or self.module}:{self.attr}"


@dataclass(frozen=True, slots=True)
class HttpSpec:
    cors: CorsSpec = DEFAULT_CORS
    app: AppRef | None = None
    disabled: frozenset[str] = frozenset()
    # "" or "/a/b": every route (API, UI, custom) is served under it; /ok and /metrics also at /.
    mount_prefix: str = ""
    # langsmith-trace is the one header the official server forwards by default; it is harmless.
    configurable_headers: HeaderPatterns = field(default_factory=lambda: HeaderPatterns(("langsmith-trace",)))
    # None: request headers are not logged.
    logging_headers: HeaderPatterns | None = None
    enable_custom_route_auth: bool = False
    middleware_order: Literal["middleware_first", "auth_first"] = "middleware_first"


def parse_http(path: Path, raw: object) -> tuple[HttpSpec, tuple[str, ...]]:
    """The spec, and the `http.<key>` names graphdock does not recognise (for the start-up warning)."""
    if raw is None:
        return HttpSpec(), ()
    where = f"{path}: http"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be an object")
    unknown = tuple(f"http.{k}" for k in sorted(raw) if k not in _KEYS)
    disabled = frozenset(g for g in ROUTE_GROUPS if _bool(where, raw, f"disable_{g}"))
    given = raw.get("middleware_order")
    if given not in (None, "middleware_first", "auth_first"):
        raise ConfigError(
            f"{where}.middleware_order must be 'middleware_first' or 'auth_first', got {given!r}"
        )
    order: Literal["middleware_first", "auth_first"] = (
        "auth_first" if given == "auth_first" else "middleware_first"
    )
    spec = HttpSpec(
        cors=DEFAULT_CORS if raw.get("cors") is None else _cors(f"{where}.cors", raw["cors"]),
        app=_app(f"{where}.app", path.parent, raw.get("app")),
        disabled=disabled,
        mount_prefix=_prefix(f"{where}.mount_prefix", raw.get("mount_prefix")),
        configurable_headers=_patterns(f"{where}.configurable_headers", raw.get("configurable_headers"))
        or HttpSpec().configurable_headers,
        logging_headers=_patterns(f"{where}.logging_headers", raw.get("logging_headers")),
        enable_custom_route_auth=_bool(where, raw, "enable_custom_route_auth"),
        middleware_order=order,
    )
    return spec, unknown


def _cors(where: str, raw: object) -> CorsSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be an object")
    for key in raw:
        if key not in CorsSpec.__slots__:
            raise ConfigError(f"{where}.{key} is not a CORS setting (known: {', '.join(CorsSpec.__slots__)})")
    regex = raw.get("allow_origin_regex")
    if regex is not None:
        if not isinstance(regex, str):
            raise ConfigError(f"{where}.allow_origin_regex must be a string")
        try:
            re.compile(regex)
        except re.error as exc:
            raise ConfigError(f"{where}.allow_origin_regex is not a regular expression: {exc}") from None
    max_age = raw.get("max_age", 600)
    if not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 0:
        raise ConfigError(f"{where}.max_age must be a whole number of seconds, 0 or more")
    return CorsSpec(
        allow_origins=_strings(where, raw, "allow_origins", ()),
        allow_origin_regex=regex,
        allow_methods=tuple(m.upper() for m in _strings(where, raw, "allow_methods", ("GET",))),
        allow_headers=_strings(where, raw, "allow_headers", ()),
        allow_credentials=_bool(where, raw, "allow_credentials"),
        expose_headers=_strings(where, raw, "expose_headers", ()),
        max_age=max_age,
    )


def _patterns(where: str, raw: object) -> HeaderPatterns | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be an object with 'includes' and/or 'excludes'")
    for key in raw:
        if key not in ("includes", "excludes", "include", "exclude"):
            raise ConfigError(f"{where}.{key} is not known (use 'includes' and 'excludes')")
    # `include`/`exclude` are the platform's accepted aliases.
    includes = _strings(where, raw, "includes", ()) or _strings(where, raw, "include", ())
    excludes = _strings(where, raw, "excludes", ()) or _strings(where, raw, "exclude", ())
    return HeaderPatterns(tuple(p.lower() for p in includes), tuple(p.lower() for p in excludes))


def _app(where: str, root: Path, raw: object) -> AppRef | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or raw.count(":") != 1:
        raise ConfigError(f"{where} must look like './file.py:app' or 'package.module:app', got {raw!r}")
    target, attr = raw.split(":")
    if not attr.isidentifier():
        raise ConfigError(f"{where}: {attr!r} is not a Python identifier")
    if target.endswith((".js", ".ts", ".mjs", ".mts")):
        raise ConfigError(f"{where}: JavaScript apps are not supported by graphdock, only Python ones")
    if target.endswith(".py") or "/" in target:
        return AppRef((root / target).resolve(), None, attr)
    return AppRef(None, target, attr)


def _prefix(where: str, raw: object) -> str:
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str) or not raw.startswith("/") or raw.endswith("/") or "//" in raw:
        raise ConfigError(f"{where} must start with '/' and not end with one, like '/my-api', got {raw!r}")
    return raw


def _strings(where: str, raw: dict[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}.{key} must be a list of strings")
    return tuple(value)


def _bool(where: str, raw: dict[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key} must be true or false")
    return value


@functools.lru_cache(maxsize=64)
def _globs(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One expression matching any of the patterns (none: matching nothing), compiled once; every
    request's headers go through it. Literals and `*` only: never a costly regular expression."""
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile("|".join(".*".join(re.escape(part) for part in p.split("*")) for p in patterns))

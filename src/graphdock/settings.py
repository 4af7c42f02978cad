"""One frozen Settings, built once: defaults < environment (GRAPHDOCK_*) < command-line flags.

Every setting has one name: the field `database_url`, the variable `GRAPHDOCK_DATABASE_URL`, the
flag `--database-url`. This is the only module that reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from graphdock.errors import ConfigError

ENV_PREFIX = "GRAPHDOCK_"


@dataclass(frozen=True, slots=True)
class Settings:
    # The langgraph.json to serve; its folder is the project folder.
    config: Path = Path("langgraph.json")
    host: str = "127.0.0.1"
    port: int = 2024
    # Default: sqlite:///<project folder>/.graphdock/graphdock.sqlite3 (see `resolved_database_url`).
    database_url: str | None = None
    # Bodies beyond this answer 413 before they are parsed.
    max_body_bytes: int = 10 * 1024 * 1024
    log_level: str = "info"
    # `graphdock dev` only: restart when the project's files change.
    reload: bool = False
    # Runs executing at once in this process; more wait in the queue (in the database). 0: this
    # replica serves the API only and leaves executing runs to the others.
    run_concurrency: int = 32
    # On shutdown, running runs get this long to finish before they are marked interrupted.
    shutdown_grace_seconds: int = 10
    # Several replicas on one PostgreSQL: Redis carries wake-ups, cancellations and run streams
    # between them (redis://host:port/db). Without it, runs are created, streamed and cancelled
    # through the replica that executes them only.
    redis_url: str | None = None
    # A claimed run's lease, renewed every third of it by its replica. A run whose lease ends
    # (its replica was killed or hung) is retried by another replica, or failed once it has had
    # run_max_attempts attempts.
    run_lease_seconds: int = 30
    run_max_attempts: int = 3
    # How often each replica's cron scheduler claims the crons that are due. A cron fires at most
    # this late; claims are made in the database, so replicas never fire one firing twice.
    cron_tick_seconds: int = 5
    # Built-in authentication, no code needed: comma-separated `name:key` entries (or bare keys).
    # Clients send a key as `x-api-key` (the SDKs' api_key=) or `Authorization: Bearer <key>`;
    # the name is recorded as who made each version. Custom auth (langgraph.json's `auth.path`)
    # is the other option; the two are exclusive.
    api_keys: str | None = None
    # While a run is silent, runs.wait/join bodies get a newline and SSE streams a `: heartbeat`
    # comment this often, so proxies and load balancers with idle timeouts keep the request.
    heartbeat_seconds: float = 5.0

    @property
    def project_dir(self) -> Path:
        return self.config.resolve().parent

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.project_dir / '.graphdock' / 'graphdock.sqlite3'}"

    @classmethod
    def build(cls, flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Settings:
        """Merge the layers; `flags` holds only what the user actually passed."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, f.type, raw)
        values.update({k: v for k, v in (flags or {}).items() if v is not None})
        if "config" in values:
            values["config"] = Path(values["config"])
        settings = cls(**values)
        if not 0 <= settings.port <= 65535:
            raise ConfigError(f"port {settings.port} is out of range (--port / GRAPHDOCK_PORT)")
        if settings.max_body_bytes < 1024:
            raise ConfigError(
                "max_body_bytes must be at least 1024 (--max-body-bytes / GRAPHDOCK_MAX_BODY_BYTES)"
            )
        if settings.run_concurrency < 0:
            raise ConfigError(
                "run_concurrency must be 0 or more (--run-concurrency / GRAPHDOCK_RUN_CONCURRENCY)"
            )
        if settings.run_lease_seconds < 1:
            raise ConfigError(
                "run_lease_seconds must be at least 1 (--run-lease-seconds / GRAPHDOCK_RUN_LEASE_SECONDS)"
            )
        if settings.run_max_attempts < 1:
            raise ConfigError(
                "run_max_attempts must be at least 1 (--run-max-attempts / GRAPHDOCK_RUN_MAX_ATTEMPTS)"
            )
        if settings.redis_url is not None and not settings.redis_url.startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ConfigError(
                f"redis_url {settings.redis_url!r} must start with redis://, rediss:// or unix://"
                " (--redis-url / GRAPHDOCK_REDIS_URL)"
            )
        if not 0.01 <= settings.heartbeat_seconds <= 3600:
            raise ConfigError(
                "heartbeat_seconds must be from 0.01 to 3600 (--heartbeat-seconds / GRAPHDOCK_HEARTBEAT_SECONDS)"
            )
        if settings.cron_tick_seconds < 1:
            raise ConfigError(
                "cron_tick_seconds must be at least 1 (--cron-tick-seconds / GRAPHDOCK_CRON_TICK_SECONDS)"
            )
        if settings.shutdown_grace_seconds < 0:
            raise ConfigError(
                "shutdown_grace_seconds must be 0 or more (--shutdown-grace-seconds / GRAPHDOCK_SHUTDOWN_GRACE_SECONDS)"
            )
        return settings

    @property
    def exposed(self) -> bool:
        """Whether the server listens beyond this machine (loopback only is not exposed)."""
        return self.host not in ("127.0.0.1", "localhost", "::1") and not self.host.startswith("127.")

    def to_env(self) -> dict[str, str]:
        """The same settings as GRAPHDOCK_* variables, for a reloading child process."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[ENV_PREFIX + f.name.upper()] = str(value.resolve() if isinstance(value, Path) else value)
        return out


def webhook_environment(project_env: Mapping[str, str]) -> dict[str, str]:
    """The LG_WEBHOOK_* variables webhook header templates may name: the process environment's,
    then langgraph.json's `env` over them."""
    merged = {**os.environ, **project_env}
    return {k: v for k, v in merged.items() if k.startswith("LG_WEBHOOK_")}


def _coerce(name: str, annotation: object, raw: str) -> Any:
    kind = str(annotation)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            if raw.lower() not in {"1", "0", "true", "false", "yes", "no"}:
                raise ValueError(raw)
            return raw.lower() in {"1", "true", "yes"}
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind}") from None
    return raw

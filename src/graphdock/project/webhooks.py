"""`webhooks`: which URLs a run's webhook may name, and the headers sent with every delivery."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphdock.errors import ConfigError


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


_URL_POLICY_KEYS = {
    "require_https",
    "allowed_domains",
    "allowed_ports",
    "max_url_length",
    "disable_loopback",
    "disable_private_ips",
}
_TEMPLATE = re.compile(r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def parse_webhooks(path: Path, section: object) -> WebhooksSpec:
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

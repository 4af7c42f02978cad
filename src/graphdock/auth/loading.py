"""Choosing the policy at start-up: langgraph.json's `auth.path`, the built-in API keys, or none."""

from __future__ import annotations

import importlib

from langgraph_sdk import Auth

from graphdock.auth.policy import ApiKeys, CustomAuth, Open, Policy
from graphdock.errors import ConfigError
from graphdock.project import ProjectConfig
from graphdock.runtime.graphs import import_file


def load_policy(project: ProjectConfig, api_keys: str | None) -> Policy:
    """Call after the graphs are loaded: the auth file may import the project's packages too."""
    path = (project.auth or {}).get("path")
    if path is not None and api_keys:
        raise ConfigError(
            f"{project.path}: 'auth.path' and api_keys (--api-keys / GRAPHDOCK_API_KEYS) are both set; "
            "choose one (custom auth can accept API keys itself)"
        )
    if api_keys:
        return ApiKeys(api_keys)
    if path is None:
        return Open()
    where = f"{project.path}: auth.path {path!r}"
    if not isinstance(path, str) or path.count(":") != 1:
        raise ConfigError(f"{where} must look like './auth.py:auth' or 'package.module:auth'")
    target, attr = path.split(":")
    try:
        if target.endswith(".py") or "/" in target:
            module = import_file((project.root / target).resolve(), project.root)
        else:
            module = importlib.import_module(target)
    except Exception as exc:  # anything the user's module raises at import
        raise ConfigError(f"{where}: cannot import it: {type(exc).__name__}: {exc}") from exc
    auth = getattr(module, attr, None)
    if not isinstance(auth, Auth):
        raise ConfigError(f"{where}: expected a langgraph_sdk.Auth instance, found {type(auth).__name__}")
    return CustomAuth(auth, where)

"""langgraph.json, parsed once into typed specs, with precise errors at start-up.

`loading` reads the file (graphs, env, dependencies, auth, the keys graphdock ignores) and hands
each section to its own module: `http`, `store`, `webhooks`, `retention` (`checkpointer.ttl`).
"""

from graphdock.project.http import ROUTE_GROUPS, CorsSpec, HeaderPatterns, HttpSpec
from graphdock.project.loading import (
    BUILD_ONLY_KEYS,
    IMPLEMENTED_KEYS,
    GraphSpec,
    ProjectConfig,
    load_project_config,
)
from graphdock.project.retention import ThreadTtlSpec
from graphdock.project.store import IndexSpec, StoreSpec, TtlSpec
from graphdock.project.webhooks import WebhooksSpec, WebhookUrlPolicy, fill_header_templates

__all__ = [
    "BUILD_ONLY_KEYS",
    "IMPLEMENTED_KEYS",
    "ROUTE_GROUPS",
    "CorsSpec",
    "GraphSpec",
    "HeaderPatterns",
    "HttpSpec",
    "IndexSpec",
    "ProjectConfig",
    "StoreSpec",
    "ThreadTtlSpec",
    "TtlSpec",
    "WebhookUrlPolicy",
    "WebhooksSpec",
    "fill_header_templates",
    "load_project_config",
]

"""Cross-origin access: browsers on other origins (agent-chat-ui, Studio, a user's app) call the API.

Starlette's CORSMiddleware does the work; this module only turns the `http.cors` spec into it. It
sits outside authentication, so a preflight (which never carries credentials) is answered before
any key is asked for, and outside the error guard, so 401/403/404/422/500 answers carry the CORS
headers too and the page can read why it failed. A preflight that asks
`Access-Control-Request-Private-Network` (Chromium, for a public page reaching localhost) is told
yes whenever the rest of the preflight is allowed: who may call is decided by the origin rules.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from graphdock.project import CorsSpec


def cors_middleware(spec: CorsSpec) -> Middleware:
    return Middleware(
        CORSMiddleware,
        allow_origins=spec.allow_origins,
        allow_origin_regex=spec.allow_origin_regex,
        allow_methods=spec.allow_methods,
        allow_headers=spec.allow_headers,
        allow_credentials=spec.allow_credentials,
        allow_private_network=True,
        expose_headers=spec.expose_headers,
        max_age=spec.max_age,
    )

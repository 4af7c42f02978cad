"""The Redis the tests use: real, never mocked; skipped on a laptop without one, required under CI."""

from __future__ import annotations

import os

import redis

from tests.needs import unavailable

URL = os.environ.get("GRAPHDOCK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_url() -> str:
    """The URL of a reachable Redis; skips (or fails under CI) otherwise."""
    try:
        with redis.Redis.from_url(URL, socket_connect_timeout=3) as client:
            client.ping()
    except redis.RedisError as exc:
        reason = f"Redis is not reachable at {URL} ({exc}); set GRAPHDOCK_TEST_REDIS_URL"
        unavailable(reason)
    return URL

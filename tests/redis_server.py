"""The Redis the tests share (127.0.0.1:6379): its URL, or a skip when none answers outside CI."""

from __future__ import annotations

import os

import pytest

URL = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    """The URL of a Redis that answers a ping; skips the test when none does, except under CI (then it fails)."""
    import redis

    try:
        redis.Redis.from_url(URL, socket_connect_timeout=0.5).ping()
    except Exception:
        if os.environ.get("CI"):
            raise
        pytest.skip("no Redis on 127.0.0.1:6379")
    return URL

"""Citizen rate limits: a fixed one-minute window per client key.

In one process the counts live in memory; with ``server.redis_url`` they live in Redis, so several
API workers share one limit. If Redis cannot be reached the request is let through and the failure
logged (an outage of the limiter must not take the citizen service down with it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)
WINDOW_S = 60


class RateLimiter(Protocol):
    limit: int

    def hit(self, key: str) -> tuple[int, int]:
        """Count one request for ``key``; returns (requests in this window, seconds until it resets)."""
        ...


class MemoryLimiter:
    """Per-process counts; old windows are dropped as new ones start."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}

    def hit(self, key: str) -> tuple[int, int]:
        now = self._clock()
        window = int(now // WINDOW_S)
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, {}
            count = self._counts.get(key, 0) + 1
            self._counts[key] = count
        return count, WINDOW_S - int(now % WINDOW_S)


class RedisLimiter:
    """Shared counts: INCR on a key per client and window, expiring with the window."""

    def __init__(self, limit: int, url: str, prefix: str = "qa:rl") -> None:
        import redis

        self.limit = limit
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def hit(self, key: str) -> tuple[int, int]:
        now = time.time()
        window = int(now // WINDOW_S)
        name = f"{self.prefix}:{window}:{key}"
        reset = WINDOW_S - int(now % WINDOW_S)
        try:
            pipe = self._redis.pipeline()
            pipe.incr(name)
            pipe.expire(name, WINDOW_S + 5)
            count = int(pipe.execute()[0])
        except Exception as exc:  # the limiter failing open is a logged decision, not a swallowed error
            log.warning("rate limiter unavailable error=%s", type(exc).__name__)
            return 0, reset
        return count, reset


def make_limiter(limit: int, redis_url: str | None) -> RateLimiter | None:
    """None when limits are off (limit 0)."""
    if limit <= 0:
        return None
    if redis_url:
        return RedisLimiter(limit, redis_url)
    return MemoryLimiter(limit)

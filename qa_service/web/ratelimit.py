"""Citizen rate limits: a fixed one-minute window per client key.

Each citizen question counts twice: once for the client and tenant (``limit``) and once for the client
across all tenants (``total_limit``), so changing tenant on every request does not escape the limit.

With one API worker the counts live in memory; with ``server.redis_url`` they live in Redis, and with several
workers but no Redis in the database (``rate_counts``, one upserted row per key and window), so every worker
counts against one limit. If Redis or the database cannot be reached the request is let through and the
failure logged (an outage of the limiter must not take the citizen service down with it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from qa_service.db.session import Database

log = logging.getLogger(__name__)
WINDOW_S = 60


class RateLimiter(Protocol):
    limit: int
    total_limit: int

    def hit(self, key: str) -> tuple[int, int]:
        """Count one request for ``key``; returns (requests in this window, seconds until it resets)."""
        ...

    def hit_many(self, keys: list[str]) -> tuple[list[int], int]:
        """Count one request for each of ``keys`` at once; (counts in key order, seconds until reset)."""
        ...


def citizen_keys(client: str, tenant: str) -> list[str]:
    """The per-tenant key, then the key without the tenant (``*`` never matches a tenant name)."""
    return [f"{tenant}:{client}", f"*:{client}"]


def refused(limiter: RateLimiter, counts: list[int]) -> tuple[bool, bool]:
    """(over a limit, first refusal in this window) for the counts of :func:`citizen_keys`."""
    per_tenant, total = counts
    over_tenant = per_tenant > limiter.limit
    over_total = limiter.total_limit > 0 and total > limiter.total_limit
    first = per_tenant == limiter.limit + 1 or (limiter.total_limit > 0 and total == limiter.total_limit + 1)
    return over_tenant or over_total, first and (over_tenant or over_total)


class MemoryLimiter:
    """Per-process counts; old windows are dropped as new ones start."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.time, total_limit: int = 0) -> None:
        self.limit = limit
        self.total_limit = total_limit
        self._clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._counts: dict[str, int] = {}

    def hit(self, key: str) -> tuple[int, int]:
        counts, reset = self.hit_many([key])
        return counts[0], reset

    def hit_many(self, keys: list[str]) -> tuple[list[int], int]:
        now = self._clock()
        window = int(now // WINDOW_S)
        counts = []
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, {}
            for key in keys:
                count = self._counts.get(key, 0) + 1
                self._counts[key] = count
                counts.append(count)
        return counts, WINDOW_S - int(now % WINDOW_S)


class RedisLimiter:
    """Shared counts: INCR on a key per client and window, expiring with the window."""

    def __init__(self, limit: int, url: str, prefix: str = "qa:rl", total_limit: int = 0) -> None:
        import redis

        self.limit = limit
        self.total_limit = total_limit
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def hit(self, key: str) -> tuple[int, int]:
        counts, reset = self.hit_many([key])
        return counts[0], reset

    def hit_many(self, keys: list[str]) -> tuple[list[int], int]:
        """All keys in one round trip (one pipeline)."""
        now = time.time()
        window = int(now // WINDOW_S)
        reset = WINDOW_S - int(now % WINDOW_S)
        try:
            pipe = self._redis.pipeline()
            for key in keys:
                name = f"{self.prefix}:{window}:{key}"
                pipe.incr(name)
                pipe.expire(name, WINDOW_S + 5)
            replies = pipe.execute()
        except Exception as exc:  # the limiter failing open is a logged decision, not a swallowed error
            log.warning("rate limiter unavailable error=%s", type(exc).__name__)
            return [0] * len(keys), reset
        return [int(replies[2 * i]) for i in range(len(keys))], reset


class DatabaseLimiter:
    """Shared counts without Redis: one row per key and window, incremented by an upsert that returns the count
    (``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on SQLite and PostgreSQL); older windows are deleted."""

    def __init__(self, limit: int, db: Database, total_limit: int = 0) -> None:
        self.limit = limit
        self.total_limit = total_limit
        self.db = db
        self._last_window = -1

    def hit(self, key: str) -> tuple[int, int]:
        counts, reset = self.hit_many([key])
        return counts[0], reset

    def hit_many(self, keys: list[str]) -> tuple[list[int], int]:
        from sqlalchemy import delete
        from sqlalchemy.dialects import postgresql, sqlite

        from qa_service.db.models import RateCount

        insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        now = time.time()
        window = int(now // WINDOW_S)
        reset = WINDOW_S - int(now % WINDOW_S)
        try:
            counts = []
            with self.db.session() as s:
                for key in keys:
                    stmt = insert(RateCount).values(key=key, window=window, count=1).on_conflict_do_update(
                        index_elements=["key", "window"], set_={"count": RateCount.count + 1})
                    counts.append(int(s.execute(stmt.returning(RateCount.count)).scalar_one()))
                if window != self._last_window:  # once per window and worker: the ended windows go
                    s.execute(delete(RateCount).where(RateCount.window < window))
                    self._last_window = window
        except Exception as exc:
            log.warning("rate limiter unavailable store=database error=%s", type(exc).__name__)
            return [0] * len(keys), reset
        return counts, reset


def make_limiter(limit: int, redis_url: str | None, total_limit: int = 0, *, shared_db: Database | None = None,
                 redis_prefix: str = "qa") -> RateLimiter | None:
    """None when limits are off (limit 0); ``total_limit`` 0 = no limit across tenants. Redis when configured,
    else the database when ``shared_db`` is given (several workers), else memory."""
    if limit <= 0:
        return None
    if redis_url:
        return RedisLimiter(limit, redis_url, prefix=f"{redis_prefix}:rl", total_limit=total_limit)
    if shared_db is not None:
        return DatabaseLimiter(limit, shared_db, total_limit=total_limit)
    return MemoryLimiter(limit, total_limit=total_limit)

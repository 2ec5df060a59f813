"""Citizen rate limits: per process in memory, shared through Redis; refusals are audited once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from qa_service.db.models import AuditEvent
from qa_service.web.app import create_app
from qa_service.web.ratelimit import MemoryLimiter, RedisLimiter, make_limiter
from tests.redis_server import redis_url


@pytest.mark.unit
def test_memory_limiter_counts_per_key_and_resets_each_minute() -> None:
    now = [120.0]
    lim = MemoryLimiter(2, clock=lambda: now[0])
    assert [lim.hit("a")[0] for _ in range(3)] == [1, 2, 3]
    assert lim.hit("b")[0] == 1
    now[0] = 150.0
    assert lim.hit("a") == (4, 30)
    now[0] = 180.0  # next window
    assert lim.hit("a")[0] == 1


@pytest.mark.unit
def test_make_limiter_off_and_on() -> None:
    assert make_limiter(0, None) is None
    assert isinstance(make_limiter(5, None), MemoryLimiter)


@pytest.mark.integration
def test_redis_limiter_is_shared_between_instances() -> None:
    url = redis_url()
    prefix = f"qa:test:{uuid.uuid4().hex}"
    a, b = RedisLimiter(3, url, prefix=prefix), RedisLimiter(3, url, prefix=prefix)
    assert [a.hit("k")[0], b.hit("k")[0], a.hit("k")[0], b.hit("k")[0]] == [1, 2, 3, 4]


@pytest.mark.integration
def test_redis_down_fails_open() -> None:
    lim = RedisLimiter(1, "redis://127.0.0.1:1/0")
    assert lim.hit("k")[0] == 0  # let through, logged


@pytest.mark.integration
def test_third_citizen_question_is_refused_and_audited_once(town: Any) -> None:
    town.settings.server.default_tenant = "town"
    town.settings.server.citizen_rate_per_minute = 2
    app = create_app(town, warm=False)
    assert isinstance(app.state.limiter, MemoryLimiter) and app.state.limiter.limit == 2
    app.state.limiter = MemoryLimiter(2, clock=lambda: 120.0)  # one fixed window: no minute boundary mid-test
    with TestClient(app) as client:
        codes = [client.post("/api/v1/ask", json={"question": "parking permit fee"}).status_code for _ in range(2)]
        assert codes == [200, 200]
        r = client.post("/api/v1/ask", json={"question": "停车证多少钱"})
        assert r.status_code == 429 and r.json()["decision"] == "rate_limited"
        assert r.json()["lang"] == "zh" and int(r.headers["Retry-After"]) > 0
        assert client.post("/api/v1/ask", json={"question": "again"}).status_code == 429
        metrics = client.get("/metrics").text
        assert 'decision="rate_limited"' in metrics
    with town.db.session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action == "ask.refused")).all()
    assert len(rows) == 1 and rows[0].decision == "rate_limited" and rows[0].tenant == "town"

"""Issue 14 item 3: tenants are validated in one place, the citizen limit also counts per client across tenants,
and request bodies are capped. Through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from qa_service import tenants
from qa_service.db.models import AnswerRecord
from qa_service.ingest.pipeline import TENANT_RE, run_ingest
from qa_service.users.accounts import create_user
from qa_service.web.app import create_app
from qa_service.web.ratelimit import MemoryLimiter, RedisLimiter
from tests.kbdata import write_folder
from tests.redis_server import redis_url

pytestmark = pytest.mark.integration
PARKING_Q = "How much does a resident parking permit cost?"


@pytest.fixture
def world(make_services: Any, db_url: str, tmp_path: Path) -> Any:
    svc = make_services(database_url=db_url)
    run_ingest(svc, [write_folder(tmp_path / "kb")], "town", publish=True)
    svc.settings.server.default_tenant = "town"
    with svc.db.session() as s:
        _, admin = create_user(s, "ada", "admin", None)
    app = create_app(svc, warm=False)
    with TestClient(app) as client:
        yield {"svc": svc, "app": app, "client": client, "admin": {"Authorization": f"Bearer {admin}"}}


def _answers(svc: Any) -> int:
    with svc.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(AnswerRecord)) or 0)


@pytest.mark.unit
def test_the_registry_pattern_is_the_ingestion_pattern() -> None:
    assert tenants.TENANT_RE.pattern == TENANT_RE.pattern


def test_ask_refuses_malformed_unknown_and_huge_tenants_before_anything_is_stored(world: Any) -> None:
    c, svc = world["client"], world["svc"]
    for bad in ("../tax", "Town", "a" * 65, "", "tax/../town", "town\n"):
        r = c.post("/api/v1/ask", json={"question": PARKING_Q, "tenant": bad})
        assert r.status_code == 422, (bad, r.status_code, r.text[:200])
        assert "tenant" in r.text and "Traceback" not in r.text
    r = c.post("/api/v1/ask", json={"question": PARKING_Q, "tenant": "nosuchdept"})
    assert r.status_code == 404 and "unknown tenant 'nosuchdept'" in r.json()["detail"]
    r = c.post("/api/v1/ask", json={"question": PARKING_Q, "tenant": "t" * 1_000_000})
    assert r.status_code == 413 and "max_body_kb" in r.json()["detail"]
    assert _answers(svc) == 0
    assert c.post("/api/v1/ask", json={"question": PARKING_Q, "tenant": "town"}).status_code == 200
    assert _answers(svc) == 1


def test_inactive_and_registered_tenants(world: Any) -> None:
    c, svc = world["client"], world["svc"]
    with svc.db.session() as s:
        tenants.add(s, "closed", {"name_en": "Closed office"}, active=False, actor="test")
        tenants.add(s, "newdept", {"name_zh": "新部门", "phone": "0571-5550 2000"}, actor="test")
    r = c.post("/api/v1/ask", json={"question": PARKING_Q, "tenant": "closed"})
    assert r.status_code == 404 and "not active" in r.json()["detail"]
    r = c.post("/api/v1/ask", json={"question": PARKING_Q, "tenant": "newdept"})  # registered, no KB yet
    assert r.status_code == 200 and r.json()["decision"] != "error_internal"
    with svc.db.session() as s:
        listed = {t.id: t for t in tenants.list_all(s)}
        assert listed["town"].registered is False and listed["newdept"].phone == "0571-5550 2000"
        with pytest.raises(tenants.TenantError, match="already registered"):
            tenants.add(s, "newdept")


def _tenant_routes(app: Any) -> list[tuple[str, str]]:
    return sorted((method.upper(), path) for path, ops in app.openapi()["paths"].items() if "{tenant}" in path
                  for method in ops)


def test_every_route_taking_a_tenant_answers_404_or_422(world: Any) -> None:
    c, app = world["client"], world["app"]
    routes = _tenant_routes(app)
    assert len(routes) >= 13, routes  # review, curated, feedback figures, kb
    for method, path in routes:
        url = re.sub(r"\{(\w+)\}", lambda m: "{" + m.group(1) + "}" if m.group(1) == "tenant" else "1", path)
        for tenant, code, words in (("nosuchdept", 404, "unknown tenant"), ("Bad.Name", 422, "malformed"),
                                    ("x" * 70, 422, "malformed")):
            r = c.request(method, url.format(tenant=tenant), headers=world["admin"], params={"v1": 1, "v2": 2})
            assert r.status_code == code and words in r.json()["detail"], (method, path, tenant, r.status_code,
                                                                          r.text[:200])
        # no token: 401 first, whatever the tenant (nothing is learnt about tenants without signing in)
        assert c.request(method, url.format(tenant="nosuchdept")).status_code == 401, (method, path)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_client_rotating_tenants_is_still_limited(world: Any, backend: str) -> None:
    c, app, svc = world["client"], world["app"], world["svc"]
    with svc.db.session() as s:
        for i in range(4):
            tenants.add(s, f"dept{i}", actor="test")
    if backend == "memory":
        app.state.limiter = MemoryLimiter(2, clock=lambda: 120.0, total_limit=3)
    else:
        url = redis_url()
        app.state.limiter = RedisLimiter(2, url, prefix=f"qa:test:{uuid.uuid4().hex}", total_limit=3)
    codes = [c.post("/api/v1/ask", json={"question": "opening hours", "tenant": f"dept{i}"}).status_code
             for i in range(4)]
    assert codes == [200, 200, 200, 429]
    r = c.post("/api/v1/ask", json={"question": "opening hours", "tenant": "town"})
    assert r.status_code == 429 and r.json()["decision"] == "rate_limited"


def test_settings_name_the_total_limit(make_services: Any) -> None:
    svc = make_services(server={"citizen_rate_per_minute": 5, "citizen_rate_per_minute_total": 7})
    app = create_app(svc, warm=False)
    assert app.state.limiter.limit == 5 and app.state.limiter.total_limit == 7


def test_migration_0007_registers_tenants_that_already_hold_knowledge(db_url: str) -> None:
    from sqlalchemy import text

    from qa_service.db.migrate import upgrade
    from qa_service.db.session import make_engine

    engine = make_engine(db_url)
    try:
        upgrade(engine, "0006")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO kb_versions (tenant, version, state, embedding_model, source_count, "
                              "chunk_count, created_by, created_at, manifest) VALUES ('old', 1, 'live', 'm', 0, 0, "
                              "'x', CURRENT_TIMESTAMP, '{}')"))
        upgrade(engine)
        with engine.begin() as conn:
            rows = conn.execute(text("SELECT id, hotline, active FROM tenants")).all()
        assert [(r[0], r[1], bool(r[2])) for r in rows] == [("old", "12345", True)]
    finally:
        engine.dispose()

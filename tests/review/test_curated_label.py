"""One origin label per answer: a curated answer staff wrote is not AI-generated; a curated answer that is an
AI draft approved unchanged is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa_service.users.accounts import create_user
from qa_service.web.app import create_app
from tests.web.widget_kb import river_services

pytestmark = pytest.mark.integration
HELD_Q = "How much does a replacement permit cost?"


@pytest.fixture
def world(make_services: Any, tmp_path: Path) -> Any:
    svc = river_services(make_services, tmp_path)
    with svc.db.session() as s:
        _, editor = create_user(s, "erin", "editor", "river")
    with TestClient(create_app(svc, warm=False)) as client:
        yield client, {"Authorization": f"Bearer {editor}"}


def _curate(client: TestClient, auth: dict[str, str], **resolution: Any) -> dict[str, Any]:
    assert client.post("/api/v1/ask", json={"question": HELD_Q, "lang": "en"}).json()["decision"] == "held_for_review"
    item = client.post("/api/v1/review/river/claim", json={}, headers=auth).json()
    r = client.post(f"/api/v1/review/river/items/{item['id']}", headers=auth,
                    json={**resolution, "save_curated": True})
    assert r.status_code == 200, r.text
    out: dict[str, Any] = client.post("/api/v1/ask", json={"question": HELD_Q, "lang": "en"}).json()
    assert out["decision"] == "answered_curated", out
    return out


def test_staff_written_curated_answer_is_not_ai_generated(world: Any) -> None:
    client, auth = world
    out = _curate(client, auth, action="edit", answer="A replacement permit costs 10 dollars. [1]")
    assert out["ai_generated"] is False


def test_approved_ai_draft_stays_ai_generated(world: Any) -> None:
    client, auth = world
    out = _curate(client, auth, action="approve")
    assert out["ai_generated"] is True

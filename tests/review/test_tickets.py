"""Ticket status as a citizen sees it (anonymous, through the HTTP API): a rejection names the department's
phone, address, hours and the 12345 hotline from the tenant registry; an answer held from the staff channel or
resting on an internal passage is never shown, nor any internal citation."""

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
STAFF_Q = "Can the replacement fee be waived for residents over 80?"


@pytest.fixture
def world(make_services: Any, tmp_path: Path) -> Any:
    svc = river_services(make_services, tmp_path)
    with svc.db.session() as s:
        _, staff = create_user(s, "sam", "staff", "river")
    with TestClient(create_app(svc, warm=False)) as client:
        yield {"svc": svc, "client": client, "staff": {"Authorization": f"Bearer {staff}"}}


def _resolve(world: Any, action: str, **extra: Any) -> None:
    c = world["client"]
    item = c.post("/api/v1/review/river/claim", json={}, headers=world["staff"]).json()
    r = c.post(f"/api/v1/review/river/items/{item['id']}", headers=world["staff"], json={"action": action, **extra})
    assert r.status_code == 200, r.text


def test_rejected_ticket_gives_the_departments_contact_data(world: Any) -> None:
    c = world["client"]
    held = c.post("/api/v1/ask", json={"question": HELD_Q, "lang": "en"}).json()
    assert held["decision"] == "held_for_review"
    _resolve(world, "reject")
    en = c.get(f"/api/v1/tickets/{held['ticket']}?lang=en").json()
    assert en["status"] == "rejected"
    for part in ("River Town Permits Office", "0571-5550 2000", "12 Market Street, River Town", "Mon-Fri 9:00-17:00",
                 "12345"):
        assert part in en["message"], (part, en["message"])
    assert "河镇" not in en["message"]  # the English side of the bilingual registry values
    assert en["contact"] == {"department": "River Town Permits Office", "contact": None,
                             "name": "River Town Service Centre", "phone": "0571-5550 2000",
                             "address": "12 Market Street, River Town", "hours": "Mon-Fri 9:00-17:00",
                             "hotline": "12345"}
    zh = c.get(f"/api/v1/tickets/{held['ticket']}?lang=zh").json()
    assert "河镇集市街12号" in zh["message"] and "周一至周五 9:00—17:00" in zh["message"] and "12345" in zh["message"]
    assert zh["contact"]["name"] == "河镇市民服务中心"


def test_a_staff_channel_ticket_never_shows_the_staff_answer(world: Any) -> None:
    c, svc = world["client"], world["svc"]
    svc.risk_policy.routes.update({"low": "hold", "medium": "hold"})  # hold everything, so staff get a ticket
    held = c.post("/api/v1/ask", json={"question": STAFF_Q, "channel": "staff", "lang": "en"},
                  headers=world["staff"]).json()
    assert held["decision"] == "held_for_review" and held["ticket"]
    assert any("waive" in cite["snippet"] for cite in held["citations"])  # staff see the internal note
    _resolve(world, "approve")
    out = c.get(f"/api/v1/tickets/{held['ticket']}?lang=en").json()
    assert out["status"] == "staff_only"
    assert "answer" not in out and "citations" not in out
    assert "waive" not in str(out) and "Counter waiver" not in str(out)
    assert "0571-5550 2000" in out["message"]


def test_a_ticket_answered_by_staff_is_not_marked_ai_generated(world: Any) -> None:
    c = world["client"]
    held = c.post("/api/v1/ask", json={"question": HELD_Q, "lang": "en"}).json()
    _resolve(world, "edit", answer="A replacement permit costs 10 dollars. [1]")
    out = c.get(f"/api/v1/tickets/{held['ticket']}?lang=en").json()
    assert out["status"] == "answered" and out["answer"].startswith("A replacement permit costs 10 dollars")
    assert out["ai_generated"] is False and out["reviewed_by_staff"] is True
    assert "fees.md" in [cite["source_id"] for cite in out["citations"]]

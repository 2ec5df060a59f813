"""Held → staff edit saved as curated → ticket shows it → a paraphrase is answered from it → a KB version
changing the cited passage suspends it. Through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from qa_service.db.models import AnswerRecord, AuditEvent, CuratedAnswer, ReviewItem
from qa_service.ingest.pipeline import run_ingest
from qa_service.users.accounts import create_user
from qa_service.web.app import create_app
from tests.kbdata import PARKING, write_folder

pytestmark = pytest.mark.unit
HELD_Q = "How long is a parking permit valid?"
EDITED = "A resident parking permit is valid for twelve months from the day it is issued."


@pytest.fixture
def world(make_services: Any, db_url: str, tmp_path: Path) -> Any:
    svc = make_services(database_url=db_url)
    folder = write_folder(tmp_path / "kb")
    run_ingest(svc, [folder], "town", publish=True)
    svc.settings.server.default_tenant = "town"
    with svc.db.session() as s:
        _, editor = create_user(s, "erin", "editor", "town")
        _, staff = create_user(s, "sam", "staff", "town")
        _, other = create_user(s, "olga", "staff", "tax")
    with TestClient(create_app(svc, warm=False)) as client:
        yield {"svc": svc, "client": client, "folder": folder, "editor": editor, "staff": staff, "other": other}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_held_to_curated_to_suspended(world: Any) -> None:
    c, svc = world["client"], world["svc"]
    held = c.post("/api/v1/ask", json={"question": HELD_Q}).json()
    assert held["decision"] == "held_for_review" and held["citations"] == []
    ticket = held["ticket"]
    assert c.get(f"/api/v1/tickets/{ticket}").json()["status"] == "pending"

    # staff of another tenant see nothing and cannot claim; no token → 401
    assert c.get("/api/v1/review/town/items").status_code == 401
    assert c.get("/api/v1/review/town/items", headers=_auth(world["other"])).status_code == 403
    items = c.get("/api/v1/review/town/items", headers=_auth(world["staff"])).json()
    assert [i["ticket"] for i in items] == [ticket]
    assert items[0]["citations"] and all("text" in p for p in items[0]["citations"])  # passage text for review

    item = c.post("/api/v1/review/town/claim", json={}, headers=_auth(world["editor"])).json()
    assert item["state"] == "claimed" and item["assignee"] == "erin"
    done = c.post(f"/api/v1/review/town/items/{item['id']}", headers=_auth(world["editor"]),
                  json={"action": "edit", "answer": EDITED, "save_curated": True,
                        "question_variants": ["What is the validity period of a resident parking permit?"]})
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "edited" and done.json()["curated_id"]

    shown = c.get(f"/api/v1/tickets/{ticket}?lang=en").json()
    assert shown["status"] == "answered" and shown["answer"] == EDITED and shown["reviewed_by_staff"] is True
    assert shown["citations"] and shown["citations"][0]["chunk_id"].startswith("parking.md:")

    para = c.post("/api/v1/ask", json={"question": "For how long is a parking permit valid?"}).json()
    assert para["decision"] == "answered_curated" and para["answer"].startswith(EDITED)
    assert para["risk"]["level"] == "low" and para["citations"]

    # a new version that rewrites the cited passage suspends the curated answer and queues a re-check
    (world["folder"] / "parking.md").write_text(PARKING.replace("40 dollars", "45 dollars").replace(
        "Residents whose car", "Only residents whose car"), encoding="utf-8")
    run_ingest(svc, [world["folder"]], "town", publish=True)
    with svc.db.session() as s:
        cur = s.scalars(select(CuratedAnswer)).one()
        recheck = s.scalars(select(ReviewItem).where(ReviewItem.kind == "recheck")).one()
        actions = set(s.scalars(select(AuditEvent.action)))
    assert cur.state == "suspended" and recheck.curated_id == cur.id
    assert {"review.create", "review.claim", "review.edit", "curated.add", "curated.suspend", "kb.publish"} <= actions
    again = c.post("/api/v1/ask", json={"question": "For how long is a parking permit valid?"}).json()
    assert again["decision"] != "answered_curated"


def test_rejected_ticket_points_to_the_department(world: Any) -> None:
    c = world["client"]
    ticket = c.post("/api/v1/ask", json={"question": HELD_Q}).json()["ticket"]
    item = c.post("/api/v1/review/town/claim", json={}, headers=_auth(world["staff"])).json()
    r = c.post(f"/api/v1/review/town/items/{item['id']}", headers=_auth(world["staff"]), json={"action": "reject"})
    assert r.json()["state"] == "rejected"
    out = c.get(f"/api/v1/tickets/{ticket}?lang=en").json()
    assert out["status"] == "rejected" and "Town Hall" in out["message"]
    assert c.get("/api/v1/tickets/TNOPE").status_code == 404


def test_staff_only_can_save_curated_only_as_editor(world: Any) -> None:
    c = world["client"]
    c.post("/api/v1/ask", json={"question": HELD_Q})
    item = c.post("/api/v1/review/town/claim", json={}, headers=_auth(world["staff"])).json()
    r = c.post(f"/api/v1/review/town/items/{item['id']}", headers=_auth(world["staff"]),
               json={"action": "approve", "save_curated": True})
    assert r.status_code == 403
    with world["svc"].db.session() as s:  # nothing half-done: the approval rolled back with it
        assert s.get(ReviewItem, item["id"]).state == "claimed"


def test_feedback_not_helpful_queues_a_review_with_redacted_comment(world: Any) -> None:
    c, svc = world["client"], world["svc"]
    ans = c.post("/api/v1/ask", json={"question": "How much does a resident parking permit cost?"}).json()
    assert ans["decision"] == "answered"
    bad = c.post("/api/v1/feedback", json={"trace_id": ans["trace_id"], "helpful": False, "reasons": ["nonsense"]})
    assert bad.status_code == 422
    r = c.post("/api/v1/feedback", json={"trace_id": ans["trace_id"], "helpful": False, "reasons": ["outdated"],
                                         "comment": "wrong, call me on 13812345678 or a@b.example"})
    assert r.status_code == 201 and r.json()["queued_for_review"] is True
    figures = c.get("/api/v1/feedback/town/figures", headers=_auth(world["staff"])).json()
    assert figures["not_helpful"] == 1 and figures["reasons"] == {"outdated": 1}
    with svc.db.session() as s:
        item = s.scalars(select(ReviewItem).where(ReviewItem.kind == "feedback")).one()
        assert "13812345678" not in (item.note or "") and "a@b.example" not in (item.note or "")
        assert "feedback:outdated" in item.risk_reasons


def test_staff_channel_needs_a_staff_token(world: Any) -> None:
    c = world["client"]
    q = {"question": "Can counter staff waive the permit fee?", "channel": "staff"}
    assert c.post("/api/v1/ask", json=q).status_code == 401
    assert c.post("/api/v1/ask", json=q, headers=_auth(world["other"])).status_code == 403
    ok = c.post("/api/v1/ask", json=q, headers=_auth(world["staff"])).json()
    assert any(x["chunk_id"].startswith("staff-notes") for x in ok["citations"])
    cit = c.post("/api/v1/ask", json={"question": q["question"]}).json()
    assert not any(x["chunk_id"].startswith("staff-notes") for x in cit.get("citations", []))
    with world["svc"].db.session() as s:
        assert s.scalars(select(AnswerRecord.channel)).all().count("staff") == 1

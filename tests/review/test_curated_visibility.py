"""Issue 14 item 1: internal guidance must not reach citizens through curated answers.

Visibility travels with every citation copy (answer record → feedback review item → curated answer), a
missing key counts as "internal", and a curated answer built on an internal passage is staff-only.
Through the HTTP API, on SQLite and PostgreSQL, over the shipped sample knowledge."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from qa_service.db.models import AnswerRecord, CuratedAnswer, ReviewItem
from qa_service.ingest.pipeline import run_ingest
from qa_service.users.accounts import create_user
from qa_service.web.app import create_app
from tests.conftest import REPO

pytestmark = pytest.mark.unit
WAIVER_Q = "When may the window lead approve a discretionary fee waiver?"
FILES = ("catalog.yaml", "fee-waiver-discretion.txt", "shoufei-biaozhun-2025.md", "residence-permit.md")


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def city(make_services: Any, db_url: str, tmp_path: Path) -> Any:
    svc = make_services(database_url=db_url)
    folder = tmp_path / "city"
    folder.mkdir()
    for name in FILES:  # a slice of knowledge/city (the whole folder takes a minute to ingest)
        shutil.copy(REPO / "knowledge" / "city" / name, folder / name)
    run_ingest(svc, [folder], "city", publish=True)
    svc.settings.server.default_tenant = "city"
    with svc.db.session() as s:
        _, editor = create_user(s, "erin", "editor", "city")
        _, staff = create_user(s, "sam", "staff", "city")
    with TestClient(create_app(svc, warm=False)) as client:
        yield {"svc": svc, "client": client, "editor": editor, "staff": staff}


def test_internal_answer_saved_from_feedback_stays_staff_only(city: Any) -> None:
    c, svc = city["client"], city["svc"]
    staff_q = {"question": WAIVER_Q, "channel": "staff"}
    first = c.post("/api/v1/ask", json=staff_q, headers=_auth(city["staff"])).json()
    assert first["decision"] == "answered", first
    assert any(x["chunk_id"].startswith("fee-waiver-discretion") for x in first["citations"])
    with svc.db.session() as s:
        rec = s.scalars(select(AnswerRecord).where(AnswerRecord.trace_id == first["trace_id"])).one()
        assert rec.citations and all(x["visibility"] == "internal" for x in rec.citations
                                     if x["chunk_id"].startswith("fee-waiver-discretion"))

    fb = c.post("/api/v1/feedback", json={"trace_id": first["trace_id"], "helpful": False, "reasons": ["unclear"]})
    assert fb.status_code == 201, fb.text
    with svc.db.session() as s:
        item = s.scalars(select(ReviewItem).where(ReviewItem.kind == "feedback")).one()
        assert {x["visibility"] for x in item.citations} >= {"internal"}

    claimed = c.post("/api/v1/review/city/claim", json={"item_id": item.id}, headers=_auth(city["editor"]))
    assert claimed.status_code == 200, claimed.text
    done = c.post(f"/api/v1/review/city/items/{item.id}", headers=_auth(city["editor"]),
                  json={"action": "approve", "save_curated": True})
    assert done.status_code == 200, done.text
    with svc.db.session() as s:
        row = s.scalars(select(CuratedAnswer)).one()
        assert row.visibility == "internal"

    citizen = c.post("/api/v1/ask", json={"question": WAIVER_Q})
    body = citizen.json()
    assert body["decision"] != "answered_curated", body
    assert "intranet" not in citizen.text and "FW-25" not in citizen.text
    again = c.post("/api/v1/ask", json=staff_q, headers=_auth(city["staff"])).json()
    assert again["decision"] == "answered_curated"  # staff still get the reviewed answer


def test_rows_whose_citations_lack_visibility_count_as_internal(city: Any) -> None:
    """Curated answers and review items written before visibility travelled (no key) are never public."""
    c, svc = city["client"], city["svc"]
    q = "Is postage ever waived for a replacement card?"
    legacy = [{"n": 1, "chunk_id": "fee-waiver-discretion.txt:0", "source_id": "fee-waiver-discretion.txt",
               "title": "Fee waivers at the counter (staff note)", "digest": "x",
               "url": "https://intranet.riverton.example/csc/fee-waivers", "text": "Postage is never waived."}]
    with svc.db.session() as s:
        s.add(CuratedAnswer(id=uuid.uuid4().hex[:16], tenant="city", lang="en", questions=[q],
                            answer="Postage (EMS, 12 yuan) is never waived.", citations=legacy, created_by="old"))
    citizen = c.post("/api/v1/ask", json={"question": q})
    assert citizen.json()["decision"] != "answered_curated" and "intranet" not in citizen.text
    staff = c.post("/api/v1/ask", json={"question": q, "channel": "staff"}, headers=_auth(city["staff"])).json()
    assert staff["decision"] == "answered_curated"


def test_migration_marks_existing_curated_rows_by_their_citations(db_url: str) -> None:
    """Rows saved before 0003 get visibility from their citations: public only when every one says public."""
    from qa_service.db.migrate import upgrade
    from qa_service.db.session import Database

    db = Database(db_url)
    upgrade(db.engine, "0002")
    rows = {"nokey": [{"chunk_id": "a:0"}], "mixed": [{"chunk_id": "a:0", "visibility": "public"}, {"chunk_id": "b:0"}],
            "public": [{"chunk_id": "a:0", "visibility": "public"}], "internal": [{"visibility": "internal"}]}
    insert = text("INSERT INTO curated_answers (id, tenant, state, lang, questions, answer, citations, created_by, "
                  "created_at, updated_at) VALUES (:id, 'city', 'active', 'en', :q, 'a', :c, 'old', "
                  "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
    with db.engine.begin() as conn:
        for cid, cits in rows.items():
            conn.execute(insert, {"id": cid, "q": json.dumps(["q"]), "c": json.dumps(cits)})
    db.migrate()
    with db.session() as s:
        got = {r.id: r.visibility for r in s.scalars(select(CuratedAnswer))}
    db.dispose()
    assert got == {"nokey": "internal", "mixed": "internal", "public": "public", "internal": "internal"}

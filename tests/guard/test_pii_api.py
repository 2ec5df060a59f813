"""Issue 14 item 10 end to end: every personal-data format the probe stored unredacted is gone from every row the
service writes (answers, review items, feedback, audit events), through the real HTTP API on SQLite and
PostgreSQL, and the words around each placeholder are kept."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import String, Text, select

from qa_service.db.models import AnswerRecord, AuditEvent, Feedback, ReviewItem
from qa_service.ingest.pipeline import run_ingest
from qa_service.web.app import create_app
from tests.kbdata import write_folder

pytestmark = pytest.mark.integration

# (raw value, how it is written in the text) for each format named in the issue
FORMATS = {
    "spaced resident ID": "110105 1949 1231 002X",
    "dotted mobile": "138.1234.5678",
    "UK number": "+44 20 7946 0958",
    "HKID": "A123456(7)",
    "obfuscated e-mail": "li.si (at) example (dot) com",
    "Chinese name": "张伟",
    "street address": "建国路88号3单元502室",
}
ZH = (f"我叫{FORMATS['Chinese name']}，住在北京市朝阳区{FORMATS['street address']}，身份证{FORMATS['spaced resident ID']}，"
      f"手机{FORMATS['dotted mobile']}，香港身份证{FORMATS['HKID']}，邮箱{FORMATS['obfuscated e-mail']}，"
      f"英国电话{FORMATS['UK number']}。居住证丢了怎么办？")
HELD = (f"How long is a parking permit valid? Call me on {FORMATS['UK number']} or {FORMATS['dotted mobile']}, "
        f"HKID {FORMATS['HKID']}, mail {FORMATS['obfuscated e-mail']}.")


@pytest.fixture
def world(make_services: Any, db_url: str, tmp_path: Path) -> Any:
    svc = make_services(database_url=db_url)
    run_ingest(svc, [write_folder(tmp_path / "kb")], "town", publish=True)
    svc.settings.server.default_tenant = "town"
    with TestClient(create_app(svc, warm=False)) as client:
        yield svc, client


def _stored_text(svc: Any) -> list[str]:
    """Every string and JSON column of every row the answer path, review queue and feedback write."""
    out: list[str] = []
    with svc.db.session() as s:
        for model in (AnswerRecord, ReviewItem, Feedback, AuditEvent):
            for row in s.scalars(select(model)):
                for col in model.__table__.columns:
                    value = getattr(row, col.key)
                    if isinstance(col.type, String | Text) or isinstance(value, dict | list):
                        out.append(str(value))
    return out


def test_every_issue_format_is_redacted_in_answers_review_items_and_feedback(world: Any) -> None:
    svc, c = world
    ans = c.post("/api/v1/ask", json={"question": ZH})
    assert ans.status_code == 200, ans.text
    held = c.post("/api/v1/ask", json={"question": HELD}).json()
    assert held["decision"] == "held_for_review"  # a review item is written from the question
    fb = c.post("/api/v1/feedback", json={"trace_id": ans.json()["trace_id"], "helpful": False,
                                          "reasons": ["outdated"], "comment": ZH})
    assert fb.status_code == 201 and fb.json()["queued_for_review"] is True

    stored = "\n".join(_stored_text(svc))
    for name, value in FORMATS.items():
        assert value not in stored, f"{name} stored unredacted: {value}"
    with svc.db.session() as s:
        row = s.scalars(select(AnswerRecord).where(AnswerRecord.trace_id == ans.json()["trace_id"])).one()
        items = list(s.scalars(select(ReviewItem)))
        comment = s.scalars(select(Feedback.comment)).one()
    # the words around each placeholder stay, so the question is still a question
    expected = ("我叫[NAME]，住在北京市朝阳区[ADDRESS]，身份证[CN_ID]，手机[CN_MOBILE]，香港身份证[HK_ID]，"
                "邮箱[EMAIL]，英国电话[PHONE]。居住证丢了怎么办？")
    assert row.question == unicodedata.normalize("NFKC", expected)  # the input guard stores the NFKC form
    assert comment == expected
    assert "pii_in_question" in row.risk_reasons
    items = [i for i in items if i.kind != "sampled"]  # the medium answer is sampled for review 1 time in 5
    assert sorted(i.kind for i in items) == ["feedback", "held"]
    assert any(i.note == expected for i in items)  # the feedback item's note is the redacted comment
    assert any("[PHONE]" in (i.question or "") and "[HK_ID]" in (i.question or "") for i in items)

"""The staff panel's storage queries on SQLite and PostgreSQL: the earlier turns of an item's conversation, and
editing / reinstating a curated answer (audited)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from qa_service.db.models import AnswerRecord, AuditEvent
from qa_service.db.session import Database
from qa_service.review import curated, queue, triage
from qa_service.settings import ReviewSettings

pytestmark = pytest.mark.integration
CFG = ReviewSettings()
T0 = dt.datetime(2026, 12, 3, 9, 0)


def _answer(trace: str, conv: str | None, question: str, minutes: int, tenant: str = "city") -> AnswerRecord:
    return AnswerRecord(trace_id=trace, tenant=tenant, channel="citizen", conversation_id=conv, question=question,
                        lang="en", decision="answered", answer=f"answer to {question}", risk_level="low",
                        generator="extractive", created_at=T0 + dt.timedelta(minutes=minutes))


def test_conversation_turns_and_curated_edit(db_url: str) -> None:
    db = Database(db_url)
    db.migrate()
    with db.session() as s:
        s.add_all([_answer("t1", "c1", "Do I need a parking permit?", 0),
                   _answer("t2", "c1", "How do I apply?", 1),
                   _answer("t3", "c1", "Is there a fee?", 2),
                   _answer("t4", "c1", "Asked later", 3),
                   _answer("t5", "c2", "Other conversation", 1),
                   _answer("t6", "c1", "Other tenant", 1, tenant="town"),
                   _answer("t7", None, "No conversation", 1)])
        s.flush()
        held = queue.new_item(s, CFG, tenant="city", kind="held", question="Is there a fee?", lang="en",
                              trace_id="t3")
        alone = queue.new_item(s, CFG, tenant="city", kind="held", question="No conversation", lang="en",
                               trace_id="t7")
        assert [t["question"] for t in triage.conversation(s, held)] == ["Do I need a parking permit?",
                                                                         "How do I apply?"]
        assert triage.conversation(s, alone) == []

        row = curated.add(s, tenant="city", questions=["Is there a fee?"], answer="No.", citations=[], lang="en",
                          actor="erin", role="editor")
        curated.suspend(s, row.id, "checking", "erin")
        curated.edit(s, row.id, tenant="city", actor="erin", role="editor", answer="No fee.",
                     questions=["Is there a fee?", "Does it cost anything?"], activate=True,
                     encode=lambda qs: [[1.0, 0.0] for _ in qs], model_id="fake-2d")
        curated.edit(s, row.id, tenant="city", actor="erin", role="editor", answer="No fee.")  # no change: no event
        with pytest.raises(curated.CuratedError):
            curated.edit(s, row.id, tenant="town", actor="erin", role="editor", answer="x")
    with db.session() as s:
        got = s.get(type(row), row.id)
        assert got is not None
        assert (got.state, got.answer, got.questions, got.vector_model) == (
            "active", "No fee.", ["Is there a fee?", "Does it cost anything?"], "fake-2d")
        edits = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "curated.edit")))
        assert len(edits) == 1 and edits[0].detail["changed"] == ["answer", "questions", "state"]

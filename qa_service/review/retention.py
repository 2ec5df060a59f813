"""Retention: answers (questions and answers) older than the configured age are deleted; the purge is audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.orm import Session

from qa_service.audit.trail import record
from qa_service.db.models import AnswerRecord, Feedback, utcnow


def purge(session: Session, older_than_days: int, actor: str = "cli", tenant: str | None = None) -> dict[str, int]:
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1")
    cutoff = utcnow() - dt.timedelta(days=older_than_days)
    q_ans = delete(AnswerRecord).where(AnswerRecord.created_at < cutoff)
    q_fb = delete(Feedback).where(Feedback.created_at < cutoff)
    if tenant:
        q_ans, q_fb = q_ans.where(AnswerRecord.tenant == tenant), q_fb.where(Feedback.tenant == tenant)
    answers = int(session.execute(q_ans).rowcount)  # type: ignore[attr-defined]
    feedback = int(session.execute(q_fb).rowcount)  # type: ignore[attr-defined]
    record(session, actor=actor, role="admin", tenant=tenant, action="retention.purge",
           detail={"older_than_days": older_than_days, "cutoff": cutoff.isoformat(), "answers": answers,
                   "feedback": feedback})
    return {"answers": answers, "feedback": feedback}

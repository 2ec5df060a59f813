"""Feedback on an answer: helpful or not, reason codes, an optional redacted comment. Not helpful ⇒ a review
item carrying the answer as it was given. Only what is acted on is collected."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_service.audit.trail import record
from qa_service.db.models import AnswerRecord, Feedback
from qa_service.guard.pii import redact
from qa_service.review.queue import new_item
from qa_service.settings import ReviewSettings

REASONS = ("wrong", "outdated", "unclear", "did_not_answer", "broken_link")


class FeedbackError(ValueError):
    """Unknown answer or reason code."""


def submit(session: Session, cfg: ReviewSettings, trace_id: str, helpful: bool, reasons: list[str] | None = None,
           comment: str | None = None, actor: str = "anonymous", role: str = "citizen") -> Feedback:
    answer = session.scalar(select(AnswerRecord).where(AnswerRecord.trace_id == trace_id))
    if answer is None:
        raise FeedbackError(f"no answer with trace id {trace_id!r}")
    reasons = list(dict.fromkeys(reasons or []))
    bad = [r for r in reasons if r not in REASONS]
    if bad:
        raise FeedbackError(f"unknown reason {bad[0]!r}; use {', '.join(REASONS)}")
    clean = redact(comment.strip())[0][:2000] if comment and comment.strip() else None
    row = Feedback(tenant=answer.tenant, trace_id=trace_id, helpful=helpful, reasons=reasons, comment=clean)
    session.add(row)
    session.flush()
    record(session, actor=actor, role=role, tenant=answer.tenant, action="feedback.submit", target=str(row.id),
           decision="helpful" if helpful else "not_helpful", reasons=reasons, trace_id=trace_id)
    if not helpful:
        new_item(session, cfg, tenant=answer.tenant, kind="feedback", question=answer.question, lang=answer.lang,
                 draft_answer=answer.answer, citations=answer.citations, risk_level=answer.risk_level,
                 risk_reasons=[*answer.risk_reasons, *(f"feedback:{r}" for r in reasons)], trace_id=trace_id,
                 actor=actor, role=role, note=clean)
    return row


def figures(session: Session, tenant: str) -> dict[str, Any]:
    rows = list(session.scalars(select(Feedback).where(Feedback.tenant == tenant)))
    helpful = sum(r.helpful for r in rows)
    reasons: Counter[str] = Counter(x for r in rows for x in r.reasons)
    return {"tenant": tenant, "total": len(rows), "helpful": helpful, "not_helpful": len(rows) - helpful,
            "helpful_share": round(helpful / len(rows), 4) if rows else None, "reasons": dict(reasons)}

"""What staff need to pick work from the queue: filters (kind, risk, age, SLA), groups of identical questions,
and the conversation an item's question came from (the earlier turns, as recorded and redacted)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_service.db.models import AnswerRecord, ReviewItem, utcnow

SLA_FILTERS = ("overdue", "due_soon", "on_time")
DUE_SOON = dt.timedelta(hours=4)
MAX_TURNS = 10


class FilterError(ValueError):
    """A filter value the queue does not know (422 at the edge)."""


@dataclass(frozen=True)
class QueueFilter:
    kinds: tuple[str, ...] = ()
    risks: tuple[str, ...] = ()
    min_age_hours: float | None = None
    sla: str | None = None

    def __post_init__(self) -> None:
        if self.sla is not None and self.sla not in SLA_FILTERS:
            raise FilterError(f"sla must be one of {', '.join(SLA_FILTERS)}, not {self.sla!r}")
        bad = [r for r in self.risks if r not in ("low", "medium", "high")]
        if bad:
            raise FilterError(f"risk must be low, medium or high, not {bad[0]!r}")

    def keeps(self, item: ReviewItem, now: dt.datetime) -> bool:
        if self.kinds and item.kind not in self.kinds:
            return False
        if self.risks and item.risk_level not in self.risks:
            return False
        if self.min_age_hours is not None and now - item.created_at < dt.timedelta(hours=self.min_age_hours):
            return False
        if self.sla == "overdue":
            return item.sla_due < now
        if self.sla == "due_soon":
            return now <= item.sla_due < now + DUE_SOON
        if self.sla == "on_time":
            return item.sla_due >= now
        return True


def apply(items: list[ReviewItem], flt: QueueFilter, now: dt.datetime | None = None) -> list[ReviewItem]:
    at = now or utcnow()
    return [i for i in items if flt.keeps(i, at)]


def group_key(question: str) -> str:
    """Identical questions share a key: NFKC, case-folded, whitespace and trailing punctuation ignored."""
    text = unicodedata.normalize("NFKC", question).casefold()
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"[\s?？!！.。,，]+$", "", text)


def groups(items: list[ReviewItem]) -> dict[str, list[str]]:
    """Item ids by group key, in queue order; only keys shared by more than one item."""
    out: dict[str, list[str]] = {}
    for i in items:
        out.setdefault(group_key(i.question), []).append(i.id)
    return {k: v for k, v in out.items() if len(v) > 1}


def conversation(session: Session, item: ReviewItem) -> list[dict[str, Any]]:
    """The turns before the item's question in its conversation (oldest first, at most MAX_TURNS), as
    recorded: the redacted question, the answer shown and its decision. Empty for a first question."""
    if not item.trace_id:
        return []
    rec = session.scalar(select(AnswerRecord).where(AnswerRecord.trace_id == item.trace_id))
    if rec is None or not rec.conversation_id:
        return []
    rows = session.scalars(
        select(AnswerRecord).where(AnswerRecord.tenant == item.tenant,
                                   AnswerRecord.conversation_id == rec.conversation_id,
                                   AnswerRecord.created_at <= rec.created_at, AnswerRecord.id != rec.id)
        .order_by(AnswerRecord.created_at.desc(), AnswerRecord.id.desc()).limit(MAX_TURNS))
    return [{"question": r.question, "answer": r.answer, "decision": r.decision,
             "at": r.created_at.isoformat()} for r in reversed(list(rows))]

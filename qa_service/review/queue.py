"""The review queue: items come in from the answer path (held, sampled), feedback, escalations and curated
re-checks; staff claim them under a lease and resolve them. Every transition writes an audit event.

Claiming is safe under concurrency: candidates are locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
and on every database the claim itself is a conditional UPDATE that only one worker can win.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from qa_service.audit.trail import record
from qa_service.db.models import ReviewItem, utcnow
from qa_service.settings import ReviewSettings
from qa_service.users.accounts import Identity

log = logging.getLogger(__name__)
KINDS = ("held", "sampled", "feedback", "escalation", "recheck")
OPEN_STATES = ("pending", "claimed")
RESOLUTIONS = {"approve": "approved", "edit": "edited", "reject": "rejected", "escalate": "escalated"}


class ReviewError(ValueError):
    """Unknown item, wrong tenant, claim lost or expired, bad transition."""


def visibility_of(citation: dict[str, Any]) -> str:
    """"public" only when the citation says so; a missing or unknown value is the strictest, "internal"."""
    return "public" if citation.get("visibility") == "public" else "internal"


def with_visibility(citations: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Copies of ``citations``, each carrying an explicit visibility (missing ⇒ internal)."""
    return [{**c, "visibility": visibility_of(c)} for c in citations or []]


def new_item(session: Session, cfg: ReviewSettings, *, tenant: str, kind: str, question: str, lang: str,
             draft_answer: str = "", citations: list[dict[str, Any]] | None = None, risk_level: str = "high",
             risk_reasons: list[str] | None = None, trace_id: str | None = None, ticket: str | None = None,
             actor: str = "system", role: str = "system", note: str | None = None,
             dedup_key: str | None = None, feedback_count: int = 0) -> ReviewItem:
    """Queue one item (the question must already be redacted) and audit it. ``dedup_key`` is unique among
    open items: inserting a second one raises IntegrityError (callers merge into the first instead)."""
    if kind not in KINDS:
        raise ReviewError(f"kind must be one of {KINDS}")
    hours = cfg.sla_hours_held if kind == "held" else cfg.sla_hours_other
    now = utcnow()
    item = ReviewItem(id=uuid.uuid4().hex[:16], tenant=tenant, kind=kind, state="pending", ticket=ticket,
                      trace_id=trace_id, lang=lang, question=question, draft_answer=draft_answer,
                      citations=with_visibility(citations), risk_level=risk_level,
                      risk_reasons=list(risk_reasons or []), sla_due=now + dt.timedelta(hours=hours), created_at=now,
                      note=note, dedup_key=dedup_key, feedback_count=feedback_count)
    session.add(item)
    session.flush()
    record(session, actor=actor, role=role, tenant=tenant, action="review.create", target=item.id,
           decision=kind, reasons=list(risk_reasons or []), trace_id=trace_id)
    return item


def list_items(session: Session, tenant: str, states: tuple[str, ...] | None = None, limit: int = 100
               ) -> list[ReviewItem]:
    q = select(ReviewItem).where(ReviewItem.tenant == tenant)
    if states:
        q = q.where(ReviewItem.state.in_(states))
    return list(session.scalars(q.order_by(ReviewItem.sla_due, ReviewItem.created_at).limit(limit)))


def get_item(session: Session, item_id: str, tenant: str | None = None) -> ReviewItem:
    item = session.get(ReviewItem, item_id)
    if item is None or (tenant is not None and item.tenant != tenant):
        raise ReviewError(f"no review item {item_id!r}" + (f" in tenant {tenant!r}" if tenant else ""))
    return item


def _claimable(now: dt.datetime, include_escalated: bool) -> Any:
    states = ["pending", "escalated"] if include_escalated else ["pending"]
    return or_(ReviewItem.state.in_(states), (ReviewItem.state == "claimed") & (ReviewItem.lease_until < now))


def claim(session: Session, cfg: ReviewSettings, tenant: str, who: Identity, item_id: str | None = None,
          lease_seconds: int | None = None) -> ReviewItem | None:
    """Claim the most urgent claimable item (or ``item_id``); None when the queue is empty.

    Admins may also claim escalated items. A claim whose lease ran out is claimable again.
    """
    now = utcnow()
    lease = dt.timedelta(seconds=lease_seconds if lease_seconds is not None else cfg.lease_seconds)
    cond = _claimable(now, who.role == "admin")
    postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
    for _ in range(20):
        q = select(ReviewItem.id).where(ReviewItem.tenant == tenant, cond)
        if item_id:
            q = q.where(ReviewItem.id == item_id)
        q = q.order_by(ReviewItem.sla_due, ReviewItem.created_at).limit(1)
        if postgres:
            q = q.with_for_update(skip_locked=True)
        candidate = session.scalar(q)
        if candidate is None:
            return None
        won = _rowcount(session.execute(
            update(ReviewItem).where(ReviewItem.id == candidate, cond)
            .values(state="claimed", assignee=who.name, lease_until=now + lease)
            .execution_options(synchronize_session=False)
        ))
        if won == 1:
            item = session.get(ReviewItem, candidate, populate_existing=True)
            assert item is not None
            record(session, actor=who.name, role=who.role, tenant=tenant, action="review.claim", target=item.id,
                   trace_id=item.trace_id, detail={"lease_s": int(lease.total_seconds())})
            return item
        if item_id:
            return None
    return None


def resolve(session: Session, item_id: str, who: Identity, action: str, *, answer: str | None = None,
            citations: list[dict[str, Any]] | None = None, note: str | None = None) -> ReviewItem:
    """approve | edit | reject | escalate an item the caller holds a live claim on."""
    if action not in RESOLUTIONS:
        raise ReviewError(f"action must be one of {', '.join(RESOLUTIONS)}")
    now = utcnow()
    item = get_item(session, item_id)
    if not who.may("review", item.tenant):
        raise ReviewError(f"{who.name!r} may not review tenant {item.tenant!r}")
    if action == "edit" and not (answer or "").strip():
        raise ReviewError("edit needs the corrected answer")
    if action == "edit":  # every [n] of the corrected answer must name a passage it will be stored with
        from qa_service.review.citing import CitationError, check_against

        cited = citations if citations is not None else item.citations
        try:
            check_against(answer or "", {int(c.get("n", 0)) for c in cited or []})
        except CitationError as exc:
            raise ReviewError(str(exc)) from exc
    state = RESOLUTIONS[action]
    values: dict[str, Any] = {"state": state, "resolved_at": now, "resolved_by": who.name, "lease_until": None,
                              "note": note}
    if action != "escalate":  # a decided item takes no more feedback: later feedback on the answer opens a new one
        values["dedup_key"] = None
    if action in ("approve", "edit"):
        values["final_answer"] = answer if action == "edit" else (answer or item.draft_answer)
        values["final_citations"] = with_visibility(citations if citations is not None else item.citations)
        if not (values["final_answer"] or "").strip():
            raise ReviewError("nothing to approve: the draft is empty; use edit with an answer, or reject")
    if action == "escalate":
        values["assignee"] = None
    won = _rowcount(session.execute(
        update(ReviewItem).where(ReviewItem.id == item_id, ReviewItem.state == "claimed",
                                 ReviewItem.assignee == who.name, ReviewItem.lease_until >= now)
        .values(**values).execution_options(synchronize_session=False)
    ))
    if won != 1:
        raise ReviewError(f"item {item_id} is not claimed by {who.name!r} (or the claim expired); claim it first")
    session.refresh(item)
    record(session, actor=who.name, role=who.role, tenant=item.tenant, action=f"review.{action}", target=item.id,
           decision=state, trace_id=item.trace_id, detail={"note": note} if note else None)
    return item


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


def item_dict(item: ReviewItem) -> dict[str, Any]:
    return {
        "id": item.id, "tenant": item.tenant, "kind": item.kind, "state": item.state, "ticket": item.ticket,
        "trace_id": item.trace_id, "lang": item.lang, "question": item.question,
        "draft_answer": item.draft_answer, "citations": item.citations, "risk_level": item.risk_level,
        "risk_reasons": item.risk_reasons, "assignee": item.assignee,
        "lease_until": item.lease_until.isoformat() if item.lease_until else None,
        "sla_due": item.sla_due.isoformat(), "overdue": item.state in OPEN_STATES and item.sla_due < utcnow(),
        "created_at": item.created_at.isoformat(),
        "resolved_at": item.resolved_at.isoformat() if item.resolved_at else None,
        "resolved_by": item.resolved_by, "final_answer": item.final_answer, "final_citations": item.final_citations,
        "note": item.note, "curated_id": item.curated_id, "feedback_count": item.feedback_count,
    }

"""Feedback on an answer: helpful or not, reason codes, an optional redacted comment. Only what is acted on is
collected.

- One verdict per answer per client: the client is the request address, stored only as a salted HMAC
  (:func:`client_hash`; the salt lives outside the database), unique together with the trace id, so a repeat
  is refused (:class:`DuplicateFeedback`, 409 at the edge) even when two posts race.
- Not helpful ⇒ one review item per answer: the first not-helpful verdict opens it (carrying the answer and
  its citations, each with its visibility), later ones add their reasons, comment and count to that open item.
  The open item holds the unique ``dedup_key`` ``feedback:<trace id>``, so concurrent verdicts cannot open two.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qa_service.audit.trail import record
from qa_service.db.models import AnswerRecord, Feedback, ReviewItem
from qa_service.guard.pii import redact
from qa_service.review.queue import new_item
from qa_service.settings import ReviewSettings

log = logging.getLogger(__name__)
REASONS = ("wrong", "outdated", "unclear", "did_not_answer", "broken_link")
MAX_NOTE_CHARS = 4000


class FeedbackError(ValueError):
    """Unknown answer or reason code."""


class DuplicateFeedback(FeedbackError):
    """This client already gave its verdict on this answer."""


def client_hash(address: str, salt: str) -> str:
    """The stored stand-in for a client address: HMAC-SHA256 under a secret salt (an unsalted hash of an IPv4
    address is reversed by trying all 2**32 of them)."""
    return hmac.new(salt.encode("utf-8"), address.encode("utf-8"), hashlib.sha256).hexdigest()


def load_salt(cfg: ReviewSettings, data_dir: Path) -> str:
    """``review.client_salt``, else a random salt kept in ``data_dir/client_salt`` (made once, mode 0600)."""
    if cfg.client_salt:
        return cfg.client_salt
    path = data_dir / "client_salt"
    if not path.exists():
        # Write a private temporary file, then link it into place: link() fails if the name exists, so the
        # first worker wins and no reader ever sees a half-written (empty) salt file.
        tmp = data_dir / f".client_salt.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:  # another worker made it first
            pass
        finally:
            tmp.unlink()
    salt = path.read_text(encoding="utf-8").strip()
    if not salt:
        raise RuntimeError(f"{path} is empty; delete it or set review.client_salt")
    return salt


def submit(session: Session, cfg: ReviewSettings, trace_id: str, helpful: bool, reasons: list[str] | None = None,
           comment: str | None = None, actor: str = "anonymous", role: str = "citizen",
           client: str | None = None) -> Feedback:
    """Store one verdict; ``client`` is the client's :func:`client_hash` (None: not tied to a client)."""
    answer = session.scalar(select(AnswerRecord).where(AnswerRecord.trace_id == trace_id))
    if answer is None:
        raise FeedbackError(f"no answer with trace id {trace_id!r}")
    reasons = list(dict.fromkeys(reasons or []))
    bad = [r for r in reasons if r not in REASONS]
    if bad:
        raise FeedbackError(f"unknown reason {bad[0]!r}; use {', '.join(REASONS)}")
    duplicate = DuplicateFeedback(f"feedback on answer {trace_id} from this client is already recorded")
    if client is not None and session.scalar(
            select(Feedback.id).where(Feedback.trace_id == trace_id, Feedback.client_hash == client)) is not None:
        raise duplicate
    clean = redact(comment.strip())[0][:2000] if comment and comment.strip() else None
    row = Feedback(tenant=answer.tenant, trace_id=trace_id, helpful=helpful, reasons=reasons, comment=clean,
                   client_hash=client)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:  # the same client's concurrent post won the race
        raise duplicate from exc
    record(session, actor=actor, role=role, tenant=answer.tenant, action="feedback.submit", target=str(row.id),
           decision="helpful" if helpful else "not_helpful", reasons=reasons, trace_id=trace_id)
    if not helpful:
        _queue(session, cfg, answer, reasons, clean, actor, role)
    return row


def _queue(session: Session, cfg: ReviewSettings, answer: AnswerRecord, reasons: list[str], note: str | None,
           actor: str, role: str) -> ReviewItem:
    """Open the answer's feedback review item, or add this verdict to the one already open."""
    key = f"feedback:{answer.trace_id}"
    tagged = [f"feedback:{r}" for r in reasons]
    item = _open_item(session, key)
    if item is None:
        try:
            with session.begin_nested():
                return new_item(session, cfg, tenant=answer.tenant, kind="feedback", question=answer.question,
                                lang=answer.lang, draft_answer=answer.answer, citations=answer.citations,
                                risk_level=answer.risk_level, risk_reasons=[*answer.risk_reasons, *tagged],
                                trace_id=answer.trace_id, actor=actor, role=role, note=note, dedup_key=key,
                                feedback_count=1)
        except IntegrityError:  # a concurrent verdict opened it first: merge into that one
            item = _open_item(session, key)
            if item is None:
                raise
    session.execute(update(ReviewItem).where(ReviewItem.id == item.id)
                    .values(feedback_count=ReviewItem.feedback_count + 1)
                    .execution_options(synchronize_session=False))
    item.risk_reasons = list(dict.fromkeys([*item.risk_reasons, *tagged]))
    if note:
        item.note = f"{item.note}\n{note}"[-MAX_NOTE_CHARS:] if item.note else note
    session.flush()
    session.refresh(item)
    record(session, actor=actor, role=role, tenant=answer.tenant, action="review.feedback_added", target=item.id,
           decision="not_helpful", reasons=tagged, trace_id=answer.trace_id,
           detail={"feedback_count": item.feedback_count})
    log.info("feedback merged item=%s count=%s", item.id, item.feedback_count)
    return item


def _open_item(session: Session, key: str) -> ReviewItem | None:
    return session.scalar(select(ReviewItem).where(ReviewItem.dedup_key == key).with_for_update())


def figures(session: Session, tenant: str) -> dict[str, Any]:
    rows = list(session.scalars(select(Feedback).where(Feedback.tenant == tenant)))
    helpful = sum(r.helpful for r in rows)
    reasons: Counter[str] = Counter(x for r in rows for x in r.reasons)
    return {"tenant": tenant, "total": len(rows), "helpful": helpful, "not_helpful": len(rows) - helpful,
            "helpful_share": round(helpful / len(rows), 4) if rows else None, "reasons": dict(reasons)}

"""Curated answers: staff-approved answers reused for matching questions of the same tenant.

Matching: the best of the embedding cosine (question vs each stored variant) and a character-level
similarity (rapidfuzz; the default embedding model is English-only, so Chinese paraphrases lean on it).
A new live KB version that changes or removes a passage a curated answer cites suspends that answer and
queues it for re-review.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_service.answer.context import AnswerContext, Passage, Sentence
from qa_service.answer.statuses import ANSWERED_CURATED
from qa_service.audit.trail import record
from qa_service.db.models import CuratedAnswer, utcnow
from qa_service.review.queue import new_item
from qa_service.services import Services
from qa_service.settings import ReviewSettings

log = logging.getLogger(__name__)


class CuratedError(ValueError):
    """Unknown curated answer, empty answer or questions."""


def add(session: Session, *, tenant: str, questions: list[str], answer: str, citations: list[dict[str, Any]],
        lang: str, actor: str, role: str = "staff", expires_at: dt.datetime | None = None,
        review_item: str | None = None) -> CuratedAnswer:
    questions = [q.strip() for q in questions if q and q.strip()]
    if not questions or not answer.strip():
        raise CuratedError("a curated answer needs at least one question and an answer")
    row = CuratedAnswer(id=uuid.uuid4().hex[:16], tenant=tenant, lang=lang, questions=questions, answer=answer,
                        citations=citations, expires_at=expires_at, review_item=review_item, created_by=actor)
    session.add(row)
    session.flush()
    record(session, actor=actor, role=role, tenant=tenant, action="curated.add", target=row.id,
           detail={"questions": len(questions), "citations": [c.get("chunk_id") for c in citations]})
    return row


def save_reviewed(session: Session, item: Any, who: Any, variants: list[str]) -> CuratedAnswer:
    """Save an approved or edited review item as a curated answer (editors only); links the item to it."""
    if not who.may("curated", item.tenant):
        raise CuratedError("saving curated answers needs the editor role")
    row = add(session, tenant=item.tenant, questions=[item.question, *variants], answer=item.final_answer or "",
              citations=[c for c in item.final_citations if c.get("cited", True)], lang=item.lang,
              actor=who.name, role=who.role, review_item=item.id)
    item.curated_id = row.id
    return row


def suspend(session: Session, curated_id: str, reason: str, actor: str, role: str = "editor",
            cfg: ReviewSettings | None = None, tenant: str | None = None) -> CuratedAnswer:
    row = session.get(CuratedAnswer, curated_id)
    if row is None or (tenant is not None and row.tenant != tenant):
        raise CuratedError(f"no curated answer {curated_id!r}")
    row.state = "suspended"
    row.suspended_reason = reason[:200]
    row.updated_at = utcnow()
    record(session, actor=actor, role=role, tenant=row.tenant, action="curated.suspend", target=row.id,
           reasons=[reason[:100]])
    if cfg is not None:
        item = new_item(session, cfg, tenant=row.tenant, kind="recheck", question=row.questions[0], lang=row.lang,
                        draft_answer=row.answer, citations=row.citations, risk_level="medium",
                        risk_reasons=["curated_source_changed"], actor=actor, role=role,
                        note=f"curated {row.id}: {reason}")
        item.curated_id = row.id
    return row


def list_curated(session: Session, tenant: str, state: str | None = None) -> list[CuratedAnswer]:
    q = select(CuratedAnswer).where(CuratedAnswer.tenant == tenant)
    if state:
        q = q.where(CuratedAnswer.state == state)
    return list(session.scalars(q.order_by(CuratedAnswer.created_at)))


def curated_dict(row: CuratedAnswer) -> dict[str, Any]:
    return {"id": row.id, "tenant": row.tenant, "state": row.state, "lang": row.lang, "questions": row.questions,
            "answer": row.answer, "citations": row.citations,
            "expires_at": row.expires_at.isoformat() if row.expires_at else None,
            "suspended_reason": row.suspended_reason, "created_by": row.created_by,
            "created_at": row.created_at.isoformat()}


def on_publish(session: Session, live_digests: dict[str, str], tenant: str, version: int, actor: str,
               cfg: ReviewSettings) -> list[str]:
    """Suspend every active curated answer of ``tenant`` citing a chunk that ``version`` changed or removed."""
    suspended = []
    for row in list_curated(session, tenant, "active"):
        stale = [c.get("chunk_id") for c in row.citations
                 if c.get("chunk_id") and live_digests.get(str(c["chunk_id"])) != c.get("digest")]
        if stale:
            suspend(session, row.id, f"v{version} changed or removed {', '.join(map(str, stale[:5]))}", actor,
                    cfg=cfg)
            suspended.append(row.id)
    if suspended:
        log.info("curated suspended tenant=%s version=%s ids=%s", tenant, version, suspended)
    return suspended


def similarity(question: str, q_vec: np.ndarray, variant: str, v_vec: np.ndarray) -> float:
    """max(cosine of the embeddings, character similarity of the texts), 0..1."""
    cos = float(np.dot(q_vec, v_vec))
    chars = fuzz.ratio(question.lower(), variant.lower()) / 100.0
    return max(cos, chars)


class CuratedMatcher:
    """The answer path's curated step (``services.curated_matcher``)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.cfg = services.settings.review
        self._lock = threading.Lock()
        self._vectors: dict[tuple[str, str], np.ndarray] = {}

    def _vector(self, curated_id: str, text: str) -> np.ndarray:
        key = (curated_id, text)
        with self._lock:
            hit = self._vectors.get(key)
        if hit is None:
            hit = np.asarray(self.services.dense.encode_query(text), dtype=np.float32)
            with self._lock:
                self._vectors[key] = hit
        return hit

    def best(self, tenant: str, question: str, channel: str,
             encode: Callable[[str], list[float]] | None = None) -> tuple[CuratedAnswer | None, float]:
        """The closest active curated answer and its similarity; ``encode`` embeds the question."""
        now = utcnow()
        with self.services.db.session() as s:
            rows = [r for r in list_curated(s, tenant, "active") if r.expires_at is None or r.expires_at > now]
            for r in rows:
                s.expunge(r)
        if channel == "citizen":
            rows = [r for r in rows if all(c.get("visibility", "public") == "public" for c in r.citations)]
        if not rows:
            return None, 0.0
        q_vec = np.asarray((encode or self.services.dense.encode_query)(question), dtype=np.float32)
        best: tuple[CuratedAnswer | None, float] = (None, 0.0)
        for r in rows:
            for variant in r.questions:
                score = similarity(question, q_vec, variant, self._vector(r.id, variant))
                if score > best[1]:
                    best = (r, score)
        return best

    def __call__(self, ctx: AnswerContext) -> None:
        def encode(text: str) -> list[float]:  # kept for the retrieve step, which needs the same vector
            if ctx.signals.get("query_vector_text") == text:  # the input guard embedded it already
                return list(ctx.signals["query_vector"])
            vec = self.services.dense.encode_query(text)
            ctx.signals["query_vector"], ctx.signals["query_vector_text"] = vec, text
            return vec

        row, score = self.best(ctx.tenant, ctx.query, ctx.channel, encode)
        ctx.signals["curated_best"] = round(score, 4)
        if row is None or score < self.cfg.curated_min_similarity:
            return
        ctx.passages = [Passage(n=int(c.get("n", i + 1)), chunk_id=str(c.get("chunk_id", "")),
                                source_id=str(c.get("source_id", "")), title=str(c.get("title", "")),
                                text=str(c.get("text") or c.get("snippet") or ""), digest=str(c.get("digest", "")),
                                score=1.0, heading=str(c.get("heading") or ""), url=c.get("url"),
                                visibility=str(c.get("visibility", "public")))
                        for i, c in enumerate(row.citations)]
        ctx.sentences = [Sentence(text=row.answer, cites=[p.n for p in ctx.passages], support=1.0)]
        ctx.signals["curated_id"] = row.id
        ctx.generator = "curated"
        ctx.risk_level = "low"
        ctx.stop(ANSWERED_CURATED)

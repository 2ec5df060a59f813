"""Curated answers: staff-approved answers reused for matching questions of the same tenant.

- Visibility: every citation of a curated answer carries ``visibility`` (missing ⇒ "internal"; the source
  ledger can only make it stricter), and the answer is "public" only when all of them are. Anything else is
  staff-only: never matched on the citizen channel.
- Variants are capped in number and length (ReviewSettings) and embedded once, at save: the vectors and the
  model id are stored with the row, so every API worker and every restart reuse them; a row embedded by another
  model (or before vectors were stored) is re-embedded on first use and stored again.
- Matching asks for the same service, not the same question shape (qa_service/review/matching.py).
- A new live KB version that changes or removes a passage a curated answer cites suspends that answer and
  queues it for re-review.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from qa_service.answer.context import AnswerContext, Passage, Sentence
from qa_service.answer.statuses import ANSWERED_CURATED
from qa_service.audit.trail import record
from qa_service.db.models import CuratedAnswer, ReviewItem, Source, utcnow
from qa_service.review.matching import same_service_score
from qa_service.review.queue import new_item, visibility_of, with_visibility
from qa_service.services import Services
from qa_service.settings import ReviewSettings
from qa_service.text import is_chinese

log = logging.getLogger(__name__)
Encoder = Callable[[Sequence[str]], list[list[float]]]


class CuratedError(ValueError):
    """Unknown curated answer, empty answer or questions."""


class CuratedLimitError(CuratedError):
    """Too many question variants, or one too long (422 at the edge)."""


def check_questions(questions: list[str], cfg: ReviewSettings) -> list[str]:
    """The stripped, de-duplicated questions; CuratedLimitError past the caps."""
    out = list(dict.fromkeys(q.strip() for q in questions if q and q.strip()))
    if len(out) > cfg.curated_max_variants:
        raise CuratedLimitError(f"a curated answer holds at most {cfg.curated_max_variants} question variants "
                                f"(review.curated_max_variants); got {len(out)}")
    long = [i for i, q in enumerate(out) if len(q) > cfg.curated_max_variant_chars]
    if long:
        raise CuratedLimitError(f"question variant {long[0] + 1} has {len(out[long[0]])} characters; at most "
                                f"{cfg.curated_max_variant_chars} (review.curated_max_variant_chars)")
    return out


def strictest_citations(session: Session, tenant: str, citations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Citations with an explicit visibility: missing ⇒ internal, and internal whenever the ledger says the
    cited source is internal (a hand-made citation cannot make internal guidance public)."""
    out = with_visibility(citations)
    ids = {str(c.get("source_id")) for c in out if c.get("source_id")}
    if ids:
        internal = set(session.scalars(select(Source.source_id).where(
            Source.tenant == tenant, Source.source_id.in_(ids), Source.visibility != "public")))
        for c in out:
            if str(c.get("source_id")) in internal:
                c["visibility"] = "internal"
    return out


def pack(vectors: list[list[float]]) -> bytes:
    return np.asarray(vectors, dtype=np.float32).tobytes()


def unpack(row: CuratedAnswer, model_id: str) -> np.ndarray | None:
    """The stored variant vectors (one row per question), or None when missing, stale or mis-shaped."""
    if row.vectors is None or row.vector_model != model_id or not row.questions:
        return None
    flat = np.frombuffer(row.vectors, dtype=np.float32)
    if flat.size == 0 or flat.size % len(row.questions):
        return None
    return flat.reshape(len(row.questions), -1)


def add(session: Session, *, tenant: str, questions: list[str], answer: str, citations: list[dict[str, Any]],
        lang: str, actor: str, role: str = "staff", expires_at: dt.datetime | None = None,
        review_item: str | None = None, cfg: ReviewSettings | None = None,
        encode: Encoder | None = None, model_id: str | None = None) -> CuratedAnswer:
    """Save a curated answer; with ``encode`` and ``model_id`` its variants are embedded now (else on first use)."""
    questions = check_questions(questions, cfg or ReviewSettings())
    if not questions or not answer.strip():
        raise CuratedError("a curated answer needs at least one question and an answer")
    cited = strictest_citations(session, tenant, citations)
    visibility = "public" if all(c["visibility"] == "public" for c in cited) else "internal"
    row = CuratedAnswer(id=uuid.uuid4().hex[:16], tenant=tenant, lang=lang, questions=questions, answer=answer,
                        citations=cited, expires_at=expires_at, review_item=review_item, created_by=actor,
                        visibility=visibility)
    if encode is not None and model_id:
        row.vectors, row.vector_model = pack(encode(questions)), model_id
    session.add(row)
    session.flush()
    record(session, actor=actor, role=role, tenant=tenant, action="curated.add", target=row.id,
           detail={"questions": len(questions), "citations": [c.get("chunk_id") for c in cited],
                   "visibility": visibility})
    return row


def save_reviewed(session: Session, item: Any, who: Any, variants: list[str], cfg: ReviewSettings | None = None,
                  encode: Encoder | None = None, model_id: str | None = None) -> CuratedAnswer:
    """Save an approved or edited review item as a curated answer (editors only); links the item to it."""
    if not who.may("curated", item.tenant):
        raise CuratedError("saving curated answers needs the editor role")
    row = add(session, tenant=item.tenant, questions=[item.question, *variants], answer=item.final_answer or "",
              citations=[c for c in item.final_citations if c.get("cited", True)], lang=item.lang,
              actor=who.name, role=who.role, review_item=item.id, cfg=cfg, encode=encode, model_id=model_id)
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


def edit(session: Session, curated_id: str, *, tenant: str, actor: str, role: str,
         answer: str | None = None, questions: list[str] | None = None, activate: bool = False,
         cfg: ReviewSettings | None = None, encode: Encoder | None = None,
         model_id: str | None = None) -> CuratedAnswer:
    """Edit a curated answer's text and question variants (re-embedded at once when ``encode`` is given), and
    with ``activate`` put a suspended one back in use. Audited as ``curated.edit`` with what changed."""
    row = session.get(CuratedAnswer, curated_id)
    if row is None or row.tenant != tenant:
        raise CuratedError(f"no curated answer {curated_id!r}")
    changed: list[str] = []
    if answer is not None:
        if not answer.strip():
            raise CuratedError("a curated answer needs an answer")
        if answer != row.answer:
            row.answer, changed = answer, [*changed, "answer"]
    if questions is not None:
        checked = check_questions(questions, cfg or ReviewSettings())
        if not checked:
            raise CuratedError("a curated answer needs at least one question")
        if checked != list(row.questions):
            row.questions, changed = checked, [*changed, "questions"]
            row.vectors, row.vector_model = None, None
            if encode is not None and model_id:
                row.vectors, row.vector_model = pack(encode(checked)), model_id
    if activate and row.state != "active":
        row.state, row.suspended_reason, changed = "active", None, [*changed, "state"]
    if not changed:
        return row
    row.updated_at = utcnow()
    session.flush()
    record(session, actor=actor, role=role, tenant=tenant, action="curated.edit", target=row.id,
           detail={"changed": changed, "questions": len(row.questions), "state": row.state})
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
            "created_at": row.created_at.isoformat(), "visibility": row.visibility,
            "updated_at": row.updated_at.isoformat() if row.updated_at else None, "review_item": row.review_item,
            "embedded_with": row.vector_model}


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


def citizen_may_see(row: CuratedAnswer) -> bool:
    """Public rows whose every citation is public (a citation without visibility counts as internal)."""
    return row.visibility == "public" and all(visibility_of(c) == "public" for c in row.citations)


class CuratedMatcher:
    """The answer path's curated step (``services.curated_matcher``)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.cfg = services.settings.review
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str]) -> list[list[float]]:
        return self.services.dense.encode_queries(list(texts))  # question to question

    def vectors(self, row: CuratedAnswer) -> np.ndarray:
        """The row's stored variant vectors; embedded and stored when missing or made by another model."""
        model_id = self.services.dense.model_id
        vecs = unpack(row, model_id)
        if vecs is not None:
            return vecs
        with self._lock:  # one re-embedding per process at a time
            blob = pack(self._encode(row.questions))
            with self.services.db.session() as s:
                s.execute(update(CuratedAnswer).where(CuratedAnswer.id == row.id)
                          .values(vectors=blob, vector_model=model_id).execution_options(synchronize_session=False))
        log.info("curated embedded id=%s variants=%s model=%s previous=%s", row.id, len(row.questions), model_id,
                 row.vector_model)
        row.vectors, row.vector_model = blob, model_id
        return np.frombuffer(blob, dtype=np.float32).reshape(len(row.questions), -1)

    def thresholds(self, question: str) -> tuple[float, float]:
        """(lexical weight, minimum score) for the question's language."""
        cfg = self.cfg
        if is_chinese(question):
            return cfg.curated_lexical_weight_zh, cfg.curated_min_similarity_zh
        return cfg.curated_lexical_weight, cfg.curated_min_similarity

    def best(self, tenant: str, question: str, channel: str,
             encode: Callable[[str], list[float]] | None = None) -> tuple[CuratedAnswer | None, float]:
        """The closest active curated answer and its same-service score; ``encode`` embeds the question."""
        now = utcnow()
        with self.services.db.session() as s:
            rows = [r for r in list_curated(s, tenant, "active") if r.expires_at is None or r.expires_at > now]
            for r in rows:
                s.expunge(r)
        if channel == "citizen":
            rows = [r for r in rows if citizen_may_see(r)]
        places = self.services.places  # issue 22: never another place's rule, nor a notice no longer in force
        barred = places.barred(tenant, question) if places is not None and rows else set()
        if barred:
            rows = [r for r in rows if not any(str(c.get("source_id")) in barred for c in r.citations)]
        if not rows:
            return None, 0.0
        q_vec = np.asarray((encode or self.services.dense.encode_query)(question), dtype=np.float32)
        weight, _ = self.thresholds(question)
        best: tuple[CuratedAnswer | None, float] = (None, 0.0)
        for r in rows:
            cosines = self.vectors(r) @ q_vec
            for variant, cos in zip(r.questions, cosines, strict=True):
                score = same_service_score(question, variant, float(cos), weight)
                if score > best[1]:
                    best = (r, score)
        return best

    def written_by_staff(self, row: CuratedAnswer) -> bool:
        """Staff wrote the text (added directly, or an edited review item); False for an AI draft approved as is."""
        if not row.review_item:
            return True
        with self.services.db.session() as s:
            state = s.scalar(select(ReviewItem.state).where(ReviewItem.id == row.review_item))
        return state != "approved"

    def __call__(self, ctx: AnswerContext) -> None:
        def encode(text: str) -> list[float]:  # kept for the retrieve step, which needs the same vector
            if text in ctx.vectors:  # the input guard embedded it already
                return list(ctx.vectors[text])
            vec = self.services.dense.encode_query(text)
            ctx.vectors[text] = vec
            return vec

        row, score = self.best(ctx.tenant, ctx.query, ctx.channel, encode)
        ctx.curated_score = round(score, 4)
        if row is None or score < self.thresholds(ctx.query)[1]:
            return
        ctx.passages = [Passage(n=int(c.get("n", i + 1)), chunk_id=str(c.get("chunk_id", "")),
                                source_id=str(c.get("source_id", "")), title=str(c.get("title", "")),
                                text=str(c.get("text") or c.get("snippet") or ""), digest=str(c.get("digest", "")),
                                score=1.0, heading=str(c.get("heading") or ""), url=c.get("url"),
                                visibility=visibility_of(c))
                        for i, c in enumerate(row.citations)]
        ctx.sentences = [Sentence(text=row.answer, cites=[p.n for p in ctx.passages], support=1.0)]
        ctx.curated_id = row.id
        ctx.curated_by_staff = self.written_by_staff(row)
        ctx.generator = "curated"
        ctx.risk_level = "low"
        ctx.stop(ANSWERED_CURATED)

"""Record: the redacted question, the answer, its decision, risk, citations with chunk ids, digests and
visibility, the passage snapshots shown to the generator, versions and per-step timings.

Every stored citation says whether its passage is ``public`` or ``internal``: feedback and review items copy
citations from this record, and a curated answer built from them must know what it may show citizens."""

from __future__ import annotations

import logging
from typing import Any

from qa_service.answer.context import AnswerContext
from qa_service.answer.statuses import BLOCKED_CLASSIFIED
from qa_service.audit.trail import record as audit
from qa_service.db.models import AnswerRecord
from qa_service.db.session import Database

log = logging.getLogger(__name__)


class Record:
    """In: the whole context. Out: one answers row (none for classified text) and the audit events."""

    name = "record"
    always = True

    def __init__(self, db: Database) -> None:
        self.db = db

    def run(self, ctx: AnswerContext) -> None:
        from qa_service.answer.response import citations

        with self.db.session() as s:
            if ctx.status == BLOCKED_CLASSIFIED:  # content is never stored
                audit(s, actor="anonymous" if ctx.channel == "citizen" else "staff", role=ctx.channel,
                      tenant=ctx.tenant, action="ask.blocked", decision=ctx.status, reasons=ctx.risk_reasons,
                      trace_id=ctx.trace_id)
                return
            draft = ctx.draft
            model, prompt_hash, raw = (draft.model, draft.prompt_hash, draft.raw_output) if draft else (None,) * 3
            rejected = ctx.rejection
            if rejected:  # what the model said is kept beside the extractive answer that was shown instead
                model, prompt_hash, raw = rejected.model, rejected.prompt_hash, rejected.raw_output
            cited = _with_visibility(ctx, citations(ctx))
            s.add(AnswerRecord(
                trace_id=ctx.trace_id, tenant=ctx.tenant, channel=ctx.channel, conversation_id=ctx.conversation_id,
                question=ctx.question, standalone_question=ctx.standalone, lang=ctx.lang,
                decision=ctx.status or "error_internal", answer=ctx.answer_text or ctx.message,
                risk_level=ctx.risk_level, risk_reasons=list(ctx.risk_reasons), citations=cited,
                passages=[p.snapshot() for p in ctx.passages], removed_sentences=ctx.removed,
                kb_version=ctx.kb_version, generator=ctx.generator, model=model, prompt_hash=prompt_hash,
                llm_endpoint=ctx.llm_endpoint,
                retrieval_confidence=ctx.risk.confidence if ctx.risk else None, timings_ms=dict(ctx.timings_ms),
                raw_output=raw,
            ))
            if rejected:
                audit(s, actor="system", role="model", tenant=ctx.tenant, action="llm.output_rejected",
                      decision=ctx.status, reasons=[f"llm_output_rejected:{rejected.kind}"],
                      trace_id=ctx.trace_id, detail={"model": rejected.model, "endpoint": ctx.llm_endpoint})
            if ctx.status and ctx.status.startswith("blocked"):
                audit(s, actor="anonymous" if ctx.channel == "citizen" else "staff", role=ctx.channel,
                      tenant=ctx.tenant, action="ask.blocked", decision=ctx.status, reasons=ctx.risk_reasons,
                      trace_id=ctx.trace_id)


def _with_visibility(ctx: AnswerContext, cited: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The response's citations plus each passage's visibility ("internal" unless the passage says public)."""
    vis = {p.n: p.visibility for p in ctx.passages}
    return [{**c, "visibility": "public" if vis.get(c["n"]) == "public" else "internal"} for c in cited]

"""Where the answer path's route step sends answers that need a person (``services.review_sink``)."""

from __future__ import annotations

from typing import Any

from qa_service.answer.context import AnswerContext
from qa_service.review.queue import new_item
from qa_service.services import Services


def passages_cited(ctx: AnswerContext) -> list[dict[str, Any]]:
    """Citations with the full passage text as the generator saw it (reviewers judge against it)."""
    used = {n for s in ctx.sentences for n in s.cites}
    return [{"n": p.n, "chunk_id": p.chunk_id, "source_id": p.source_id, "title": p.title, "url": p.url,
             "heading": p.heading, "digest": p.digest, "visibility": p.visibility, "text": p.text,
             "cited": p.n in used} for p in ctx.passages]


class ReviewSink:
    def __init__(self, services: Services) -> None:
        self.services = services

    def __call__(self, ctx: AnswerContext) -> None:
        kind = ctx.route.review if ctx.route is not None else None
        if kind not in ("held", "sampled"):
            return
        with self.services.db.session() as s:
            new_item(s, self.services.settings.review, tenant=ctx.tenant, kind=kind, question=ctx.question,
                     lang=ctx.lang, draft_answer=ctx.answer_text, citations=passages_cited(ctx),
                     risk_level=ctx.risk_level, risk_reasons=list(ctx.risk_reasons), trace_id=ctx.trace_id,
                     ticket=ctx.ticket if kind == "held" else None,
                     actor="anonymous" if ctx.channel == "citizen" else "staff", role=ctx.channel)

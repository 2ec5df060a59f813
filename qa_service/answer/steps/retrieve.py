"""Retrieve: hybrid dense + BM25 (+ Han-bigram BM25 for Chinese) over the tenant's live version,
fused by weighted RRF in one Qdrant query. Weights follow the query's language and how sure its lead retriever is
(qa_service/kb/search.py adaptive_weights), then reordered by a cross-encoder when one is configured.
Filters: visibility allowed for the channel, validity dates (expired passages are excluded and reported).
"""

from __future__ import annotations

import logging

from qa_service.answer.context import AnswerContext, Passage
from qa_service.answer.statuses import ERROR_NO_KNOWLEDGE_BASE, NO_CONTENT
from qa_service.kb.search import visibility_for
from qa_service.kb.types import Hit
from qa_service.services import Services

log = logging.getLogger(__name__)


class Retrieve:
    name = "retrieve"
    always = False

    def __init__(self, services: Services) -> None:
        self.services = services
        self.cfg = services.settings.retrieval

    def run(self, ctx: AnswerContext) -> None:
        if ctx.history and not ctx.standalone:
            ctx.standalone = self._standalone(ctx)
        query = ctx.query
        reuse = ctx.signals.get("query_vector_text") == query  # the curated step may have embedded it already
        res = self.services.retriever.retrieve(
            ctx.tenant, query, k=self.cfg.top_k, visibility=visibility_for(ctx.channel),
            exclude_sources=ctx.exclude_sources or None, query_vector=ctx.signals["query_vector"] if reuse else None)
        if res.version is None:
            ctx.stop(ERROR_NO_KNOWLEDGE_BASE, "no_live_version")
            return
        ctx.kb_version = res.version
        ctx.passages = [_passage(i + 1, h) for i, h in enumerate(res.hits)]
        ctx.signals.update(res.signals())
        ctx.signals["query_vector"] = res.query_vector
        if res.expired:
            ctx.add_reason("expired_source_excluded")
        if not ctx.passages:
            ctx.stop(NO_CONTENT, "no_passages")

    def _standalone(self, ctx: AnswerContext) -> str:
        gen = getattr(self.services, "generator", None)
        if gen is not None and getattr(gen, "name", "") == "llm":
            rewritten: str = gen.rewrite(ctx.question, ctx.history, ctx.lang)
            return rewritten
        return f"{ctx.history[-1]} {ctx.question}"


def _passage(n: int, h: Hit) -> Passage:
    p = h.payload
    return Passage(
        n=n, chunk_id=h.chunk_id, source_id=str(p.get("source_id")), title=str(p.get("title") or ""),
        text=str(p.get("text") or ""), digest=str(p.get("digest") or ""), score=h.score,
        heading=str(p.get("heading") or ""), url=p.get("url"), page=p.get("page"), kind=str(p.get("kind") or "text"),
        visibility=str(p.get("visibility") or "public"), language=p.get("language"), expiry=p.get("expiry"),
    )

"""Retrieve: hybrid dense + BM25 (+ Han-bigram BM25 for Chinese) over the tenant's live version,
fused by weighted RRF in one Qdrant query. Weights follow the query's language and how sure its lead retriever is
(qa_service/kb/search.py adaptive_weights), then reordered by a cross-encoder when one is configured.
Filters: visibility allowed for the channel, validity dates (expired passages are excluded and reported).
"""

from __future__ import annotations

import datetime as dt
import logging

from qa_service.answer.context import AnswerContext, Passage
from qa_service.answer.statuses import ERROR_NO_KNOWLEDGE_BASE, NO_CONTENT
from qa_service.ingest.catalog import date_int
from qa_service.kb.search import adaptive_weights, rrf_k_for, visibility_for
from qa_service.kb.types import CJK, Hit, SearchFilter
from qa_service.services import Services
from qa_service.text import is_chinese

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
        live = self.services.live.get(ctx.tenant)
        if live is None:
            ctx.stop(ERROR_NO_KNOWLEDGE_BASE, "no_live_version")
            return
        ctx.kb_version, reader = live
        query = ctx.query
        zh = is_chinese(query)
        reuse = ctx.signals.get("query_vector_text") == query  # the curated step may have embedded it already
        dense_q = ctx.signals["query_vector"] if reuse else self.services.dense.encode_query(query)
        sparse_q = self.services.sparse.embed_query(query)
        cjk_q = self.services.cjk.embed_query(query)  # empty unless the question has Han characters
        flt = SearchFilter(visibility=visibility_for(ctx.channel), exclude_source_ids=ctx.exclude_sources or None)
        k, pre = self.cfg.top_k, self.cfg.prefetch
        dense_hits = reader.dense(dense_q, flt, 5)
        sparse_hits = reader.sparse(sparse_q, flt, 5)
        cjk_hits = reader.sparse(cjk_q, flt, 2, using=CJK)
        dense_top = dense_hits[0].score if dense_hits else 0.0
        s_scores = [h.score for h in sparse_hits]
        sparse_gap = (s_scores[0] - s_scores[-1]) / s_scores[0] if len(s_scores) > 1 and s_scores[0] > 0 else 0.0
        weights = adaptive_weights(self.cfg, query, [h.score for h in dense_hits], s_scores,
                                   [h.score for h in cjk_hits])
        limit = max(k * 3, self.cfg.rerank_candidates if self.services.reranker is not None else 0)
        hits = reader.hybrid(dense_q, sparse_q, flt, limit=limit, prefetch=pre, weights=weights,
                             rrf_k=rrf_k_for(self.cfg, query), cjk=cjk_q)
        today = date_int(dt.date.today(), 0)
        valid: list[Hit] = []
        expired: list[str] = []
        for h in hits:
            eff, exp = int(h.payload.get("effective") or 0), int(h.payload.get("expiry") or 99991231)
            if eff <= today <= exp:
                valid.append(h)
            else:
                expired.append(h.chunk_id)
        if ctx.channel == "citizen":
            leaked = [h.chunk_id for h in valid if h.payload.get("visibility") != "public"]
            if leaked:  # impossible by the filter; never show it if it happens
                log.error("retrieve visibility leak trace=%s chunks=%s", ctx.trace_id, leaked)
                valid = [h for h in valid if h.payload.get("visibility") == "public"]
        reranker = self.services.reranker
        if reranker is not None and valid:
            pool = valid[: max(k, self.cfg.rerank_candidates)]
            ranked = reranker.order(query, [str(h.payload.get("text") or "") for h in pool])
            valid = [pool[i] for i, _ in ranked]
            ctx.signals["rerank_top"] = round(ranked[0][1], 4)
        valid = valid[:k]
        ctx.passages = [_passage(i + 1, h) for i, h in enumerate(valid)]
        stats = self.services.term_stats.get(ctx.tenant, ctx.kb_version, reader)
        cover = [stats.coverage(sparse_q.indices, set(self.services.sparse.embed_document(p.text).indices))
                 for p in ctx.passages[:3]]
        ctx.signals["idf_coverage"] = round(max(cover, default=0.0), 4)
        ctx.signals.update({
            "query_lang": "zh" if zh else "en",
            "weights": [round(w, 3) for w in weights],
            "dense_top": round(dense_top, 4),
            "sparse_top": round(s_scores[0], 4) if s_scores else 0.0,
            "sparse_gap": round(sparse_gap, 4),
            "expired_excluded": expired,
            "query_vector": dense_q,
        })
        if expired:
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

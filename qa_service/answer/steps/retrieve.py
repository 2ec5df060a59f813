"""Retrieve: the tenant's live version through the one hybrid retriever (qa_service/kb/retriever.py: dense + BM25
(+ Han-bigram BM25 for Chinese) fused by weighted RRF, validity dates, optional cross-encoder), with the
channel's visibility. Passages not in force are excluded and reported (``expired_source_excluded``), except those
the place filter's ``PlaceCheck.admit`` lets back in (an expired notice nothing current answers better, or one in
force in the past period the question names: cited with a warning by the place check).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from qa_service.answer.context import AnswerContext, Passage
from qa_service.answer.statuses import ERROR_NO_KNOWLEDGE_BASE, NO_CONTENT
from qa_service.answer.text import is_elliptical
from qa_service.kb.search import visibility_for
from qa_service.kb.types import Hit
from qa_service.place import place_from_payload
from qa_service.settings import RetrievalSettings

if TYPE_CHECKING:
    from qa_service.answer.generate.base import Generator
    from qa_service.kb.places import PlaceCheck, PlaceFilter
    from qa_service.kb.retriever import HybridRetriever

log = logging.getLogger(__name__)


class Retrieve:
    """In: the question, history, channel, hold-outs and the query vector. Out: ``ctx.retrieval`` (the
    RetrievalResult), the numbered passages, ``ctx.kb_version``; a stop without a live version or passages."""

    name = "retrieve"
    always = False

    def __init__(self, retriever: HybridRetriever, settings: RetrievalSettings,
                 rewriter: Generator | None = None, places: PlaceFilter | None = None) -> None:
        self.retriever = retriever
        self.cfg = settings
        self.rewriter = rewriter  # the LLM rewrites a follow-up question; otherwise the last question is prefixed
        self.places = places  # keeps other places' documents out when the question names a place (issue 22)

    def run(self, ctx: AnswerContext) -> None:
        if ctx.history and is_elliptical(ctx.query):  # the query: the question without greetings and thanks
            ctx.turn = ctx.query  # what it asks for stays this turn's ("and how long?" after "how do I renew?")
            ctx.standalone = self._standalone(ctx)  # a self-contained question keeps its own topic
        query = ctx.query
        plan = self.places.plan(ctx.tenant, query) if self.places is not None else None
        exclude = [*ctx.exclude_sources, *(plan.excluded + plan.superseded if plan is not None else [])]
        res = self.retriever.retrieve(  # the guard or the curated step may have embedded the query already
            ctx.tenant, query, k=self.cfg.top_k, visibility=visibility_for(ctx.channel),
            exclude_sources=exclude or None, query_vector=ctx.vectors.get(query),
            ends=plan.ends if plan is not None else None, admit=plan.admit if plan is not None else None)
        if plan is not None and plan.excluded and res.version is not None:
            plan.elsewhere = self._elsewhere(ctx, plan, res.hits, res.query_vector)
        ctx.place = plan
        if res.version is None:
            ctx.stop(ERROR_NO_KNOWLEDGE_BASE, "no_live_version")
            return
        ctx.retrieval = res
        ctx.kb_version = res.version
        ctx.passages = [_passage(i + 1, h) for i, h in enumerate(res.hits)]
        ctx.vectors[query] = res.query_vector
        if res.expired:
            ctx.add_reason("expired_source_excluded")
        if not ctx.passages:
            ctx.stop(NO_CONTENT, "no_passages")

    def _elsewhere(self, ctx: AnswerContext, plan: PlaceCheck, hits: list[Hit], vector: list[float]) -> list[str]:
        """When no place-specific passage of the asked place was found: the places whose documents the same
        question finds without the filter (to say plainly that the rule held belongs elsewhere)."""
        if any(place_from_payload(h.payload) is not None and h.payload.get("place_level") != "national"
               for h in hits):
            return []
        wide = self.retriever.retrieve(ctx.tenant, ctx.query, k=self.cfg.top_k, visibility=visibility_for(ctx.channel),
                                       exclude_sources=[*ctx.exclude_sources, *plan.superseded] or None,
                                       query_vector=vector, coverage=False, ends=plan.ends)
        gone = set(plan.excluded)
        names = [str(h.payload.get("place") or "") for h in wide.hits if h.payload.get("source_id") in gone]
        return list(dict.fromkeys(n for n in names if n))

    def _standalone(self, ctx: AnswerContext) -> str:
        if self.rewriter is not None and self.rewriter.name == "llm":
            return self.rewriter.rewrite(ctx.query, ctx.history, ctx.lang)
        return f"{ctx.history[-1]} {ctx.query}"


def passage_of(n: int, h: Hit, via: int | None = None) -> Passage:
    """A hit as the passage numbered ``n`` (``via``: added beside retrieved passage ``via``, not retrieved)."""
    p = _passage(n, h)
    p.via = via
    return p


def _passage(n: int, h: Hit) -> Passage:
    p = h.payload
    return Passage(
        n=n, chunk_id=h.chunk_id, source_id=str(p.get("source_id")), title=str(p.get("title") or ""),
        text=str(p.get("text") or ""), digest=str(p.get("digest") or ""), score=h.score,
        heading=str(p.get("heading") or ""), url=p.get("url"), page=p.get("page"), kind=str(p.get("kind") or "text"),
        visibility=str(p.get("visibility") or "public"), language=p.get("language"), expiry=p.get("expiry"),
        effective=int(p.get("effective") or 0), place=place_from_payload(p), office=p.get("office") or None,
        section_type=str(p.get("section_type") or ""),
    )

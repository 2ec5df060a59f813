"""Expand: the typed sections of the best retrieved guides join the passages, so the generator can answer with a
guide's own units (the asked section whole, or an overview) rather than the few passages retrieval ranked.

The sources of the first ``max_sources`` retrieved passages that are not FAQ entries are read
(:class:`~qa_service.answer.guides.GuideSections`); each of their element-typed chunks not retrieved already is
appended, numbered after the retrieved passages, with ``via`` = the retrieved passage of its guide it was added
beside. Retrieved passages keep their numbers and order (risk and confidence read them).
"""

from __future__ import annotations

import logging

from qa_service.answer.context import AnswerContext
from qa_service.answer.guides import GuideSections
from qa_service.answer.steps.retrieve import passage_of
from qa_service.kb.search import visibility_for

log = logging.getLogger(__name__)


class ExpandSections:
    """In: the passages, tenant, channel, ``kb_version``, the query vector. Out: the passages with the element
    sections of the best guides appended."""

    name = "expand"
    always = False

    def __init__(self, sections: GuideSections, max_sources: int) -> None:
        self.sections = sections
        self.max_sources = max_sources

    def run(self, ctx: AnswerContext) -> None:
        if self.max_sources <= 0 or not ctx.passages:
            return
        anchors: dict[str, int] = {}  # source id -> the first retrieved passage of it
        for p in ctx.passages:
            if p.kind != "faq" and p.source_id not in anchors:
                anchors[p.source_id] = p.n
        have = {p.chunk_id for p in ctx.passages}
        qvec = ctx.vectors.get(ctx.query) or (ctx.retrieval.query_vector if ctx.retrieval is not None else [])
        added = 0
        for source_id, anchor in list(anchors.items())[: self.max_sources]:
            for hit in self.sections.element_chunks(ctx.tenant, ctx.kb_version, source_id,
                                                    visibility_for(ctx.channel), qvec):
                if hit.chunk_id in have:
                    continue
                have.add(hit.chunk_id)
                ctx.passages.append(passage_of(len(ctx.passages) + 1, hit, via=anchor))
                added += 1
        if added:
            log.debug("expand trace=%s added=%d", ctx.trace_id, added)

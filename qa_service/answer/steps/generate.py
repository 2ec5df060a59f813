"""Generate: the configured backend drafts an answer from the numbered passages."""

from __future__ import annotations

import logging

from qa_service.answer.context import AnswerContext
from qa_service.answer.generate.base import GeneratorUnavailable
from qa_service.answer.statuses import BLOCKED_INJECTION, CANNOT_ANSWER, ERROR_LLM_UNAVAILABLE, NO_CONTENT
from qa_service.services import Services

log = logging.getLogger(__name__)


class Generate:
    name = "generate"
    always = False

    def __init__(self, services: Services) -> None:
        self.services = services

    def run(self, ctx: AnswerContext) -> None:
        from qa_service.guard.output import screen_passages

        screened = screen_passages(ctx.passages)  # sentences that talk to the model never reach it
        if screened.cut:
            ctx.signals["cut_sentences"] = screened.cut
            ctx.add_reason("output_guard:instruction_sentence_cut")
        if screened.dropped:
            ctx.signals["dropped_passages"] = screened.dropped
            ctx.add_reason("instruction_passage_dropped")
        ctx.passages = screened.passages
        if screened.dropped and not ctx.passages:
            ctx.stop(NO_CONTENT, "nothing_relevant")
            return
        gen = self.services.generator
        ctx.generator = gen.name
        try:
            if gen.name == "extractive":
                draft = gen.generate(ctx.query, ctx.passages, ctx.lang,
                                     query_vector=ctx.signals.get("query_vector"))
            else:
                draft = gen.generate(ctx.query, ctx.passages, ctx.lang)
        except GeneratorUnavailable as exc:
            log.warning("generate unavailable trace=%s error=%s", ctx.trace_id, exc)
            ctx.stop(ERROR_LLM_UNAVAILABLE, "llm_unavailable")
            return
        ctx.draft = draft
        if getattr(draft, "canary_leaked", False):  # the model was made to reveal its instructions
            ctx.stop(BLOCKED_INJECTION, "output_guard:canary_leaked")
            return
        ctx.sentences = list(draft.sentences)
        if draft.completeness == "partial":
            ctx.add_reason("model_partial")
        if not ctx.sentences or draft.completeness == "none":
            ctx.stop(NO_CONTENT if gen.name == "extractive" else CANNOT_ANSWER, "nothing_relevant")
            return
        verifier = getattr(self.services, "verifier", None)
        if verifier is not None:
            ok, reason = verifier.check(ctx.query, ctx.sentences, ctx.passages, ctx.lang)
            ctx.signals["verifier"] = reason
            if not ok:
                ctx.add_reason("verifier_disagreement")

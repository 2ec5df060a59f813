"""Generate: the configured backend drafts an answer from the numbered passages.

With the ``llm`` backend the model's draft must survive the same support check the check step applies (every
sentence supported by a passage it cites, every figure stated by one); a draft that does not — or a model that
times out, fails, replies unparseably or echoes its instructions (the canary) — is rejected and the extractive
answer over the same passages is used instead, with the reason code ``llm_output_rejected:<kind>``. A model's
failure is never the asker's fault: only the input guard decides that a question is an attack. An accepted
generated draft is cross-checked against the extractive answer's figures (``cross_check_disagreement``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from qa_service.answer.context import AnswerContext, Draft, LlmRejection, Screening, Sentence
from qa_service.answer.crosscheck import figures_disagree
from qa_service.answer.generate.base import GeneratorUnavailable
from qa_service.answer.generate.llm import split_answer
from qa_service.answer.statuses import NO_CONTENT
from qa_service.answer.steps.check import SupportChecker

if TYPE_CHECKING:
    from qa_service.answer.generate.extractive import ExtractiveGenerator
    from qa_service.answer.generate.llm import LlmGenerator
    from qa_service.answer.generate.verify import LlmVerifier

log = logging.getLogger(__name__)
LLM_REJECTED = "llm_output_rejected"
_OPEN_MARKER = re.compile(r"[\[【［][^\]】］]*$")  # a citation marker still arriving


class Generate:
    """In: the passages, the query, ``ctx.retrieval`` (streaming waits for a confident retrieval) and the query
    vector. Out: ``ctx.screening``, ``ctx.draft`` and its sentences, ``ctx.generator``, ``ctx.rejection`` when a
    model draft was replaced, ``ctx.verifier``; a stop when nothing can be drafted."""

    name = "generate"
    always = False

    def __init__(self, generator: ExtractiveGenerator | LlmGenerator, verifier: LlmVerifier | None, *,
                 fallback: ExtractiveGenerator, checker: SupportChecker, stream_min_confidence: float) -> None:
        self.generator, self.verifier, self.fallback = generator, verifier, fallback
        self.checker = checker
        self.stream_min_confidence = stream_min_confidence

    def run(self, ctx: AnswerContext) -> None:
        from qa_service.guard.output import screen_passages

        screened = screen_passages(ctx.passages)  # sentences that talk to the model never reach it
        ctx.screening = Screening(list(screened.cut), list(screened.dropped))
        if screened.cut:
            ctx.add_reason("output_guard:instruction_sentence_cut")
        if screened.dropped:
            ctx.add_reason("instruction_passage_dropped")
        ctx.passages = screened.passages
        if screened.dropped and not ctx.passages:
            ctx.stop(NO_CONTENT, "nothing_relevant")
            return

        gen = self.generator
        draft = self._extractive(ctx) if gen.name == "extractive" else self._generated(ctx, cast("LlmGenerator", gen))
        ctx.draft = draft
        ctx.sentences = list(draft.sentences)
        if draft.completeness == "partial":
            ctx.add_reason("model_partial")
        if not ctx.sentences or draft.completeness == "none":
            ctx.stop(NO_CONTENT, "nothing_relevant")
            return
        verifier = self.verifier
        if verifier is not None and ctx.generator != "extractive":
            ok, reason = verifier.check(ctx.query, ctx.sentences, ctx.passages, ctx.lang)
            ctx.verifier = reason
            if reason.startswith("verifier_unavailable"):
                ctx.add_reason("verifier_unavailable")  # the configured cross-check did not run: visible, not silent
            elif not ok:
                ctx.add_reason("verifier_disagreement")

    def _extractive(self, ctx: AnswerContext) -> Draft:
        ctx.generator = "extractive"
        return self.fallback.generate(ctx.query, ctx.passages, ctx.lang, query_vector=ctx.vectors.get(ctx.query),
                                      intent=ctx.turn)

    def _streamer(self, ctx: AnswerContext) -> Callable[[str], None] | None:
        """A callback for the model's growing answer that passes each completed sentence through the support and
        figure checks and hands the ones that pass to ``ctx.on_sentence``. Nothing streams when retrieval alone
        already makes the answer high risk (it will be held). The final answer, after every step, replaces what
        streamed."""
        sink = ctx.on_sentence
        if sink is None:
            return None
        conf = ctx.retrieval.confidence if ctx.retrieval is not None else 0.0
        if conf < self.stream_min_confidence:
            return None
        numbers = {p.n for p in ctx.passages}
        done = 0

        def on_answer(text: str) -> None:
            nonlocal done
            # a sentence is complete once the next one has begun (its [n] markers have arrived by then)
            parts = split_answer(_OPEN_MARKER.sub("", text))
            complete = parts[:-1]
            for sentence_text, cites in complete[done:]:
                sentence = Sentence(sentence_text, [n for n in cites if n in numbers])
                kept, _removed, _reasons = self.checker.check([sentence], ctx.passages, generated=True)
                if kept:
                    sink(sentence_text + "".join(f"[{n}]" for n in kept[0].cites))
            done = max(done, len(complete))

        return on_answer

    def _generated(self, ctx: AnswerContext, gen: LlmGenerator) -> Draft:
        """The model's draft when it survives the checks; else the extractive draft and the rejection reason."""
        ctx.generator = gen.name
        ctx.llm_endpoint = gen.settings.base_url
        kind, draft = "", None
        try:
            draft = gen.generate(ctx.query, ctx.passages, ctx.lang, on_answer=self._streamer(ctx))
        except GeneratorUnavailable as exc:
            kind = exc.kind
            log.warning("generate llm_rejected trace=%s kind=%s error=%s", ctx.trace_id, kind, exc)
        if draft is not None and getattr(draft, "canary_leaked", False):
            kind = "canary"  # the model repeated its instructions: a model failure, not the asker's attack
            log.error("generate llm_rejected trace=%s kind=canary model=%s", ctx.trace_id, draft.model)
        elif draft is not None and draft.sentences and draft.completeness != "none":
            kept, _removed, _reasons = self.checker.check(draft.sentences, ctx.passages, generated=True)
            if not kept:
                kind = "unsupported"
        elif draft is not None:
            kind = "no_answer"
        extractive = self.fallback.generate(ctx.query, ctx.passages, ctx.lang, query_vector=ctx.vectors.get(ctx.query))
        if not kind and draft is not None:
            if figures_disagree([s.text for s in draft.sentences], [s.text for s in extractive.sentences]):
                ctx.add_reason("cross_check_disagreement")
            return draft
        ctx.add_reason(f"{LLM_REJECTED}:{kind}")
        ctx.rejection = LlmRejection(kind=kind, model=gen.settings.model,
                                     prompt_hash=draft.prompt_hash if draft is not None else None,
                                     raw_output=(draft.raw_output or "")[:4000] if draft is not None else None)
        ctx.generator = "extractive"
        return extractive

"""Check citations: every sentence must be supported by a passage it cites.

Support = max over the cited passages of max(rapidfuzz partial match, blend of term overlap and
embedding similarity). Citations to passages not given are removed; unsupported sentences are
removed and recorded; nothing left ⇒ cannot answer.
"""

from __future__ import annotations

import logging

import numpy as np
from rapidfuzz import fuzz

from qa_service.answer.context import AnswerContext, Passage, Sentence
from qa_service.answer.statuses import CANNOT_ANSWER
from qa_service.answer.text import is_cjk, overlap, terms
from qa_service.services import Services


def support_score(sentence: str, passage: str, sim: float) -> float:
    """How well ``passage`` supports ``sentence`` (0..1)."""
    exact = fuzz.partial_ratio(sentence, passage) / 100 if len(sentence) <= len(passage) else 0.0
    lexical = overlap(terms(sentence), passage)
    w = 0.2 if is_cjk(sentence) else 0.5
    return max(exact if exact >= 0.9 else exact * 0.8, (1 - w) * lexical + w * max(sim, 0.0))


log = logging.getLogger(__name__)


class CheckCitations:
    name = "check"
    always = False

    def __init__(self, services: Services) -> None:
        self.services = services
        self.threshold = services.settings.answer.support_threshold

    def run(self, ctx: AnswerContext) -> None:
        by_n: dict[int, Passage] = {p.n: p for p in ctx.passages}
        need_sim = ctx.generator != "extractive"
        kept: list[Sentence] = []
        sims: np.ndarray | None = None
        if need_sim and ctx.sentences:
            svec = np.asarray(self.services.dense.encode([s.text for s in ctx.sentences], 32))
            pvec = np.asarray(self.services.dense.encode([p.text for p in ctx.passages], 32))
            sims = svec @ pvec.T
        index = {p.n: i for i, p in enumerate(ctx.passages)}
        invented = list(getattr(ctx.draft, "invalid_cites", []) or [])  # the LLM parser already dropped them
        if invented:
            ctx.add_reason("invalid_citation_removed")
            ctx.removed.append({"sentence": None, "reason": "invalid_citation", "cites": invented})
        for si, s in enumerate(ctx.sentences):
            valid = [n for n in dict.fromkeys(s.cites) if n in by_n]
            invalid = [n for n in s.cites if n not in by_n]
            if invalid:
                ctx.add_reason("invalid_citation_removed")
                ctx.removed.append({"sentence": s.text, "reason": "invalid_citation", "cites": invalid})
            best, best_n = 0.0, None
            for n in valid:
                sim = float(sims[si, index[n]]) if sims is not None else 0.0
                score = support_score(s.text, by_n[n].text, sim)
                if score > best:
                    best, best_n = score, n
            if best_n is None or best < self.threshold:
                ctx.removed.append({"sentence": s.text, "reason": "unsupported", "support": round(best, 3)})
                ctx.add_reason("unsupported_sentence_removed")
                continue
            kept.append(Sentence(s.text, [n for n in valid if n == best_n] + [n for n in valid if n != best_n],
                                 round(best, 3)))
        ctx.sentences = self._output_guard(ctx, kept, by_n)
        if not ctx.sentences:
            ctx.stop(CANNOT_ANSWER, "no_supported_sentence")

    def _output_guard(self, ctx: AnswerContext, kept: list[Sentence], by_n: dict[int, Passage]) -> list[Sentence]:
        """Inert markup, no personal data the cited passages do not contain, nothing internal for citizens."""
        from qa_service.guard.output import allowed_hosts, guard_sentence

        hosts = allowed_hosts(ctx.passages)
        out: list[Sentence] = []
        for s in kept:
            cited = [by_n[n] for n in s.cites if n in by_n]
            if ctx.channel == "citizen" and any(p.visibility != "public" for p in cited):
                log.error("output guard: internal passage cited on the citizen channel trace=%s", ctx.trace_id)
                ctx.removed.append({"sentence": s.text, "reason": "internal_on_citizen_channel"})
                continue
            safe, notes = guard_sentence(s, cited, hosts)
            for note in dict.fromkeys(notes):
                ctx.add_reason(f"output_guard:{note}")
            if safe.text.strip():
                out.append(safe)
        return out

"""Check citations: every sentence must be supported by a passage it cites.

Support = max over the cited passages of max(rapidfuzz partial match, blend of term overlap and
embedding similarity). Citations to passages not given are removed; unsupported sentences are
removed and recorded; nothing left ⇒ cannot answer.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

import numpy as np
from rapidfuzz import fuzz

from qa_service.answer.context import AnswerContext, Passage, Sentence
from qa_service.answer.crosscheck import unsupported_figures
from qa_service.answer.statuses import CANNOT_ANSWER
from qa_service.answer.text import overlap, terms
from qa_service.ingest.sections import strip_numbering
from qa_service.kb.types import DenseEncoder
from qa_service.text import is_chinese

_MD_ROW_SEP = re.compile(r"^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$")
_MD_BULLET = re.compile(r"^(?:[-*•]\s+)")


def plain(text: str) -> str:
    """Text without the light Markdown an answer may carry (bold, list bullets, table pipes and separator rows), so
    a section quoted as a list or a table is compared with its passage as written."""
    lines = []
    for line in text.replace("**", "").split("\n"):
        ln = line.strip()
        if not ln or _MD_ROW_SEP.match(ln):
            continue
        if ln.startswith("|"):
            ln = ln.strip("|").strip()
        lines.append(_MD_BULLET.sub("", ln))
    return "\n".join(lines)


def support_text(p: Passage) -> str:
    """What a passage states: its text under its own heading (a section's label is the guide's heading)."""
    own = p.heading.rpartition(" > ")[2].strip()
    return f"{strip_numbering(own)}\n{p.text}" if own else p.text


def support_score(sentence: str, passage: str, sim: float) -> float:
    """How well ``passage`` supports ``sentence`` (0..1), both without Markdown."""
    sentence, passage = plain(sentence), plain(passage)
    exact = fuzz.partial_ratio(sentence, passage) / 100 if len(sentence) <= len(passage) else 0.0
    lexical = overlap(terms(sentence), passage)
    w = 0.2 if is_chinese(sentence) else 0.5
    return max(exact if exact >= 0.9 else exact * 0.8, (1 - w) * lexical + w * max(sim, 0.0))


log = logging.getLogger(__name__)


class SupportChecker:
    """Which sentences the passages they cite support: ``check`` keeps a sentence when one of its valid citations
    scores at least ``threshold`` (``support_score``) and, for a generated answer, when every figure it states
    (amount, date, deadline, phone number) is stated by a passage it cites (qa_service/answer/crosscheck.py)."""

    def __init__(self, dense: DenseEncoder, threshold: float) -> None:
        self.dense = dense
        self.threshold = threshold

    def check(self, sentences: list[Sentence], passages: list[Passage], *,
              generated: bool) -> tuple[list[Sentence], list[dict[str, Any]], list[str]]:
        """(kept sentences with their support, removed sentences with why, reason codes)."""
        by_n: dict[int, Passage] = {p.n: p for p in passages}
        index = {p.n: i for i, p in enumerate(passages)}
        sims: np.ndarray | None = None
        if generated and sentences and passages:
            svec = np.asarray(self.dense.encode([s.text for s in sentences], 32))
            pvec = np.asarray(self.dense.encode([p.text for p in passages], 32))
            sims = svec @ pvec.T
        kept: list[Sentence] = []
        removed: list[dict[str, Any]] = []
        reasons: list[str] = []
        for si, s in enumerate(sentences):
            valid = [n for n in dict.fromkeys(s.cites) if n in by_n]
            invalid = [n for n in s.cites if n not in by_n]
            if invalid:
                reasons.append("invalid_citation_removed")
                removed.append({"sentence": s.text, "reason": "invalid_citation", "cites": invalid})
            best, best_n = 0.0, None
            for n in valid:
                sim = float(sims[si, index[n]]) if sims is not None else 0.0
                score = support_score(s.text, support_text(by_n[n]), sim)
                if score > best:
                    best, best_n = score, n
            if best_n is None or best < self.threshold:
                removed.append({"sentence": s.text, "reason": "unsupported", "support": round(best, 3)})
                reasons.append("unsupported_sentence_removed")
                continue
            if generated:
                invented = unsupported_figures(s.text, [by_n[n].text for n in valid])
                if invented:  # a figure no cited passage states never reaches the reader
                    removed.append({"sentence": s.text, "reason": "unsupported_figure", "figures": invented})
                    reasons.append("generated_figure_removed")
                    continue
            kept.append(replace(s, cites=[n for n in valid if n == best_n] + [n for n in valid if n != best_n],
                                support=round(best, 3)))
        return kept, removed, list(dict.fromkeys(reasons))


class CheckCitations:
    """In: the drafted sentences and the passages. Out: the supported sentences (output-guarded), the removed ones
    with why, reason codes; a stop when none is left."""

    name = "check"
    always = False

    def __init__(self, checker: SupportChecker) -> None:
        self.checker = checker

    def run(self, ctx: AnswerContext) -> None:
        by_n: dict[int, Passage] = {p.n: p for p in ctx.passages}
        invented = list(getattr(ctx.draft, "invalid_cites", []) or [])  # the LLM parser already dropped them
        if invented:
            ctx.add_reason("invalid_citation_removed")
            ctx.removed.append({"sentence": None, "reason": "invalid_citation", "cites": invented})
        kept, removed, reasons = self.checker.check(ctx.sentences, ctx.passages,
                                                    generated=ctx.generator not in ("extractive", "curated"))
        ctx.removed.extend(removed)
        for r in reasons:
            ctx.add_reason(r)
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

"""Input guard: normalise, cap length, redact personal data before anything is stored or sent, then
refuse classified markings, prompt injection / jailbreaks and harmful requests (qa_service/guard/checks.py).
Questions the rules let through are compared with the project's attack exemplars
(qa_service/guard/similarity.py); a close match ends the question as ``blocked_injection`` with
``injection:similar_to_exemplar`` and ``injection:family:<family>`` — or ``out_of_scope`` when the
family is an off-task order ("write a poem", "a recipe for cake"): refused, but the citizen is pointed
to where to ask instead of being treated as an attacker.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from qa_service.answer.context import AnswerContext, GuardVerdict
from qa_service.answer.courtesy import core
from qa_service.answer.statuses import BLOCKED_INJECTION, ERROR_INVALID_INPUT, OUT_OF_SCOPE
from qa_service.guard.checks import OFF_TASK_FAMILIES, inspect, matching_text
from qa_service.guard.pii import redact
from qa_service.guard.similarity import SimilarityGuard
from qa_service.ingest.normalise import normalise
from qa_service.text import language

if TYPE_CHECKING:
    from qa_service.services import Services


class InputGuard:
    """In: the question and history. Out: the redacted question, ``ctx.lang``, ``ctx.guard`` (a GuardVerdict) and
    the question's vector in ``ctx.vectors``; a stop when the question is refused."""

    name = "guard"
    always = False

    def __init__(self, max_chars: int, similarity: SimilarityGuard) -> None:
        self.max_chars = max_chars
        self.similarity = similarity  # its exemplar matrix is embedded on first use, not at start-up

    def run(self, ctx: AnswerContext) -> None:
        text, notes = normalise(unicodedata.normalize("NFKC", ctx.question or ""))
        text = " ".join(text.split())
        verdict = GuardVerdict(unicode_removed=notes or None)
        ctx.guard = verdict
        redacted, pii = redact(text)
        ctx.question = redacted
        plain = core(redacted)  # greetings and thanks are not search terms (answer/courtesy.yaml)
        if plain != redacted:
            ctx.standalone = plain
        ctx.history = [redact(normalise(h)[0])[0] for h in ctx.history]
        if pii:
            verdict.pii = sorted({m.kind for m in pii})
            ctx.add_reason("pii_in_question")
        if ctx.lang not in ("zh", "en"):
            ctx.lang = language(text)
        rules = inspect(" ".join([text[:20000], *ctx.history]))  # long attacks are still named as attacks
        verdict.decoded_payloads = len(rules.decoded) if rules.decoded else 0
        if rules.status is not None:
            verdict.status, verdict.reasons = rules.status, list(rules.reasons)
            ctx.stop(rules.status, *rules.reasons)
            return
        # the model sees the redacted text only; its vector of the whole question is kept for the
        # curated and retrieve steps, which would otherwise embed the same text again
        probe = matching_text(" ".join([plain[:20000], *ctx.history]))
        vectors = dict(ctx.vectors)  # a vector already on the context is not embedded again
        match = self.similarity.check(probe, vectors)
        if probe == ctx.query and probe in vectors and probe not in ctx.vectors:
            ctx.vectors[probe] = vectors[probe]  # only the query's: the sentences' vectors serve nothing later
        if match is not None:
            verdict.similarity = {"similarity": match.similarity, "margin": match.margin, "family": match.family}
            if match.blocked:
                reasons = ["injection:similar_to_exemplar", f"injection:family:{match.family}"]
                # an order to write a poem or code is not an attack on its own: it is out of this service's scope
                status = OUT_OF_SCOPE if match.family in OFF_TASK_FAMILIES else BLOCKED_INJECTION
                verdict.status, verdict.reasons = status, reasons
                ctx.stop(status, *reasons)
                return
        if not text or len(text) > self.max_chars:
            ctx.stop(ERROR_INVALID_INPUT, "empty_question" if not text else "question_too_long")


def shared_similarity(services: Services) -> SimilarityGuard:
    """The answer path's similarity guard (one per Services: ``services.similarity_guard``)."""
    return services.similarity_guard

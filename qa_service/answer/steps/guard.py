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

from qa_service.answer.context import AnswerContext
from qa_service.answer.statuses import BLOCKED_INJECTION, ERROR_INVALID_INPUT, OUT_OF_SCOPE
from qa_service.guard.checks import OFF_TASK_FAMILIES, inspect, matching_text
from qa_service.guard.pii import redact
from qa_service.guard.similarity import SimilarityGuard
from qa_service.ingest.normalise import normalise
from qa_service.services import Services
from qa_service.text import is_chinese


class InputGuard:
    name = "guard"
    always = False

    def __init__(self, services: Services) -> None:
        self.max_chars = services.settings.answer.max_question_chars
        self.services = services
        self._similarity: SimilarityGuard | None = None

    @property
    def similarity(self) -> SimilarityGuard:
        """Built on first use: the exemplar matrix is embedded then, not at start-up."""
        if self._similarity is None:
            self._similarity = shared_similarity(self.services)
        return self._similarity

    def run(self, ctx: AnswerContext) -> None:
        text, notes = normalise(unicodedata.normalize("NFKC", ctx.question or ""))
        text = " ".join(text.split())
        if notes:
            ctx.signals["unicode_removed"] = notes
        redacted, pii = redact(text)
        ctx.question = redacted
        ctx.history = [redact(normalise(h)[0])[0] for h in ctx.history]
        if pii:
            ctx.signals["pii"] = sorted({m.kind for m in pii})
            ctx.add_reason("pii_in_question")
        if ctx.lang not in ("zh", "en"):
            ctx.lang = "zh" if is_chinese(text) else "en"
        verdict = inspect(" ".join([text[:20000], *ctx.history]))  # long attacks are still named as attacks
        if verdict.decoded:
            ctx.signals["decoded_payloads"] = len(verdict.decoded)
        if verdict.status is not None:
            ctx.signals["guard"] = verdict.reasons
            ctx.stop(verdict.status, *verdict.reasons)
            return
        # the model sees the redacted text only; its vector of the whole question is kept for the
        # curated and retrieve steps, which would otherwise embed the same text again
        probe = matching_text(" ".join([redacted[:20000], *ctx.history]))
        vectors: dict[str, list[float]] = {}
        match = self.similarity.check(probe, vectors)
        if probe == ctx.query and probe in vectors:
            ctx.signals["query_vector"], ctx.signals["query_vector_text"] = vectors[probe], probe
        if match is not None:
            ctx.signals["guard_similarity"] = {"similarity": match.similarity, "margin": match.margin,
                                               "family": match.family}
            if match.blocked:
                reasons = ["injection:similar_to_exemplar", f"injection:family:{match.family}"]
                ctx.signals["guard"] = reasons
                # an order to write a poem or code is not an attack on its own: it is out of this service's scope
                ctx.stop(OUT_OF_SCOPE if match.family in OFF_TASK_FAMILIES else BLOCKED_INJECTION, *reasons)
                return
        if not text or len(text) > self.max_chars:
            ctx.stop(ERROR_INVALID_INPUT, "empty_question" if not text else "question_too_long")


def shared_similarity(services: Services) -> SimilarityGuard:
    """One similarity guard per Services (the exemplar matrix is embedded once per process)."""
    guard = services.__dict__.get("_guard_similarity")
    if guard is None:
        guard = SimilarityGuard(services.dense, services.settings.guard)
        services.__dict__["_guard_similarity"] = guard
    return guard

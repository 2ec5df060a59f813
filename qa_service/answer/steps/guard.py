"""Input guard: normalise, cap length, redact personal data before anything is stored or sent, then
refuse classified markings, prompt injection / jailbreaks and harmful requests (qa_service/guard/checks.py).
"""

from __future__ import annotations

import unicodedata

from qa_service.answer.context import AnswerContext
from qa_service.answer.statuses import ERROR_INVALID_INPUT
from qa_service.answer.text import is_cjk
from qa_service.guard.checks import inspect
from qa_service.guard.pii import redact
from qa_service.ingest.normalise import normalise
from qa_service.services import Services


class InputGuard:
    name = "guard"
    always = False

    def __init__(self, services: Services) -> None:
        self.max_chars = services.settings.answer.max_question_chars

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
            ctx.lang = "zh" if is_cjk(text) else "en"
        verdict = inspect(" ".join([text[:20000], *ctx.history]))  # long attacks are still named as attacks
        if verdict.decoded:
            ctx.signals["decoded_payloads"] = len(verdict.decoded)
        if verdict.status is not None:
            ctx.signals["guard"] = verdict.reasons
            ctx.stop(verdict.status, *verdict.reasons)
            return
        if not text or len(text) > self.max_chars:
            ctx.stop(ERROR_INVALID_INPUT, "empty_question" if not text else "question_too_long")

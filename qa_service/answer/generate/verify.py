"""Cross-validation: a second model judges whether the draft is supported by the passages it cites.

Reply schema: ``{"supported": true|false, "reason": "..."}``. A verifier outage must not block
answers but must be visible: ``check`` then returns ``(True, "verifier_unavailable: …")`` and logs a
warning; the generate step keeps the reason string (``ctx.verifier``) and adds ``verifier_unavailable`` to the
risk reasons.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from qa_service.answer.context import Passage, Sentence
from qa_service.answer.generate.base import GeneratorUnavailable
from qa_service.answer.generate.llm import ChatClient, MalformedReply, extract_json
from qa_service.answer.generate.prompts import PromptError, PromptLibrary, prompt_name
from qa_service.settings import LlmSettings

log = logging.getLogger(__name__)

VERIFIER_UNAVAILABLE = "verifier_unavailable"
_MAX_REASON = 500


def parse_verdict(raw: str) -> tuple[bool, str]:
    """``{"supported": bool, "reason": str}`` → (supported, reason); ``MalformedReply`` otherwise."""
    obj = extract_json(raw)
    supported: Any = obj.get("supported")
    if isinstance(supported, str) and supported.strip().lower() in ("true", "false", "yes", "no"):
        supported = supported.strip().lower() in ("true", "yes")
    if not isinstance(supported, bool):
        raise MalformedReply(f"verdict has supported={obj.get('supported')!r}")
    reason = obj.get("reason", "")
    text = reason if isinstance(reason, str) else ("" if reason is None else str(reason))
    return supported, " ".join(text.split())[:_MAX_REASON]


def is_unavailable(reason: str) -> bool:
    """Whether a ``check`` reason reports a verifier outage rather than a verdict."""
    return reason.startswith(VERIFIER_UNAVAILABLE)


class LlmVerifier:
    """Second-opinion check of a draft against its cited passages."""

    name = "llm_verifier"

    def __init__(self, settings: LlmSettings, prompts: PromptLibrary, *, backoff_s: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.prompts = prompts
        self.client = ChatClient(settings, purpose="verify", backoff_s=backoff_s, sleep=sleep)

    def check(self, question: str, sentences: list[Sentence], passages: list[Passage],
              lang: str) -> tuple[bool, str]:
        """(supported, reason). On any failure: (True, "verifier_unavailable: <why>") and a warning."""
        if not sentences:
            return True, "nothing to verify"
        try:
            prompt = self.prompts.render_chat(prompt_name("verify", lang, question), question=question,
                                              sentences=sentences, passages=passages)
            verdict, _raw = self.client.complete_parsed(prompt.system, prompt.user, parse_verdict)
            supported, reason = verdict
        except (GeneratorUnavailable, PromptError) as exc:
            log.warning("verifier_unavailable model=%s error=%s", self.settings.model, exc)
            return True, f"{VERIFIER_UNAVAILABLE}: {exc}"[:_MAX_REASON]
        except Exception as exc:
            log.exception("verifier_unavailable model=%s error=%s", self.settings.model, type(exc).__name__)
            return True, f"{VERIFIER_UNAVAILABLE}: unexpected {type(exc).__name__}"
        log.info("verifier_verdict model=%s supported=%s", self.settings.model, supported)
        return bool(supported), reason or ("supported" if supported else "not supported")

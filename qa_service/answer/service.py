"""Ask a question: build the context, run the path, return the answer JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qa_service.answer.context import AnswerContext
from qa_service.answer.response import to_response
from qa_service.services import Services


def ask(
    services: Services,
    question: str,
    tenant: str,
    channel: str = "citizen",
    lang: str | None = None,
    qid: str | None = None,
    conversation_id: str | None = None,
    history: list[str] | None = None,
    on_sentence: Callable[[str], None] | None = None,
) -> tuple[AnswerContext, dict[str, Any]]:
    """Answer one question; the context is returned too (for evaluation and the API). ``on_sentence`` receives
    checked sentences while a generating model streams (the returned answer is still the authority)."""
    if channel not in ("citizen", "staff"):
        raise ValueError(f"channel must be citizen or staff, not {channel!r}")
    ctx = AnswerContext(question=question, tenant=tenant, channel=channel, lang=lang or "auto", qid=qid,
                        conversation_id=conversation_id, history=list(history or []),
                        on_sentence=on_sentence)
    services.answerer.run(ctx)
    return ctx, to_response(ctx)

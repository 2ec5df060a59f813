"""The route step decides from the typed results and never undoes an earlier final stop."""

from __future__ import annotations

from typing import Any

import pytest

from qa_service.answer.context import AnswerContext, RouteDecision, Sentence
from qa_service.answer.risk import load_policy
from qa_service.answer.statuses import BLOCKED_INJECTION, HELD_FOR_REVIEW, NO_CONTENT, OUT_OF_SCOPE
from qa_service.answer.steps.route import Route
from qa_service.kb.embed import SparseEmbedder
from qa_service.kb.retriever import RetrievalResult

pytestmark = pytest.mark.unit
FAR = "What is the boiling point of tungsten in kelvin?"


def _route(sink: Any = None) -> Route:
    return Route(load_policy(), SparseEmbedder(), sink)


def test_a_decline_far_from_the_knowledge_is_concluded_out_of_scope() -> None:
    ctx = AnswerContext(question=FAR, tenant="town", lang="en")
    ctx.retrieval = RetrievalResult(FAR, 1)  # retrieval ran and found nothing
    ctx.stop(NO_CONTENT, "no_passages")
    _route().run(ctx)
    assert ctx.status == OUT_OF_SCOPE and "out_of_scope" in ctx.risk_reasons
    assert ctx.route is not None and ctx.route.scope is not None and ctx.route.scope.why == "nothing_found"
    assert ctx.signals["scope"] == {"far": True, "why": "nothing_found", "cue": False}


def test_a_block_stays_a_block_and_scope_is_not_judged() -> None:
    ctx = AnswerContext(question=FAR, tenant="town", lang="en")
    ctx.retrieval = RetrievalResult(FAR, 1)
    ctx.stop(BLOCKED_INJECTION, "injection:rule")
    _route().run(ctx)
    assert ctx.status == BLOCKED_INJECTION and ctx.route is not None and ctx.route.scope is None
    with pytest.raises(ValueError, match="final status"):
        ctx.conclude(RouteDecision(OUT_OF_SCOPE))


def test_without_retrieval_there_is_no_scope_judgement() -> None:
    ctx = AnswerContext(question=FAR, tenant="town", lang="en")
    ctx.stop(NO_CONTENT, "nothing_relevant")
    _route().run(ctx)
    assert ctx.status == NO_CONTENT and ctx.route is not None and ctx.route.scope is None


def test_high_risk_is_held_with_a_ticket_and_sent_to_review() -> None:
    seen: list[str | None] = []
    ctx = AnswerContext(question="How much is a parking permit?", tenant="town", lang="en")
    ctx.risk_level = "high"
    ctx.sentences = [Sentence("A resident permit costs 40 dollars a year.", [1])]  # a draft a person can fix
    _route(lambda c: seen.append(c.route.review if c.route else None)).run(ctx)
    assert ctx.status == HELD_FOR_REVIEW and ctx.ticket == "T" + ctx.trace_id[:12].upper()
    assert seen == ["held"] and ctx.signals["review"] == "held"


def test_high_risk_without_a_draft_is_declined_with_the_contact_line_and_queues_nothing() -> None:
    seen: list[str | None] = []
    ctx = AnswerContext(question="How much is a parking permit?", tenant="town", lang="en")
    ctx.risk_level = "high"
    Route(load_policy(), SparseEmbedder(), lambda c: seen.append("queued"),
          contact=lambda c: "Call the Town Hall on 555-0100 or 12345.").run(ctx)
    assert ctx.status == NO_CONTENT and ctx.ticket is None and seen == []
    assert ctx.message == "Call the Town Hall on 555-0100 or 12345." and "no_reviewable_draft" in ctx.risk_reasons


def test_signals_are_a_read_only_view() -> None:
    ctx = AnswerContext(question="q", tenant="town")
    with pytest.raises(TypeError):
        ctx.signals["x"] = 1  # type: ignore[index]

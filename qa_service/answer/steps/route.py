"""Route: low → shown; medium → shown with a warning and sampled for review; high → held for
review with a ticket (a citizen sees the ticket; staff see the draft). A question far from the
tenant's knowledge and without a public-service cue is routed out of scope instead."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from qa_service.answer.confidence import draft_worth_review
from qa_service.answer.context import DECLINES, AnswerContext, RouteDecision, Scope
from qa_service.answer.risk import RiskPolicy
from qa_service.answer.statuses import ANSWERED, HELD_FOR_REVIEW, NO_CONTENT, OUT_OF_SCOPE
from qa_service.text import is_chinese

if TYPE_CHECKING:
    from qa_service.kb.embed import SparseEmbedder


class Route:
    """In: the status so far, ``ctx.retrieval``, the risk level. Out: ``ctx.route`` (a RouteDecision) and the
    final status through ``ctx.conclude``; held and sampled answers go to the review sink.

    Scope is judged only for a question nothing else decided, or that was declined for want of content (not
    after a block, an error or a curated answer) and only when retrieval ran."""

    name = "route"
    always = True

    def __init__(self, policy: RiskPolicy, sparse: SparseEmbedder,
                 sink: Callable[[AnswerContext], None] | None = None,
                 contact: Callable[[AnswerContext], str] | None = None) -> None:
        """``contact`` words a decline with the tenant's contact line (answer/contact.py ``decline_message``)."""
        self.policy = policy
        self.sparse = sparse
        self.sink = sink
        self.contact = contact

    def run(self, ctx: AnswerContext) -> None:
        decision = self.decide(ctx)
        if decision.status == OUT_OF_SCOPE and ctx.status != OUT_OF_SCOPE:
            ctx.add_reason("out_of_scope")
            ctx.sentences = []
        if decision.status == NO_CONTENT and not ctx.stopped:  # nothing a person could approve: declined
            ctx.add_reason("no_reviewable_draft")
            ctx.sentences = []
        ctx.conclude(decision)
        if self.sink is not None and decision.review:
            self.sink(ctx)

    def decide(self, ctx: AnswerContext) -> RouteDecision:
        """The decision from the typed results; the context is not changed."""
        scope = self._scope(ctx)
        if scope is not None and scope.far and not scope.cue:
            return RouteDecision(OUT_OF_SCOPE, scope=scope)
        if ctx.stopped:  # an earlier step already decided
            return RouteDecision(str(ctx.status), scope=scope)
        route = self.policy.routes.get(ctx.risk_level, "hold")
        if route == "hold" and not draft_worth_review(ctx, self.policy.thresholds):
            # no draft worth a person's time: declined with the contact line, and no review item
            return RouteDecision(NO_CONTENT, scope=scope,
                                 message=self.contact(ctx) if self.contact is not None else None)
        if route == "hold":
            return RouteDecision(HELD_FOR_REVIEW, review="held", scope=scope, ticket="T" + ctx.trace_id[:12].upper())
        review = None
        if route == "show_with_warning":
            bucket = int(hashlib.sha256(ctx.trace_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
            if bucket < self.policy.sample_rate_medium:
                review = "sampled"
        return RouteDecision(ANSWERED, review=review, scope=scope)

    def _scope(self, ctx: AnswerContext) -> Scope | None:
        """Far from the tenant's knowledge, and is there a public-service cue? None when scope is not judged.

        "Far" comes from what retrieval saw, whichever step declined to answer (the extractive generator
        finding no relevant sentence is not evidence that the question is outside the tenant's remit)."""
        if not (ctx.status is None or ctx.status in DECLINES) or ctx.retrieval is None:
            return None  # blocked, errored, curated, or retrieval never ran: nothing to judge scope on
        far, why = self._far_from_knowledge(ctx)
        return Scope(far, why, self.policy.about_public_services(ctx.tenant, ctx.query))

    def _far_from_knowledge(self, ctx: AnswerContext) -> tuple[bool, str]:
        """(far, why) from the retrieval result; thresholds and their reasons are in risk_policy.yaml."""
        res = ctx.retrieval
        assert res is not None
        if not res.hits:
            return True, "nothing_found"
        if not self.sparse.embed_query(ctx.query).indices:
            return False, "no_content_terms"  # only stopwords: term overlap cannot tell, so do not claim far
        th = self.policy.thresholds
        if is_chinese(ctx.query):  # the default dense model is English-only: its similarity says nothing on Chinese
            if res.idf_coverage >= th.get("scope_min_coverage_cjk", 0.0):
                return False, "terms_covered"
            return True, "no_term_overlap"
        if res.idf_coverage >= th.get("scope_min_coverage", 0.0):
            return False, "terms_covered"
        if res.dense_top >= th.get("scope_min_dense", 0.0):
            return False, "semantically_close"
        return True, "no_term_overlap"

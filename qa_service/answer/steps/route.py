"""Route: low → shown; medium → shown with a warning and sampled for review; high → held for
review with a ticket (a citizen sees the ticket; staff see the draft) when there is a draft a person could
approve or fix, else declined with the tenant's contact line and nothing queued (answer/confidence.py
draft_worth_review, threshold p_wrong_decline). A question far from the tenant's knowledge and without a
public-service cue is routed out of scope instead."""

from __future__ import annotations

import hashlib

from qa_service.answer.confidence import draft_worth_review
from qa_service.answer.contact import decline_message
from qa_service.answer.context import AnswerContext
from qa_service.answer.statuses import (
    ANSWERED,
    CANNOT_ANSWER,
    HELD_FOR_REVIEW,
    NO_CONTENT,
    OUT_OF_SCOPE,
    canned,
)
from qa_service.answer.text import is_cjk
from qa_service.services import Services

# Scope is judged only when nothing else decided the question: not after a block, an error or a curated answer.
_SCOPE_JUDGED = (None, NO_CONTENT, CANNOT_ANSWER)


class Route:
    name = "route"
    always = True

    def __init__(self, services: Services) -> None:
        self.services = services
        self.policy = services.risk_policy

    def run(self, ctx: AnswerContext) -> None:
        if self._out_of_scope(ctx):
            ctx.stopped = False
            ctx.stop(OUT_OF_SCOPE, "out_of_scope")
            ctx.sentences = []
            return
        if ctx.stopped:  # an earlier step already decided
            return
        route = self.policy.routes.get(ctx.risk_level, "hold")
        if route == "hold" and not draft_worth_review(ctx, self.policy.thresholds):  # issue 20: nothing to review
            ctx.stop(NO_CONTENT, "no_reviewable_draft")  # declined with the contact line, no review item
            ctx.message = decline_message(self.services, ctx)
            ctx.sentences = []
            return
        if route == "hold":
            ctx.status = HELD_FOR_REVIEW
            ctx.message = canned(HELD_FOR_REVIEW, ctx.lang)
            ctx.ticket = "T" + ctx.trace_id[:12].upper()
            ctx.signals["review"] = "held"
        else:
            ctx.status = ANSWERED
            if route == "show_with_warning":
                bucket = int(hashlib.sha256(ctx.trace_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
                if bucket < self.policy.sample_rate_medium:
                    ctx.signals["review"] = "sampled"
        sink = getattr(self.services, "review_sink", None)
        if sink is not None and ctx.signals.get("review"):
            sink(ctx)

    def _out_of_scope(self, ctx: AnswerContext) -> bool:
        """Far from the tenant's knowledge and no public-service cue: point the citizen elsewhere.

        "Far" comes from what retrieval saw, whichever step declined to answer (the extractive generator
        finding no relevant sentence is not evidence that the question is outside the tenant's remit)."""
        if ctx.status not in _SCOPE_JUDGED or "idf_coverage" not in ctx.signals:
            return False  # blocked, errored, curated, or retrieval never ran: nothing to judge scope on
        far, why = self._far_from_knowledge(ctx)
        cue = self.policy.about_public_services(ctx.tenant, ctx.query)
        ctx.signals["scope"] = {"far": far, "why": why, "cue": cue}
        return far and not cue

    def _far_from_knowledge(self, ctx: AnswerContext) -> tuple[bool, str]:
        """(far, why) from the retrieval signals; thresholds and their reasons are in risk_policy.yaml."""
        if "no_passages" in ctx.risk_reasons:
            return True, "nothing_found"
        if not self.services.sparse.embed_query(ctx.query).indices:
            return False, "no_content_terms"  # only stopwords: term overlap cannot tell, so do not claim far
        th = self.policy.thresholds
        coverage = float(ctx.signals.get("idf_coverage", 0.0))
        if is_cjk(ctx.query):  # the default dense model is English-only: its similarity says nothing on Chinese
            if coverage >= th.get("scope_min_coverage_cjk", 0.0):
                return False, "terms_covered"
            return True, "no_term_overlap"
        if coverage >= th.get("scope_min_coverage", 0.0):
            return False, "terms_covered"
        if float(ctx.signals.get("dense_top", 0.0)) >= th.get("scope_min_dense", 0.0):
            return False, "semantically_close"
        return True, "no_term_overlap"

"""Route: low → shown; medium → shown with a warning and sampled for review; high → held for
review with a ticket (a citizen sees the ticket; staff see the draft)."""

from __future__ import annotations

import hashlib

from qa_service.answer.context import AnswerContext
from qa_service.answer.statuses import ANSWERED, HELD_FOR_REVIEW, NO_CONTENT, OUT_OF_SCOPE, canned
from qa_service.services import Services


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
        """Far from the tenant's knowledge and not about public services: point the citizen elsewhere."""
        far = ctx.status == NO_CONTENT or (
            not ctx.stopped and float(ctx.signals.get("confidence", 1.0)) < self.policy.thresholds.get(
                "out_of_scope_confidence", 0.0))
        return far and not self.policy.about_public_services(ctx.tenant, ctx.query)

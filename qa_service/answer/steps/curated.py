"""Curated-answer match: a staff-approved answer to a question like this one is reused directly.

The curated store arrives with the review issue; until a tenant has curated answers this step
finds nothing and the path continues.
"""

from __future__ import annotations

from collections.abc import Callable

from qa_service.answer.context import AnswerContext


class CuratedMatch:
    """In: the query and its vector. Out: ``ctx.curated_score``; on a match the curated answer, its passages and
    the ``answered_curated`` stop (the matcher is qa_service/review/curated.py)."""

    name = "curated"
    always = False

    def __init__(self, matcher: Callable[[AnswerContext], None] | None) -> None:
        self.matcher = matcher

    def run(self, ctx: AnswerContext) -> None:
        if self.matcher is not None:
            self.matcher(ctx)

"""Curated-answer match: a staff-approved answer to a question like this one is reused directly.

The curated store arrives with the review issue; until a tenant has curated answers this step
finds nothing and the path continues.
"""

from __future__ import annotations

from qa_service.answer.context import AnswerContext
from qa_service.services import Services


class CuratedMatch:
    name = "curated"
    always = False

    def __init__(self, services: Services) -> None:
        self.services = services

    def run(self, ctx: AnswerContext) -> None:
        matcher = getattr(self.services, "curated_matcher", None)
        if matcher is None:
            return
        matcher(ctx)

"""The answer path, in order. Read this file to know how a question becomes an answer.

    input guard → curated-answer match → retrieve (place filter) → expand (a guide's typed sections) →
    generate → check citations → place check → label risk → renumber citations → route → place message
    → record

Each step is a small unit built with exactly the parts it uses (``build_steps`` is the only place that
reads the wiring) and run on the shared AnswerContext, whose typed fields carry each step's result to the
next (docs/architecture.md "Contracts"). Any step may stop the path with a status and its canned message;
route names the final decision and record runs even after a stop, so every question ends with a decision
and a record. Evaluation runs the same list (or a prefix of it).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Protocol

from qa_service.answer import confidence
from qa_service.answer.contact import decline_message
from qa_service.answer.context import AnswerContext
from qa_service.answer.guides import GuideSections
from qa_service.answer.statuses import ERROR_INTERNAL
from qa_service.answer.steps.check import CheckCitations, SupportChecker
from qa_service.answer.steps.curated import CuratedMatch
from qa_service.answer.steps.expand import ExpandSections
from qa_service.answer.steps.generate import Generate
from qa_service.answer.steps.guard import InputGuard
from qa_service.answer.steps.place import PlaceCheckStep, PlaceMessage
from qa_service.answer.steps.record import Record
from qa_service.answer.steps.renumber import Renumber
from qa_service.answer.steps.retrieve import Retrieve
from qa_service.answer.steps.risk import LabelRisk
from qa_service.answer.steps.route import Route

if TYPE_CHECKING:
    from qa_service.services import Services

log = logging.getLogger(__name__)


class Step(Protocol):
    name: str
    always: bool  # runs even when an earlier step stopped the path

    def run(self, ctx: AnswerContext) -> None: ...


def build_steps(services: Services, record: bool = True) -> list[Step]:
    """The one place that reads the wiring: each step gets exactly the parts it uses."""
    cfg = services.settings
    policy = services.risk_policy
    checker = SupportChecker(services.dense, cfg.answer.support_threshold)  # generate's and check's, shared
    steps: list[Step] = [
        InputGuard(cfg.answer.max_question_chars, services.similarity_guard),
        CuratedMatch(services.curated_matcher),
        Retrieve(services.retriever, cfg.retrieval, services.generator, places=services.places),
        ExpandSections(GuideSections(services.live, cfg.generate.expand_max_chunks), cfg.generate.expand_sources),
        Generate(services.generator, services.verifier, fallback=services.fallback_generator, checker=checker,
                 stream_min_confidence=policy.thresholds["confidence_high_risk"]),
        CheckCitations(checker),
        PlaceCheckStep(),
        LabelRisk(policy, features=lambda ctx, names: confidence.extract(ctx, services, names),
                  model=confidence.shipped_model()),
        Renumber(),
        Route(policy, services.sparse, services.review_sink, contact=lambda ctx: decline_message(services, ctx)),
        PlaceMessage(),
    ]
    if record:
        steps.append(Record(services.db))
    return steps


class AnswerPipeline:
    """Runs the steps over one context and times each of them."""

    def __init__(self, services: Services, steps: list[Step] | None = None) -> None:
        self.services = services
        self.steps = steps if steps is not None else build_steps(services)

    def run(self, ctx: AnswerContext) -> AnswerContext:
        start = time.perf_counter()
        for step in self.steps:
            if ctx.stopped and not step.always:
                continue
            t0 = time.perf_counter()
            try:
                step.run(ctx)
            except Exception:
                log.exception("answer step failed step=%s trace=%s", step.name, ctx.trace_id)
                if not ctx.stopped:
                    ctx.stop(ERROR_INTERNAL, f"step_error:{step.name}")
            ctx.timings_ms[step.name] = round((time.perf_counter() - t0) * 1000, 2)
        ctx.timings_ms["total"] = round((time.perf_counter() - start) * 1000, 2)
        log.info("answer trace=%s tenant=%s channel=%s decision=%s risk=%s total_ms=%s",
                 ctx.trace_id, ctx.tenant, ctx.channel, ctx.status, ctx.risk_level, ctx.timings_ms["total"])
        return ctx

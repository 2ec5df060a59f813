"""Label risk: low | medium | high with reason codes, from retrieval and support signals."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from qa_service.answer import confidence
from qa_service.answer.answer_types import asked_types, stated_types
from qa_service.answer.context import AnswerContext, RiskAssessment
from qa_service.answer.risk import RiskPolicy
from qa_service.kb.retriever import retrieval_confidence

__all__ = ["LabelRisk", "retrieval_confidence"]


class LabelRisk:
    """In: ``ctx.retrieval`` (confidence), the passages and sentences. Out: reason codes, ``ctx.risk_level`` and
    ``ctx.risk`` (a RiskAssessment with the confidence and the lead passage's margin)."""

    name = "risk"
    always = False

    def __init__(self, policy: RiskPolicy,
                 features: Callable[[AnswerContext, Collection[str] | None], Mapping[str, float]] | None = None,
                 model: confidence.ConfidenceModel | None = None) -> None:
        """``features(ctx, names)`` computes the correctness estimate's inputs (answer/confidence.py ``extract``):
        with a model, only the inputs it reads (``names`` = its features); ``model`` is the calibrated wrong-answer
        model (None: every candidate feature, as the training run collects them)."""
        self.policy = policy
        self.features = features
        self.model = model

    def run(self, ctx: AnswerContext) -> None:
        th = self.policy.thresholds
        cited = {n for s in ctx.sentences for n in s.cites}
        conf = ctx.retrieval.confidence if ctx.retrieval is not None else retrieval_confidence(ctx.query, 0.0, 0.0)
        margin: float | None = None
        feats: dict[str, float] = {}
        p_wrong: float | None = None
        if self.features is not None:  # the level comes from the calibrated probability of being wrong
            feats = dict(self.features(ctx, self.model.features if self.model is not None else None))
            if self.model is not None:
                p_wrong = round(self.model.p_wrong(feats), 4)
                lv = confidence.level_for(p_wrong, confidence.thresholds_for(th, confidence.is_guide_draft(ctx)))
                if lv != "low":
                    ctx.add_reason("likely_wrong" if lv == "high" else "possibly_wrong")
        else:  # no estimate wired (unit tests of this step): the retrieval-confidence rule
            if conf < th["confidence_high_risk"]:
                ctx.add_reason("low_retrieval_confidence")
            elif conf < th["confidence_medium_risk"]:
                ctx.add_reason("weak_retrieval_confidence")
        if len(ctx.passages) > 1 and ctx.passages[0].score > 0:
            raw = (ctx.passages[0].score - ctx.passages[1].score) / ctx.passages[0].score
            margin = round(raw, 4)
            if raw < th["margin_small"]:
                ctx.add_reason("small_margin")
        wanted = asked_types(ctx.query)
        if wanted and ctx.sentences and not any(stated_types(s.text, wanted) for s in ctx.sentences):
            ctx.add_reason("asked_fact_missing")  # "how long?" answered without any duration
        if any(p.visibility == "internal" and p.n in cited for p in ctx.passages):
            ctx.add_reason("internal_source_cited")
        text = (ctx.query + " " + " ".join(s.text for s in ctx.sentences)).lower()
        for topic, words in self.policy.topics_for(ctx.tenant).items():
            if any(w.lower() in text for w in words):
                ctx.add_reason(f"sensitive_topic:{topic}")
        ctx.risk_level = self.policy.level_for(ctx.risk_reasons)
        ctx.risk = RiskAssessment(ctx.risk_level, conf, margin, p_wrong, feats)

"""Label risk: low | medium | high with reason codes, from retrieval and support signals."""

from __future__ import annotations

from qa_service.answer import confidence
from qa_service.answer.answer_types import asked_types, stated_types
from qa_service.answer.context import AnswerContext
from qa_service.answer.text import is_cjk
from qa_service.services import Services


def retrieval_confidence(question: str, idf_coverage: float, dense_top: float) -> float:
    """IDF-weighted coverage of the question's BM25 tokens by the best passage, blended with the dense
    similarity (little weight for Chinese: the default embedding model is English-only)."""
    w = 0.15 if is_cjk(question) else 0.4
    return round((1 - w) * idf_coverage + w * max(dense_top, 0.0), 4)


class LabelRisk:
    name = "risk"
    always = False

    def __init__(self, services: Services, features_only: bool = False) -> None:
        self.services = services
        self.policy = services.risk_policy
        # issue 20: the calibrated wrong-answer model (refuses a tampered file); features_only: training runs
        self.model = None if features_only else confidence.shipped_model()

    def run(self, ctx: AnswerContext) -> None:
        th = self.policy.thresholds
        cited = {n for s in ctx.sentences for n in s.cites}
        conf = retrieval_confidence(ctx.query, float(ctx.signals.get("idf_coverage", 0.0)),
                                    float(ctx.signals.get("dense_top", 0.0)))
        ctx.signals["confidence"] = conf
        # issue 20 hook: the level comes from the calibrated probability of being wrong (risk_policy.yaml p_wrong_*)
        feats = ctx.signals["confidence_features"] = confidence.extract(ctx, self.services)
        if self.model is not None:
            p = ctx.signals["p_wrong"] = round(self.model.p_wrong(feats), 4)
            lv = confidence.level_for(p, th)
            if lv != "low":
                ctx.add_reason("likely_wrong" if lv == "high" else "possibly_wrong")
        if len(ctx.passages) > 1 and ctx.passages[0].score > 0:
            margin = (ctx.passages[0].score - ctx.passages[1].score) / ctx.passages[0].score
            ctx.signals["margin"] = round(margin, 4)
            if margin < th["margin_small"]:
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

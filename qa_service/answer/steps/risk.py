"""Label risk: low | medium | high with reason codes, from retrieval and support signals."""

from __future__ import annotations

from qa_service.answer.context import AnswerContext
from qa_service.answer.text import is_cjk, overlap, terms
from qa_service.services import Services


def retrieval_confidence(question: str, passages_text: list[str], dense_top: float) -> float:
    """Coverage of the question's content terms by the best passage, blended with dense similarity."""
    qt = terms(question)
    coverage = max((overlap(qt, t) for t in passages_text), default=0.0)
    w = 0.15 if is_cjk(question) else 0.5
    return round((1 - w) * coverage + w * max(dense_top, 0.0), 4)


class LabelRisk:
    name = "risk"
    always = False

    def __init__(self, services: Services) -> None:
        self.policy = services.risk_policy

    def run(self, ctx: AnswerContext) -> None:
        th = self.policy.thresholds
        cited = {n for s in ctx.sentences for n in s.cites}
        conf = retrieval_confidence(ctx.query, [p.text for p in ctx.passages[:3]],
                                    float(ctx.signals.get("dense_top", 0.0)))
        ctx.signals["confidence"] = conf
        if conf < th["confidence_high_risk"]:
            ctx.add_reason("low_retrieval_confidence")
        elif conf < th["confidence_medium_risk"]:
            ctx.add_reason("weak_retrieval_confidence")
        if len(ctx.passages) > 1 and ctx.passages[0].score > 0:
            margin = (ctx.passages[0].score - ctx.passages[1].score) / ctx.passages[0].score
            ctx.signals["margin"] = round(margin, 4)
            if margin < th["margin_small"]:
                ctx.add_reason("small_margin")
        if any(p.visibility == "internal" and p.n in cited for p in ctx.passages):
            ctx.add_reason("internal_source_cited")
        text = (ctx.query + " " + " ".join(s.text for s in ctx.sentences)).lower()
        for topic, words in self.policy.topics_for(ctx.tenant).items():
            if any(w.lower() in text for w in words):
                ctx.add_reason(f"sensitive_topic:{topic}")
        ctx.risk_level = self.policy.level_for(ctx.risk_reasons)

"""The risk step's reasons from the answer itself (no model, no store: the step reads the context only)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from qa_service.answer.context import AnswerContext, Passage, Sentence
from qa_service.answer.risk import load_policy
from qa_service.answer.steps.risk import LabelRisk

pytestmark = pytest.mark.unit


def _label(question: str, sentence: str) -> AnswerContext:
    step = LabelRisk(SimpleNamespace(risk_policy=load_policy()), features_only=True)  # type: ignore[arg-type]
    ctx = AnswerContext(question=question, tenant="city")
    ctx.passages = [Passage(1, "a:0", "a", "Guide", sentence, "d", 0.9)]
    ctx.sentences = [Sentence(sentence, [1])]
    ctx.signals = {"idf_coverage": 0.9, "dense_top": 0.9}  # confident retrieval: only the answer decides
    step.run(ctx)
    return ctx


@pytest.mark.parametrize(("question", "sentence", "missing"), [
    ("How long does a residence permit take?", "You need a lease and a labour contract.", True),
    ("How long does a residence permit take?", "It is issued within 10 working days.", False),
    ("居住证多久能办好？", "申请人需提供租赁合同。", True),
    ("居住证多久能办好？", "自受理之日起10个工作日办结。", False),
    ("Can I apply for a residence permit online?", "You can apply in the Riverton Go app.", False),  # asks no fact
])
def test_an_answer_stating_none_of_the_asked_kinds_of_fact_is_flagged(question: str, sentence: str,
                                                                      missing: bool) -> None:
    ctx = _label(question, sentence)
    assert ("asked_fact_missing" in ctx.risk_reasons) is missing
    if missing:
        assert ctx.risk_level == "medium"  # shown with a warning and sampled for review

"""Out of scope is judged from the tenant's own knowledge, over the shipped sample knowledge of `city`:
a question whose content terms the knowledge covers is in scope without any public-service cue word, even
when the generator finds nothing to quote; a question with no overlap and no cue is out of scope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qa_service.answer.risk import load_policy
from qa_service.answer.service import ask
from tests.conftest import REPO

pytestmark = pytest.mark.integration

# In the city knowledge (opening hours, ID card replacement, marriage age, parking) and free of every cue word.
IN_KNOWLEDGE = [
    "What time does the centre open on Saturdays?",
    "How long until a lost ID card is replaced?",
    "How old must the bride and groom be to marry in Riverton?",
    "周六上午几点开门？",
    "地下车位有多少个？",
    "男的多大可以结婚？",
]
UNRELATED = [
    "Who won the football match last night?",
    "How do I cook a tomato and egg stir fry?",
    "昨晚的足球比赛谁赢了？",
    "红烧肉怎么做才好吃？",
]


def _services(data: Path, models: dict[str, Any], **overrides: Any) -> Any:
    from qa_service.services import Services
    from qa_service.settings import load_settings

    svc = Services(load_settings(None, data_dir=str(data), **overrides))
    svc.__dict__["dense"], svc.__dict__["sparse"] = models["dense"], models["sparse"]
    return svc


@pytest.fixture(scope="module")
def city_data(tmp_path_factory: pytest.TempPathFactory, shared_models: dict[str, Any]) -> Path:
    from qa_service.ingest.pipeline import run_ingest

    data = tmp_path_factory.mktemp("scope")
    svc = _services(data, shared_models)
    res = run_ingest(svc, [REPO / "knowledge" / "city"], "city", publish=True)
    assert res.sources["failed"] == 0, res.errors
    svc.close()
    return data


@pytest.fixture
def city(city_data: Path, shared_models: dict[str, Any]) -> Iterator[Any]:
    svc = _services(city_data, shared_models)
    yield svc
    svc.close()


@pytest.fixture
def city_declining(city_data: Path, shared_models: dict[str, Any]) -> Iterator[Any]:
    """The same knowledge, with an extractive generator that finds no sentence relevant enough to quote: the
    way LeCoQA's colloquial legal questions ended `unanswerable_no_content` before routing."""
    svc = _services(city_data, shared_models, generate={"min_relevance": 0.99})
    yield svc
    svc.close()


def test_questions_are_free_of_cue_words() -> None:
    policy = load_policy()
    assert not [q for q in IN_KNOWLEDGE + UNRELATED if policy.about_public_services("city", q)]


@pytest.mark.parametrize("question", IN_KNOWLEDGE)
def test_in_knowledge_question_without_cue_is_not_out_of_scope(city: Any, question: str) -> None:
    ctx, out = ask(city, question, "city")
    assert out["decision"] != "out_of_scope", (question, ctx.signals.get("scope"), ctx.signals.get("idf_coverage"))


def test_generator_declining_does_not_make_covered_questions_out_of_scope(city_declining: Any) -> None:
    declined = 0
    for question in IN_KNOWLEDGE:
        ctx, out = ask(city_declining, question, "city")
        assert out["decision"] != "out_of_scope", (question, ctx.signals)
        if out["decision"] == "unanswerable_no_content":  # (a close FAQ question is still quoted whole)
            declined += 1
            assert ctx.signals["scope"] == {"far": False, "why": "terms_covered", "cue": False}, ctx.signals
    assert declined >= len(IN_KNOWLEDGE) // 2  # the failure mode is really exercised


@pytest.mark.parametrize("question", UNRELATED)
def test_unrelated_question_is_out_of_scope(city: Any, question: str) -> None:
    ctx, out = ask(city, question, "city")
    assert out["decision"] == "out_of_scope", (out, ctx.signals.get("idf_coverage"), ctx.signals.get("dense_top"))
    assert ctx.signals["scope"]["why"] == "no_term_overlap"
    assert out["citations"] == [] and "12345" in out["answer"]


def test_question_of_stopwords_only_is_not_called_far(city: Any) -> None:
    ctx, out = ask(city, "什么是个人使用？", "city")  # every word is a stopword: overlap cannot tell
    assert out["decision"] != "out_of_scope"
    assert ctx.signals["scope"]["why"] == "no_content_terms"


def test_scope_thresholds_must_be_shares(tmp_path: Path) -> None:
    text = (REPO / "qa_service" / "answer" / "risk_policy.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "policy.yaml"
    bad.write_text(text.replace("scope_min_coverage: 0.10", "scope_min_coverage: 10"), encoding="utf-8")
    with pytest.raises(ValueError, match="scope thresholds"):
        load_policy(bad)
    assert 0 < load_policy().thresholds["scope_min_coverage_cjk"] < load_policy().thresholds["scope_min_coverage"]


@pytest.mark.parametrize("question,cue", [
    ("法国的首都是哪里？", False), ("这个办法好不好？", False), ("他的想法很特别。", False),
    ("How do I format the information?", False), ("Where can I get a taxi?", False), ("Is a ruler a rule?", True),
    ("身份证丢了怎么办？", True), ("违法建筑怎么举报？", True), ("How do I renew my licence?", True),
    ("Which forms do I need?", True), ("Am I eligible?", True),
])
def test_cues_are_words_not_pieces_of_words(question: str, cue: bool) -> None:
    assert load_policy().about_public_services("city", question) is cue

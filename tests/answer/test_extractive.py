"""The extractive generator's sentence-vector cache gives the same vectors as encoding afresh."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from qa_service.answer.generate.extractive import SentenceVectors

pytestmark = pytest.mark.integration


def test_cache_matches_fresh_encoding_and_evicts(shared_models: dict[str, Any]) -> None:
    dense = shared_models["dense"]
    cache = SentenceVectors(dense, capacity=3)
    texts = ["Permits cost 40 dollars.", "办理时限为10个工作日。", "Permits cost 40 dollars.", "Bins go out on Monday."]
    got = cache.encode(texts)
    fresh = np.asarray(dense.encode(texts, 4))
    assert got.shape == fresh.shape
    assert np.allclose(got, fresh, atol=1e-5)
    assert len(cache._cache) == 3
    cache.encode(["A fourth sentence.", "A fifth sentence."])
    assert len(cache._cache) == 3 and "A fifth sentence." in cache._cache


class CountingEmbedder:
    """The real embedder, counting the sentences it is asked to encode."""

    def __init__(self, dense: Any) -> None:
        self.dense = dense
        self.model_id = dense.model_id
        self.encoded: list[str] = []

    def encode(self, texts: list[str], batch_size: int = 32) -> list[list[float]]:
        self.encoded.extend(texts)
        return list(self.dense.encode(texts, batch_size))

    def encode_query(self, text: str) -> list[float]:
        return list(self.dense.encode_query(text))


def _passages() -> list[Any]:
    from qa_service.answer.context import Passage

    bins = " ".join(f"Rule {i}: the depot on street {i} opens at {i} o'clock for garden waste." for i in range(12))
    permit = ("A residential parking permit costs 40 dollars a year. Apply online with proof of address. "
              "The permit is valid for twelve months. Visitors' permits are sold in books of ten.")
    return [Passage(1, "p:0", "p", "Parking permits", permit, "d1", 0.9),
            Passage(2, "b:0", "b", "Garden waste", bins, "d2", 0.5)]


def test_only_the_best_candidates_are_embedded_and_the_answer_is_kept(shared_models: dict[str, Any]) -> None:
    from qa_service.answer.generate.extractive import ExtractiveGenerator
    from qa_service.settings import GenerateSettings

    q = "How much does a residential parking permit cost?"
    full = ExtractiveGenerator(CountingEmbedder(shared_models["dense"]),  # type: ignore[arg-type]
                               GenerateSettings(max_encoded_sentences={"en": 1000, "zh": 1000})).generate(q, _passages(), "en")
    counting = CountingEmbedder(shared_models["dense"])
    capped = ExtractiveGenerator(counting, GenerateSettings(max_encoded_sentences={"en": 6, "zh": 8})).generate(  # type: ignore[arg-type]
        q, _passages(), "en")
    assert len(counting.encoded) == 6  # of 16 candidate sentences
    assert "40 dollars" in capped.sentences[0].text
    assert [s.text for s in capped.sentences][:1] == [s.text for s in full.sentences][:1]


def test_a_zero_semantic_weight_embeds_nothing(shared_models: dict[str, Any]) -> None:
    from qa_service.answer.context import Passage
    from qa_service.answer.generate.extractive import ExtractiveGenerator
    from qa_service.settings import GenerateSettings

    counting = CountingEmbedder(shared_models["dense"])
    gen = ExtractiveGenerator(counting, GenerateSettings(semantic_weight={"zh": 0.0, "en": 0.6}))  # type: ignore[arg-type]
    passage = Passage(1, "j:0", "j", "居住证", "办理居住证需要携带身份证和租房合同。办理时限为十五个工作日。", "d", 0.9)
    draft = gen.generate("办理居住证需要什么材料？", [passage], "zh", query_vector=[0.0] * 384)
    assert counting.encoded == []
    assert draft.sentences and "身份证" in draft.sentences[0].text


def _guide() -> list[Any]:
    from qa_service.answer.context import Passage

    guide = ("受理补领身份证的窗口在政务服务中心一楼。补领身份证须本人到场并签署遗失声明。"
             "补领身份证的申请人须现场采集照片和指纹。")
    times = "本市户籍十五个工作日；跨省通办三十个工作日。证件制作完成后以短信通知领取。"
    return [Passage(1, "g:0", "g", "补领身份证", guide, "d1", 0.9), Passage(2, "t:0", "t", "办理时限", times, "d2", 0.5)]


@pytest.mark.parametrize("bonus,expect_duration", [(0.15, True), (0.0, False)])
def test_a_how_long_question_gets_the_sentence_that_states_a_duration(shared_models: dict[str, Any], bonus: float,
                                                                       expect_duration: bool) -> None:
    """The duration sentences share almost no words with the question; the answer-type step is what brings one in.
    (Which one is not asserted: all-MiniLM-L6-v2 happened to score 跨省通办三十个工作日 highest, multilingual-e5
    puts 本市户籍十五个工作日 above it for 外省户籍: the generator does not tell 外省 from 本市, see
    eval/reports/2026-12-03-dense-models.md.)"""
    from qa_service.answer.generate.extractive import ExtractiveGenerator
    from qa_service.settings import GenerateSettings

    gen = ExtractiveGenerator(shared_models["dense"], GenerateSettings(answer_type_bonus=bonus))
    draft = gen.generate("外省户籍补领身份证要多长时间？", _guide(), "zh")
    text = "".join(s.text for s in draft.sentences)
    assert draft.sentences and "补领身份证" in text
    assert ("个工作日" in text) is expect_duration


def test_an_faq_answer_without_the_asked_kind_of_fact_is_not_returned(shared_models: dict[str, Any]) -> None:
    from qa_service.answer.context import Passage
    from qa_service.answer.generate.extractive import ExtractiveGenerator
    from qa_service.settings import GenerateSettings

    faq = Passage(1, "f:0", "f", "FAQ", "How much does a parking permit cost?\nApply online with proof of address.",
                  "d1", 0.9, kind="faq")
    fees = Passage(2, "x:0", "x", "Fees", "A residential parking permit costs 40 dollars a year.", "d2", 0.5)
    gen = ExtractiveGenerator(shared_models["dense"], GenerateSettings())
    draft = gen.generate("How much does a parking permit cost?", [faq, fees], "en")
    assert any("40 dollars" in s.text for s in draft.sentences)
    assert not any("proof of address" in s.text for s in draft.sentences)


@pytest.mark.parametrize(("question", "expect_faq"), [
    ("How early can I renew my driving licence?", True),  # the FAQ's own question
    ("My driving licence expired 18 months ago. Can I still renew it?", False),  # asks no time, the FAQ asks when
    ("How early can I renew my licence and what does it cost?", False),  # compound: the FAQ answers one part
    ("How long does licence renewal take?", False),  # the FAQ asks for a time, not a duration
])
def test_an_faq_asking_for_another_kind_of_fact_is_not_returned(shared_models: dict[str, Any], question: str,
                                                                 expect_faq: bool) -> None:
    from qa_service.answer.context import Passage
    from qa_service.answer.generate.extractive import ExtractiveGenerator
    from qa_service.settings import GenerateSettings

    faq = Passage(1, "f:0", "f", "FAQ", "How early can I renew my driving licence?\nIn the 90 days before the expiry "
                  "date.", "d1", 0.9, kind="faq")
    guide = Passage(2, "g:0", "g", "Renewal", "An expired driving licence can still be renewed for up to 1 year after "
                    "expiry. Renewal is done on the same day.", "d2", 0.5)
    gen = ExtractiveGenerator(shared_models["dense"], GenerateSettings())
    draft = gen.generate(question, [faq, guide], "en")
    from_faq = [s.cites == [1] for s in draft.sentences]
    assert draft.sentences
    assert all(from_faq) is expect_faq


@pytest.mark.parametrize("weight", [0.5, 0.0])
def test_the_section_heading_tells_which_of_two_alike_sentences_answers(shared_models: dict[str, Any],
                                                                        weight: float) -> None:
    from qa_service.answer.context import Passage
    from qa_service.answer.generate.extractive import ExtractiveGenerator
    from qa_service.settings import GenerateSettings

    text = ("Permits and licences\n2. Parking permits\nIt costs 40 dollars a year and is issued online.\n"
            "3. Fishing licences\nIt costs 25 dollars a year and is issued online.")
    guide = Passage(1, "g:0", "g", "Permits and licences", text, "d1", 0.6)
    gen = ExtractiveGenerator(shared_models["dense"], GenerateSettings(heading_weight=weight))
    draft = gen.generate("How much does a fishing licence cost a year?", [guide], "en")
    answer = " ".join(s.text for s in draft.sentences)
    assert "Permits and licences" not in answer  # the title is not an answer
    assert not any(s.text.endswith(("licences", "permits")) for s in draft.sentences)  # nor is a heading
    if weight:
        assert "25 dollars" in answer and "40 dollars" not in answer
    else:  # without the heading the two sentences' term overlap is the same
        from qa_service.answer.text import split_sections, terms

        qterms = terms("How much does a fishing licence cost a year?")
        (s1, h1), (s2, h2) = split_sections(text)[1:]
        assert gen._lexical(qterms, s1, h1) == gen._lexical(qterms, s2, h2)


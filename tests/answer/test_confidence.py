"""The wrong-answer model: its file check, its scoring, the levels and the draft test the route step uses, and
the features read from a context (no store: the store-backed features are covered in test_confidence_routing)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from qa_service.answer import confidence
from qa_service.answer.confidence import CANDIDATES, FEATURES, ConfidenceModel, ModelIntegrityError, feature_value
from qa_service.answer.context import AnswerContext, Passage, RiskAssessment, Sentence
from qa_service.kb.retriever import RetrievalResult

pytestmark = pytest.mark.unit
TH = {"p_wrong_medium": 0.3, "p_wrong_high": 0.6, "p_wrong_decline": 0.9}


def _model() -> ConfidenceModel:
    coef = [0.0] * len(CANDIDATES)
    coef[CANDIDATES.index("idf_coverage")] = -4.0  # covered question terms: less likely wrong
    return ConfidenceModel(CANDIDATES, [0.5] * len(CANDIDATES), [0.25] * len(CANDIDATES), coef, 0.0,
                           [0.0, 0.5, 1.0], [0.05, 0.4, 0.95])


def _ctx(question: str, sentence: str, kind: str = "text", passage: str | None = None) -> AnswerContext:
    ctx = AnswerContext(question=question, tenant="city")
    ctx.passages = [Passage(1, "a:0", "a", "Guide", passage or sentence, "d", 0.8, kind=kind),
                    Passage(2, "b:0", "b", "Other", "Something else entirely.", "e", 0.6)]
    ctx.sentences = [Sentence(sentence, [1], support=0.9)]
    ctx.removed = [{"sentence": "x", "reason": "unsupported"}]
    ctx.retrieval = RetrievalResult(question, 1, idf_coverage=0.75, dense_top=0.81, sparse_top=12.0, sparse_gap=0.4)
    return ctx


def test_features_read_the_paths_signals_and_the_draft() -> None:
    ctx = _ctx("How long does a residence permit take?", "It is issued within 10 working days.")
    f = confidence.extract(ctx, SimpleNamespace())  # type: ignore[arg-type]  # no query vector: no store reads
    assert set(f) == set(CANDIDATES)
    assert f["idf_coverage"] == 0.75 and f["dense_top"] == 0.81 and f["zh"] == 0.0
    assert f["fused_margin"] == pytest.approx(0.25)
    assert f["sparse_top_log"] == pytest.approx(2.56495, abs=1e-4)
    assert (f["sentences"], f["removed"], f["support_min"], f["cited_rank"]) == (1.0, 1.0, 0.9, 1.0)
    assert (f["asks_fact"], f["asked_fact_stated"]) == (1.0, 1.0)  # "how long" answered with a duration
    missing = confidence.extract(_ctx("How long does a residence permit take?", "Bring a lease."),
                                 SimpleNamespace())  # type: ignore[arg-type]
    assert (missing["asks_fact"], missing["asked_fact_stated"]) == (1.0, 0.0)
    assert confidence.extract(_ctx("居住证多久能办好？", "十个工作日。"), SimpleNamespace())["zh"] == 1.0  # type: ignore[arg-type]


def test_faq_passage_question_overlap() -> None:
    faq = "How do I replace a lost ID card?\nReport the loss and apply at any service hall."
    near = confidence.extract(_ctx("How can I replace my lost ID card?", "Report the loss.", "faq", faq),
                              SimpleNamespace())  # type: ignore[arg-type]
    far = confidence.extract(_ctx("Where do I register my dog?", "Report the loss.", "faq", faq),
                             SimpleNamespace())  # type: ignore[arg-type]
    assert near["faq_cited"] == 1.0 and near["faq_question_overlap"] > 0.5
    assert far["faq_question_overlap"] == 0.0


def test_probability_is_calibrated_through_the_isotonic_points() -> None:
    m = _model()
    good = dict.fromkeys(CANDIDATES, 0.5) | {"idf_coverage": 1.0}
    bad = dict.fromkeys(CANDIDATES, 0.5) | {"idf_coverage": 0.0}
    assert m.p_wrong(good) < 0.1 < 0.9 < m.p_wrong(bad)
    half = dict.fromkeys(CANDIDATES, 0.5)
    assert m.raw(half) == pytest.approx(0.5) and m.p_wrong(half) == pytest.approx(0.4)


def test_levels_and_drafts_worth_review() -> None:
    assert [confidence.level_for(p, TH) for p in (0.1, 0.3, 0.59, 0.6, 0.95)] == \
        ["low", "medium", "medium", "high", "high"]
    ctx = _ctx("q", "An answer.")
    ctx.risk = RiskAssessment("high", 0.5, p_wrong=0.7)
    assert confidence.draft_worth_review(ctx, TH)
    ctx.risk = RiskAssessment("high", 0.5, p_wrong=0.95)
    assert not confidence.draft_worth_review(ctx, TH)  # nothing a person could approve: decline
    ctx.risk = RiskAssessment("high", 0.5, p_wrong=0.7)
    from qa_service.answer.context import Draft

    ctx.draft = Draft(list(ctx.sentences), completeness="partial")
    assert not confidence.draft_worth_review(ctx, TH)  # no sentence cleared the generator's relevance floor
    ctx.draft = Draft(list(ctx.sentences), completeness="full")
    assert confidence.draft_worth_review(ctx, TH)
    ctx.sentences = []
    assert not confidence.draft_worth_review(ctx, TH)


def test_round_trip_and_checksum(tmp_path: Path) -> None:
    path = tmp_path / "confidence.json"
    digest = _model().save(path)
    assert (tmp_path / "confidence.json.sha256").read_text().split()[0] == digest
    again = ConfidenceModel.load(path)
    assert again.p_wrong(dict.fromkeys(CANDIDATES, 0.2)) == _model().p_wrong(dict.fromkeys(CANDIDATES, 0.2))


def test_tampered_or_missing_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "confidence.json"
    _model().save(path)
    data = json.loads(path.read_text())
    data["intercept"] = -9.0  # make every answer look safe
    path.write_text(json.dumps(data))
    with pytest.raises(ModelIntegrityError, match="does not match"):
        ConfidenceModel.load(path)
    (tmp_path / "confidence.json.sha256").unlink()
    with pytest.raises(ModelIntegrityError, match="missing"):
        ConfidenceModel.load(path)


def test_the_shipped_model_loads_and_matches_its_checksum(tmp_path: Path) -> None:
    model = ConfidenceModel.load(confidence.MODEL)
    assert model.features == FEATURES
    copy = tmp_path / "confidence.json"
    shutil.copy(confidence.MODEL, copy)
    shutil.copy(confidence.MODEL.with_name("confidence.json.sha256"), tmp_path / "confidence.json.sha256")
    copy.write_text(copy.read_text().replace('"intercept": ', '"intercept": 1 + ', 1))
    with pytest.raises(ModelIntegrityError):
        ConfidenceModel.load(copy)


def test_per_language_inputs_read_the_feature_on_that_language_only() -> None:
    en = {"zh": 0.0, "cited_dense": 0.7}
    zh = {"zh": 1.0, "cited_dense": 0.4}
    assert (feature_value(en, "cited_dense*en"), feature_value(en, "cited_dense*zh")) == (0.7, 0.0)
    assert (feature_value(zh, "cited_dense*en"), feature_value(zh, "cited_dense*zh")) == (0.0, 0.4)
    assert feature_value(zh, "cited_dense") == 0.4 and feature_value(zh, "absent") == 0.0
    m = ConfidenceModel(("cited_dense*en",), [0.5], [0.1], [-1.0], 0.0, [0.0, 1.0], [0.0, 1.0])
    assert m.raw(en) < 0.5 < m.raw({"zh": 0.0, "cited_dense": 0.3})  # closer on English: less likely wrong
    assert m.raw({"zh": 1.0, "cited_dense": 0.9}) == m.raw({"zh": 1.0, "cited_dense": 0.1})  # not read on zh


def test_per_kind_inputs_read_the_feature_on_that_kind_of_draft_only() -> None:
    composed = {"composed": 1.0, "faq_cited": 0.0, "title_coverage": 0.6}
    faq = {"composed": 0.0, "faq_cited": 1.0, "title_coverage": 0.6}
    assert feature_value(composed, "title_coverage*composed") == 0.6
    assert feature_value(faq, "title_coverage*composed") == 0.0
    assert feature_value(faq, "title_coverage*faq_cited") == 0.6
    assert confidence.needed(("title_coverage*composed",)) == {"title_coverage", "composed"}


class _CountingReader:
    """A store reader that counts the queries made of it (the store is the network boundary here)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def dense(self, *_a: object) -> list[object]:
        self.calls.append("dense")
        return []

    def sparse(self, *_a: object) -> list[object]:
        self.calls.append("sparse")
        return []

    def get(self, *_a: object, **_k: object) -> list[object]:
        self.calls.append("get")
        return []


def _store_services(reader: _CountingReader) -> SimpleNamespace:
    from qa_service.kb.embed import SparseEmbedder

    return SimpleNamespace(live=SimpleNamespace(get=lambda _t: (1, reader)), sparse=SparseEmbedder(),
                           term_stats=SimpleNamespace(get=lambda *_a: SimpleNamespace(
                               coverage=lambda *_b: 0.5, idf=lambda _t: 1.0, df={})),
                           fallback_generator=SimpleNamespace(vectors=SimpleNamespace(
                               encode=lambda texts: [[1.0, 0.0]] * len(texts))))


def test_only_the_models_inputs_are_computed_on_the_answer_path() -> None:
    ctx = _ctx("How long does a residence permit take?", "It is issued within 10 working days.")
    ctx.vectors = {ctx.query: [1.0, 0.0]}
    reader = _CountingReader()
    every = confidence.extract(ctx, _store_services(reader))  # type: ignore[arg-type]
    assert set(every) == set(CANDIDATES) and reader.calls.count("dense") == 1
    reader.calls.clear()
    few = confidence.extract(ctx, _store_services(reader), ("cited_coverage", "faq_question_overlap"))  # type: ignore[arg-type]
    assert set(few) == {"cited_coverage", "faq_question_overlap"}
    assert "dense" not in reader.calls and "sparse" not in reader.calls and "get" not in reader.calls
    assert few["cited_coverage"] == every["cited_coverage"]
    assert confidence.needed(("cited_dense*zh",)) == {"cited_dense", "zh"}


def test_composed_marks_a_draft_quoting_a_guides_sections() -> None:
    from qa_service.answer.context import Draft

    ctx = _ctx("What documents do I need?", "- Your ID card")
    assert confidence.extract(ctx, SimpleNamespace())["composed"] == 0.0  # type: ignore[arg-type]
    ctx.draft = Draft(ctx.sentences, units=1)
    assert confidence.extract(ctx, SimpleNamespace())["composed"] == 1.0  # type: ignore[arg-type]


def test_a_composed_draft_is_routed_by_its_own_thresholds() -> None:
    from qa_service.answer.context import Draft

    th = {**TH, "p_wrong_high_guide": 0.85, "p_wrong_decline_guide": 0.85}
    assert confidence.thresholds_for(th, guide=False) is th
    comp = confidence.thresholds_for(th, guide=True)
    assert (comp["p_wrong_medium"], comp["p_wrong_high"], comp["p_wrong_decline"]) == (0.3, 0.85, 0.85)
    ctx = _ctx("How do I apply?", "- Bring your ID card")
    ctx.risk = RiskAssessment("high", 0.5, p_wrong=0.88)
    assert confidence.draft_worth_review(ctx, th)  # sentences chosen one by one: held below 0.9
    ctx.draft = Draft(ctx.sentences, units=2)
    assert not confidence.draft_worth_review(ctx, th)  # a guide's sections: declined at 0.85 and above


def test_a_draft_from_typed_guide_sections_is_a_guide_draft() -> None:
    ctx = _ctx("Do I need a newspaper notice?", "A newspaper notice is not needed.")
    assert not confidence.is_guide_draft(ctx)  # its source has no typed section: routed by the plain thresholds
    ctx.passages.append(Passage(3, "a:1", "a", "Guide", "- Your ID card", "f", 0.5, section_type="documents", via=1))
    assert confidence.is_guide_draft(ctx)  # the cited passage's guide types a documents section
    assert confidence.extract(ctx, SimpleNamespace())["guide"] == 1.0  # type: ignore[arg-type]
    ctx.sentences.append(Sentence("Something else entirely.", [2], support=0.9))
    assert not confidence.is_guide_draft(ctx)  # one cited passage is of an untyped document
    ctx.passages[1].section_type = "overview"
    assert not confidence.is_guide_draft(ctx)  # "overview" / "other" are not guide elements


def test_numbers_the_question_names_and_the_answer_does_not_state() -> None:
    f = confidence.extract(_ctx("Who won the 2021 US Open?", "Dominic Thiem won the 2020 US Open."),
                           SimpleNamespace())  # type: ignore[arg-type]
    assert f["numbers_missing"] == 1.0
    f = confidence.extract(_ctx("Who won the 2021 US Open?", "Daniil Medvedev won in 2021."),
                           SimpleNamespace())  # type: ignore[arg-type]
    assert f["numbers_missing"] == 0.0
    f = confidence.extract(_ctx("补税不超过400元要办吗？", "补税金额不超过400元的，无需办理。"), SimpleNamespace())  # type: ignore[arg-type]
    assert f["numbers_missing"] == 0.0
    assert confidence.extract(_ctx("How do I renew?", "Apply online."), SimpleNamespace())["numbers_missing"] == 0.0  # type: ignore[arg-type]

"""Per-query fusion weights: the language picks the lead retriever; a sure lead damps the others."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from qa_service.kb.embed import CjkEmbedder, han_ngrams, has_han
from qa_service.kb.search import adaptive_weights, lead_gap, rrf_k_for
from qa_service.settings import RetrievalSettings

pytestmark = pytest.mark.unit


def test_lead_gap() -> None:
    assert lead_gap([]) == 0.0
    assert lead_gap([0.0, 0.0]) == 0.0
    assert lead_gap([5.0]) == 1.0
    assert lead_gap([10.0, 8.0]) == pytest.approx(0.2)


def test_chinese_han_bigram_bm25_leads_and_when_sure_damps_the_others() -> None:
    cfg = RetrievalSettings()
    unsure = adaptive_weights(cfg, "居住证怎么办理", [0.5, 0.49], [10.0, 6.0], [20.0, 19.0])
    sure = adaptive_weights(cfg, "居住证怎么办理", [0.5, 0.49], [10.0, 9.9], [20.0, 10.0])
    assert unsure == (0.05, 0.25, 1.0)  # a sure word BM25 does not matter when the bigram BM25 leads
    assert sure == (pytest.approx(0.05 * cfg.lead_cut), pytest.approx(0.25 * cfg.lead_cut), 1.0)


def test_english_dense_leads_and_a_sure_dense_damps_bm25() -> None:
    cfg = RetrievalSettings()
    unsure = adaptive_weights(cfg, "How do I renew a permit?", [0.80, 0.79], [10.0, 2.0])
    sure = adaptive_weights(cfg, "How do I renew a permit?", [0.80, 0.60], [10.0, 2.0])
    assert unsure == (1.0, 0.1, 0.0)  # a sure BM25 does not matter when dense leads; no bigram side
    assert sure == (1.0, pytest.approx(0.1 * cfg.lead_cut), 0.0)


def test_rrf_constant_follows_the_language() -> None:
    cfg = RetrievalSettings()
    assert rrf_k_for(cfg, "居住证怎么办理") == 1
    assert rrf_k_for(cfg, "How do I renew a permit?") == 2


def test_settings_choose_the_lead_and_two_weights_mean_two_retrievers() -> None:
    cfg = RetrievalSettings(weights={"zh": [1.0, 0.5], "en": [0.2, 1.0]})
    assert adaptive_weights(cfg, "How do I renew a permit?", [0.9, 0.1], [10.0, 1.0]) == (
        pytest.approx(0.2 * cfg.lead_cut), 1.0, 0.0)
    assert adaptive_weights(cfg, "居住证怎么办理", [0.9, 0.1], [10.0, 9.0], [5.0, 1.0]) == (
        1.0, pytest.approx(0.5 * cfg.lead_cut), 0.0)


@pytest.mark.parametrize("bad", [{"zh": [1.0], "en": [1.0, 0.1]}, {"zh": [0.0, 0.0], "en": [1.0, 0.1]},
                                 {"zh": [1.0, -1.0], "en": [1.0, 0.1]}, {"en": [1.0, 0.1]}])
def test_bad_weights_are_refused(bad: dict[str, list[float]]) -> None:
    with pytest.raises(ValidationError):
        RetrievalSettings(weights=bad)


def test_han_ngrams_do_not_depend_on_word_segmentation() -> None:
    assert han_ngrams("居住证").split() == ["居住", "住证", "居", "住", "证"]
    assert han_ngrams("renew 2024").split() == ["renew", "2024"]
    assert has_han("办理 renew") and not has_han("renew")
    cjk = CjkEmbedder()
    assert cjk.embed_document("How do I renew a permit?").indices == []  # English is left to the other two
    # an abbreviation the word segmenter keeps whole still shares characters with the full form
    from qa_service.kb.embed import SparseEmbedder

    words = SparseEmbedder()
    q, d = "医保报销", "医疗保险报销"
    w_q, w_d = set(words.embed_query(q).indices), set(words.embed_document(d).indices)
    c_q, c_d = set(cjk.embed_query(q).indices), set(cjk.embed_document(d).indices)
    assert len(c_q & c_d) / len(c_q) > len(w_q & w_d) / len(w_q)

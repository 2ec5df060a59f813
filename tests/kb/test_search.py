"""Per-query fusion weights: the language picks the lead retriever; a sure lead damps the other one."""

from __future__ import annotations

import pytest

from qa_service.kb.search import adaptive_weights, lead_gap, rrf_k_for
from qa_service.settings import RetrievalSettings

pytestmark = pytest.mark.unit


def test_lead_gap() -> None:
    assert lead_gap([]) == 0.0
    assert lead_gap([0.0, 0.0]) == 0.0
    assert lead_gap([5.0]) == 1.0
    assert lead_gap([10.0, 8.0]) == pytest.approx(0.2)


def test_chinese_bm25_leads_and_a_sure_bm25_damps_dense() -> None:
    cfg = RetrievalSettings()
    unsure = adaptive_weights(cfg, "居住证怎么办理", [0.5, 0.49], [10.0, 9.8])
    sure = adaptive_weights(cfg, "居住证怎么办理", [0.5, 0.49], [10.0, 6.0])
    assert unsure == (0.05, 1.0)
    assert sure == (pytest.approx(0.05 * cfg.lead_cut), 1.0)


def test_english_dense_leads_and_a_sure_dense_damps_bm25() -> None:
    cfg = RetrievalSettings()
    unsure = adaptive_weights(cfg, "How do I renew a permit?", [0.80, 0.79], [10.0, 2.0])
    sure = adaptive_weights(cfg, "How do I renew a permit?", [0.80, 0.60], [10.0, 2.0])
    assert unsure == (1.0, 0.1)  # a sure BM25 does not matter when dense leads
    assert sure == (1.0, pytest.approx(0.1 * cfg.lead_cut))


def test_rrf_constant_follows_the_language() -> None:
    cfg = RetrievalSettings()
    assert rrf_k_for(cfg, "居住证怎么办理") == 10
    assert rrf_k_for(cfg, "How do I renew a permit?") == 2


def test_settings_choose_the_lead() -> None:
    cfg = RetrievalSettings(weights={"zh": [1.0, 0.5], "en": [0.2, 1.0]})
    assert adaptive_weights(cfg, "How do I renew a permit?", [0.9, 0.1], [10.0, 1.0]) == (
        pytest.approx(0.2 * cfg.lead_cut), 1.0)

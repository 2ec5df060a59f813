"""The wrong-answer model's features do not depend on how big the knowledge base is or on the top-k setting, and
a fully supported answer on a two-document knowledge base is not scored as likely wrong (the first shipped
model, trained on KBs that always gave six passages, scored one 0.95).

Unit tests: the fake dense embedder, a project-written two-document KB and the same KB with thirty unrelated
documents added."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qa_service.answer import confidence
from qa_service.answer.risk import load_policy
from qa_service.answer.service import ask

pytestmark = pytest.mark.unit

QUESTION = "Is a library card free for residents?"
LIBRARY = """# Library cards

## Fees
A library card is free for residents of the town. Visitors pay 12 dollars a year for a card.

## Where to get one
Cards are issued at the front desk of the central library on weekdays.
"""
POOL = """# Swimming pool

## Opening hours
The municipal pool opens at 7 am on weekdays and at 9 am at weekends.
"""
TOPICS = ("orchestra", "beekeeping", "chess", "rowing", "pottery", "astronomy", "cycling", "gardening", "choir",
          "archery", "sailing", "knitting", "fencing", "baking", "hiking", "painting", "juggling", "karate",
          "tennis", "theatre", "photography", "woodwork", "birdwatching", "origami", "climbing", "poetry",
          "yoga", "robotics", "folk dance", "canoeing")
#: features that read the KB only through ratios, shares and cosines of the passages the answer uses
SIZE_FREE = ("zh", "cited_dense", "answer_dense_max", "answer_dense_mean", "cited_term_share", "asks_fact",
             "asked_fact_stated", "faq_cited", "faq_question_overlap", "sentences", "support_min", "cited_rank",
             "retrievers_agree", "dense_agrees", "sparse_agrees")
#: IDF-weighted shares: the weights move a little with the number of documents, the share stays close
IDF_SHARES = ("idf_coverage", "cited_coverage", "title_coverage", "answer_coverage", "sparse_top_norm",
              "unseen_share")
#: read the KB's size or the top-k directly; the shipped model must not use them
SIZE_BOUND = ("passages", "sparse_top_log", "sparse_gap", "dense_margin")


def _kb(root: Path, fillers: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "library.md").write_text(LIBRARY, encoding="utf-8")
    (root / "pool.md").write_text(POOL, encoding="utf-8")
    for i, topic in enumerate(TOPICS[:fillers]):
        (root / f"club-{i}.md").write_text(
            f"# {topic.title()} club\n\nThe {topic} club meets on the {i + 2}th of each month in room {i + 10}. "
            f"New members of the {topic} club bring their own equipment.\n", encoding="utf-8")
    return root


def _features(make_services: Any, tmp_path: Path, name: str, fillers: int, top_k: int = 6,
              ) -> tuple[dict[str, float], float, Any]:
    from qa_service.ingest.pipeline import run_ingest

    svc = make_services(data_dir=tmp_path / name, retrieval={"top_k": top_k})
    res = run_ingest(svc, [_kb(tmp_path / f"{name}-kb", fillers)], "lib", publish=True)
    assert res.sources["failed"] == 0, res.errors
    ctx, _ = ask(svc, QUESTION, "lib")
    assert ctx.sentences, ctx.status
    # the answer path computes only the shipped model's inputs: every candidate, as training collects them
    return confidence.extract(ctx, svc), float(ctx.signals["p_wrong"]), ctx


def test_the_shipped_model_uses_no_feature_bound_to_kb_size_or_top_k() -> None:
    model = confidence.shipped_model()
    assert not set(model.features) & set(SIZE_BOUND)
    assert set(model.features) <= set(SIZE_FREE) | set(IDF_SHARES) | {"q_terms"}


@pytest.mark.integration  # the dense inputs need the real model's similarities
def test_a_fully_supported_answer_on_a_two_document_kb_is_not_likely_wrong(make_services: Any,
                                                                          tmp_path: Path) -> None:
    f, p_wrong, ctx = _features(make_services, tmp_path, "tiny", fillers=0)
    assert f["passages"] <= 3.0  # the situation the first model extrapolated from (trained on 6; z = -29)
    assert f["cited_coverage"] == 1.0 and f["support_min"] >= 0.9
    assert "free" in ctx.answer_text
    th = load_policy().thresholds
    assert p_wrong < th["p_wrong_medium"], (p_wrong, f)  # shown as low risk with the shipped thresholds
    # and scored as on a knowledge base of 32 documents (the first model: 0.95 here, before its z-clipping)
    _, p_large, _ = _features(make_services, tmp_path, "large", fillers=30)
    assert abs(p_wrong - p_large) < 0.05, (p_wrong, p_large)


def test_features_do_not_move_with_the_number_of_documents(make_services: Any, tmp_path: Path) -> None:
    small, p_small, _ = _features(make_services, tmp_path, "small", fillers=0)
    large, p_large, _ = _features(make_services, tmp_path, "large", fillers=30)
    assert small["passages"] <= 3.0 and large["passages"] == 6.0  # what the dropped feature saw
    for name in SIZE_FREE:
        assert large[name] == pytest.approx(small[name], abs=1e-4), name
    for name in IDF_SHARES:
        assert large[name] == pytest.approx(small[name], abs=0.15), name
    assert abs(p_large - p_small) < 0.1


@pytest.mark.parametrize("top_k", [4, 10])
def test_features_do_not_move_with_top_k(make_services: Any, tmp_path: Path, top_k: int) -> None:
    base, p_base, _ = _features(make_services, tmp_path, "k6", fillers=30, top_k=6)
    other, p_other, _ = _features(make_services, tmp_path, f"k{top_k}", fillers=30, top_k=top_k)
    assert other["passages"] == float(top_k)
    used = confidence.shipped_model().features
    assert {n: other[n] for n in used} == pytest.approx({n: base[n] for n in used}, abs=1e-4)
    assert p_other == pytest.approx(p_base, abs=1e-4)


@pytest.mark.integration
def test_a_guide_section_covers_the_question_with_its_heading_and_title(city: Any) -> None:
    """The documents section of the marriage guide names neither "documents" nor "marriage" in its own lines; read
    as it is indexed (title > heading, then text), it covers the question, and the draft is shown."""
    from qa_service.answer.service import ask

    ctx, out = ask(city, "What documents do we need to bring to register our marriage?", "city")
    feats = ctx.signals.get("confidence_features") or {}
    assert feats.get("cited_coverage", 0.0) > 0.3, feats
    assert out["decision"] == "answered" and out["citations"][0]["source_id"] == "marriage-registration.txt", out
    assert "identity card" in out["answer"]

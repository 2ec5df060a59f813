"""The generic evaluation format and runner (project-written corpus, real services), and each dataset adapter
on a tiny sample (skipped without ../shared/eval-data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eval.data import eval_data_dir
from eval.suites import generic

DATA = eval_data_dir()


@pytest.fixture(scope="module", autouse=True)
def _one_baseline_model() -> Any:
    """The baseline loads its own copy of the embedding model each time; load it once for this module."""
    from llama_index.embeddings import huggingface

    real = huggingface.HuggingFaceEmbedding
    made: dict[str, Any] = {}

    def cached(**kwargs: Any) -> Any:
        key = json.dumps(kwargs, sort_keys=True, default=str)
        if key not in made:
            made[key] = real(**kwargs)
        return made[key]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(huggingface, "HuggingFaceEmbedding", cached)
        yield

CORPUS: list[dict[str, Any]] = [
    {"doc_id": "library-card", "title": "Library cards",
     "text": "A library card is free for every resident of the town. Bring a proof of address to the library "
             "desk and the card is printed while you wait. A replacement card costs 3 dollars."},
    {"doc_id": "bulky-waste", "title": "Bulky waste collection",
     "text": "Bulky waste such as sofas and mattresses is collected on the first Monday of each month. Book the "
             "collection online at least five days before; each item costs 12 dollars."},
    {"doc_id": "dog-licence", "title": "Dog licences",
     "text": "Every dog older than three months must be licensed. The yearly dog licence fee is 30 dollars, "
             "and dogs must be microchipped before the licence is issued."},
    {"doc_id": "jiehun-dengji", "title": "结婚登记",
     "text": "办理结婚登记，男女双方应当共同到婚姻登记机关提出申请，并携带本人的户口簿和居民身份证。"
             "婚姻登记机关对符合条件的当场予以登记，发给结婚证。结婚登记不收取费用。"},
    {"doc_id": "tingche-xuke", "title": "居民停车许可",
     "text": "居住在老城区的居民可以申请居民停车许可。申请时需提供行驶证和居住证明，每年费用为200元。"},
]
QUERIES: list[dict[str, Any]] = [
    {"qid": "1", "query": "How much does a replacement library card cost?", "gold_doc_ids": ["library-card"],
     "answer": "A replacement library card costs 3 dollars.", "answer_tokens": ["3 dollars", "replacement"],
     "lang": "en"},
    {"qid": "2", "query": "When is bulky waste such as a sofa collected?", "gold_doc_ids": ["bulky-waste"],
     "answer_strings": [["first Monday", "1st Monday"]], "lang": "en"},
    {"qid": "3", "query": "办理结婚登记需要带什么材料？", "gold_doc_ids": ["jiehun-dengji"],
     "answer_strings": ["户口簿", "身份证"], "lang": "zh"},
    {"qid": "4", "query": "What is the opening time of the municipal swimming pool on Sundays?",
     "gold_doc_ids": [], "answerable": False, "lang": "en"},
]


def _write_suite(folder: Path) -> Path:
    generic.write_jsonl(folder / "corpus.jsonl", CORPUS)
    generic.write_jsonl(folder / "queries.jsonl", QUERIES)
    return folder


@pytest.mark.unit
def test_text_metrics_are_computed_as_documented() -> None:
    assert generic.contains("It costs 3 dollars [1].", "3 DOLLARS")
    assert not generic.contains("In 1990 the fee rose.", "90")
    assert generic.contains("造成12人死亡", "12人")
    assert generic.token_presence("A sale or exchange of property", ["sale", "exchange", "lending", "gift"]) == 0.5
    assert generic.strings_correct("东盟、中国和日本", ["东盟", ["中国", "China"]])
    assert not generic.strings_correct("东盟", ["东盟", "日本"])
    assert generic.reference_overlap("You can pay by mobile money.", "Pay with mobile money or cards") == 0.75
    ab = generic._abstention([(True, "answered"), (True, "held"), (False, "declined"), (False, "answered")])
    assert ab == {"unanswerable": 2, "abstained": 2, "precision": 0.5, "recall": 0.5,
                  "answerable_not_answered_share": 0.5}
    # a blocked or failed question is no abstention (eval.runner's one definition of not answered)
    ab = generic._abstention([(False, "blocked"), (False, "error"), (False, "held"), (True, "blocked")])
    assert ab["abstained"] == 1 and ab["recall"] == round(1 / 3, 4) and ab["precision"] == 1.0
    assert ab["answerable_not_answered_share"] == 1.0


@pytest.mark.unit
def test_load_suite_normalises_queries(tmp_path: Path) -> None:
    corpus, queries = generic.load_suite(_write_suite(tmp_path / "suite"))
    assert corpus.name == "corpus.jsonl"
    assert [q["answerable"] for q in queries] == [True, True, True, False]
    assert queries[0]["gold_doc_ids"] == ["library-card"] and queries[3]["gold_doc_ids"] == []
    with pytest.raises(FileNotFoundError):
        generic.load_suite(tmp_path / "missing")


@pytest.mark.unit
def test_generic_runner_on_a_small_corpus(make_services: Any, tmp_path: Path) -> None:
    svc = make_services()
    corpus, queries = generic.load_suite(_write_suite(tmp_path / "suite"))
    block = generic.run_generic(svc, "suite", corpus, queries, None, baseline=True, holdout=True)
    assert block["questions"] == 4 and block["answerable"] == 3 and block["unanswerable"] == 1
    assert block["ingest"]["skipped"] is False and block["ingest"]["sources"] == 5
    for mode in ("dense", "bm25", "ours"):
        assert set(block["retrieval"][mode]) >= {"recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"}
    assert block["retrieval"]["ours"]["recall@5"] == 1.0
    assert block["retrieval"]["bm25"]["recall@5"] == 1.0
    a = block["answers"]
    assert sum(a["decisions"].values()) == 4
    assert a["abstention"]["unanswerable"] == 1
    # the swimming-pool question has no source in this corpus: it must end held or declined
    assert a["abstention"]["recall"] == 1.0 and a["abstention"]["abstained"] >= 1
    assert a["answered_share"] > 0
    sp = a["splits"]
    assert sp["test"]["n"] + sp["dev"]["n"] == 4 and sp["all"]["answered_share"] == a["answered_share"]
    assert sp["all"]["unanswerable_answered_share"] == 0.0 and sp["all"]["key_fact_items"] == 3
    assert a["citations"]["n"] > 0 and a["citations"]["valid_share"] == 1.0
    assert 0.0 <= (a["sentence_support_rate"] or 0.0) <= 1.0
    assert set(a["text"]) == {"answer_token_presence", "answer_correct", "reference_overlap"}
    assert "total" in a["latency_ms"] and "_snapshot" not in a["latency_ms"]
    hold = block["answers_holdout"]
    assert hold["n"] == 3 and hold["abstention"]["unanswerable"] == 3
    base = block["baseline"]
    assert base["answers"]["answered_share"] == 1.0 and base["answers"]["abstention"]["recall"] == 0.0
    assert base["retrieval"]["recall@10"] == 1.0
    # the baseline's answer is the top 3 passages: the library question's tokens are in it
    assert base["answers"]["text"]["answer_token_presence"]["mean_all"] > 0
    lines = generic.render_generic("small", block)
    assert any("recall@1" in x for x in lines)
    rows = generic.summary_generic("small", block)
    assert all(len(r) == 3 for r in rows)
    json.dumps(block)
    # a second run over the same corpus reuses the live version
    again = generic.run_generic(svc, "suite", corpus, queries[:1], None, baseline=False)
    assert again["ingest"]["skipped"] is True and again["baseline"] is None


needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"no evaluation data at {DATA}")


def _check_block(mod: Any, block: dict[str, Any]) -> None:
    json.dumps(block)
    lines = mod.render(block)
    assert lines and all(isinstance(x, str) for x in lines)
    rows = mod.summary(block)
    assert rows and all(len(r) == 3 and all(isinstance(c, str) for c in r) for r in rows)


def _shares(d: dict[str, Any]) -> None:
    for k, v in d.items():
        if k.endswith("_share") and v is not None:
            assert 0.0 <= v <= 1.0, (k, v)


@pytest.mark.unit
@needs_data
def test_h2o_pdfs_adapter_on_one_small_pdf(make_services: Any) -> None:
    from eval.suites import h2o_pdfs

    block = h2o_pdfs.run(make_services(), 3, baseline=True, documents=("Immigration_in_Singapore",))
    assert block["questions"] == 3 and block["documents"] == ["Immigration_in_Singapore.pdf"]
    assert 0.0 <= block["retrieval"]["ours"]["recall@1"] <= 1.0
    tp = block["answers"]["text"]["answer_token_presence"]
    assert tp["n"] == 3 and 0.0 <= tp["mean_all"] <= 1.0
    assert block["baseline"]["answers"]["text"]["answer_token_presence"]["n"] == 3
    _shares(block["answers"])
    _check_block(h2o_pdfs, block)


@pytest.mark.unit
@needs_data
def test_rgb_zh_adapter_on_three_questions(make_services: Any) -> None:
    from eval.suites import rgb_zh

    block = rgb_zh.run(make_services(), 3, baseline=True, full_corpus=False)
    assert block["questions"] == 3
    assert set(block["retrieval"]) == {"dense", "bm25", "cjk", "ours"}  # Chinese: the Han-bigram BM25 too
    assert block["answers_holdout"]["n"] == 3
    assert 0.0 <= block["answers"]["text"]["answer_correct"]["mean_all"] <= 1.0
    _shares(block["answers"])
    _shares(block["answers_holdout"])
    _check_block(rgb_zh, block)


@pytest.mark.unit
@needs_data
def test_cough_adapter_on_three_questions(make_services: Any, tmp_path: Path) -> None:
    from eval.suites import cough_oos
    from tests.kbdata import write_folder

    # the small project-written town KB stands in for knowledge/city (whose ingestion takes a minute)
    block = cough_oos.run(make_services(), 3, baseline=True, tenant="town", knowledge=write_folder(tmp_path / "kb"))
    assert block["questions"] == 3 and block["unanswerable"] == 3
    assert sum(block["answers"]["decisions"].values()) == 3
    assert 0.0 <= block["not_answered_share"] <= 1.0
    assert block["baseline"]["answers"]["not_answered_share"] == 0.0
    _check_block(cough_oos, block)


@pytest.mark.unit
@needs_data
def test_kenya_faq_adapter_on_three_questions(make_services: Any) -> None:
    from eval.suites import kenya_faq

    block = kenya_faq.run(make_services(), 3, baseline=True, routing_check=False)
    assert block["questions"] == 3 and block["ingest"]["sources"] == 15
    assert 0.0 <= block["retrieval"]["ours"]["recall@1"] <= 1.0
    assert 0.0 <= block["answers"]["text"]["reference_overlap"]["mean_all"] <= 1.0
    _check_block(kenya_faq, block)

"""RGB negative rejection in Chinese (``rgb-rag-benchmark/data_zh_refine.json``: query, answer, positive and
negative passages per line), with the same protocol as the English suite ``rgb_en``:

- corpus = every positive and negative passage (one source each, deduplicated by text);
- retrieval recall of the question's positive passages;
- answers with the gold present, answer correctness = the answer contains every gold answer item (or one of
  an item's alternatives), RGB's rule;
- negative rejection = the same questions with their positive passages excluded
  (``AnswerContext(exclude_sources=...)``): the service should hold or refuse.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.data import eval_data_dir
from eval.suites import generic
from qa_service.services import Services

FILE = ("rgb-rag-benchmark", "data_zh_refine.json")
TENANT = "rgbzh"


def load(data: Path | None = None) -> list[dict[str, Any]]:
    path = (data or eval_data_dir()).joinpath(*FILE)
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def convert(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[generic.Query]]:
    """RGB rows → (corpus records, queries) in the generic format."""
    ids: dict[str, str] = {}
    queries = []
    for r in rows:
        for kind in ("positive", "negative"):
            for i, text in enumerate(r[kind]):
                ids.setdefault(str(text), f"rgbzh{r['id']}{kind[0]}{i}")
        queries.append(generic.normalise_query({
            "qid": str(r["id"]), "query": r["query"], "gold_doc_ids": sorted({ids[str(t)] for t in r["positive"]}),
            "answer_strings": r["answer"], "lang": "zh"}))
    corpus = [{"doc_id": v, "title": "", "text": k, "language": "zh"} for k, v in ids.items()]
    return corpus, queries


def run(services: Services, sample: int | None, baseline: bool = True, *, data: Path | None = None,
        full_corpus: bool = True) -> dict[str, Any]:
    """``full_corpus=False`` ingests only the sampled questions' passages (quick checks, not the protocol)."""
    rows = load(data)
    picked = generic.sample_rows(rows, sample)
    corpus, _ = convert(rows if full_corpus else picked)
    _, queries = convert(picked)
    work = generic.work_dir(services, "rgb_zh")
    path = generic.write_jsonl(work / ("corpus.jsonl" if full_corpus else "corpus-sample.jsonl"), corpus)
    generic.write_jsonl(work / "queries.jsonl", queries)
    block = generic.run_generic(services, TENANT, path, queries, None, baseline, holdout=True,
                                retrieval_modes=("dense", "bm25", "cjk", "ours"))
    block["corpus_passages"] = len(corpus)
    block["full_corpus"] = full_corpus
    return block


def render(block: dict[str, Any]) -> list[str]:
    return generic.render_generic("RGB zh (negative rejection)", block, intro=[
        f"Corpus: {block['corpus_passages']} positive and negative passages"
        + ("" if block["full_corpus"] else " of the sampled questions only") + ".",
        "Answer correctness: the answer contains every gold answer item. Negative rejection: the question's",
        "positive passages are excluded and the answer should be held or refused (the baseline always answers)."])


def summary(block: dict[str, Any]) -> list[tuple[str, str, str]]:
    return generic.summary_generic("rgb_zh", block)

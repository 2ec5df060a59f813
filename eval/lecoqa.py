"""LeCoQA (zh legal consultations over statutes): retrieval by retriever, answers, hold-out.

Reads ../shared/eval-data/lecoqa-zh-legal at run time; nothing from it is stored in the repo.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from eval.metrics import dedupe, percentile, retrieval_scores
from qa_service.answer.context import AnswerContext
from qa_service.answer.response import to_response
from qa_service.ingest.pipeline import run_ingest
from qa_service.kb import versions
from qa_service.kb.search import search
from qa_service.services import Services

log = logging.getLogger(__name__)


def load_queries(folder: Path, limit: int | None = None) -> list[dict[str, Any]]:
    rows = [json.loads(x) for x in (folder / "queries_dev.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    return rows[:limit] if limit else rows


def ensure_ingested(services: Services, folder: Path, tenant: str = "legal") -> dict[str, Any]:
    with services.db.session() as s:
        live = versions.live_row(s, tenant)
    result = run_ingest(services, [folder / "corpus.jsonl"], tenant, publish=True, actor="eval")
    return {"had_live": live is not None, **result.as_dict()}


def retrieval(services: Services, queries: list[dict[str, Any]], tenant: str = "legal",
              modes: tuple[str, ...] = ("dense", "bm25", "cjk", "naive", "probe", "ours"),
              ) -> dict[str, dict[str, float]]:
    """Recall@1/5/10, MRR@10, nDCG@10 at source level for each retriever."""
    from qa_service.answer.steps.retrieve import Retrieve

    out: dict[str, dict[str, float]] = {}
    retr = Retrieve(services.retriever, services.settings.retrieval.model_copy(update={"top_k": 20}),  # k=20 deep
                    services.generator)
    for mode in modes:
        ranked_lists, golds = [], []
        for q in queries:
            golds.append({str(g) for g in q["gold_doc_ids"]})
            if mode == "ours":
                ctx = AnswerContext(question=q["query"], tenant=tenant, channel="staff", lang="zh")
                retr.run(ctx)
                ranked_lists.append(dedupe([p.source_id for p in ctx.passages]))
                continue
            if mode == "probe":  # what `qa kb search` returns (language-aware weights)
                hits = search(services, tenant, q["query"], k=20).hits
            else:
                kind = {"naive": "hybrid"}.get(mode, mode)
                hits = search(services, tenant, q["query"], k=20, mode=kind, rrf_k=60, weights=(1.0, 1.0, 1.0)).hits
            ranked_lists.append(dedupe([str(h.payload["source_id"]) for h in hits]))
        out[mode] = retrieval_scores(ranked_lists, golds)
    return out


def answers(services: Services, queries: list[dict[str, Any]], tenant: str = "legal",
            holdout: bool = False) -> dict[str, Any]:
    """Run the whole path; with ``holdout`` each question's gold statutes are excluded."""
    decisions: dict[str, int] = {}
    cites_gold = 0
    answered = 0
    totals: list[float] = []
    levels: dict[str, int] = {}
    for q in queries:
        gold = [str(g) for g in q["gold_doc_ids"]]
        ctx = AnswerContext(question=q["query"], tenant=tenant, channel="citizen", lang="zh", qid=str(q["qid"]),
                            exclude_sources=gold if holdout else [])
        services.answerer.run(ctx)
        out = to_response(ctx)
        decisions[out["decision"]] = decisions.get(out["decision"], 0) + 1
        levels[ctx.risk_level] = levels.get(ctx.risk_level, 0) + 1
        totals.append(out["timings_ms"]["total"])
        if out["decision"] == "answered":
            answered += 1
            if {c["source_id"] for c in out["citations"]} & set(gold):
                cites_gold += 1
    n = len(queries)
    not_answered = sum(v for k, v in decisions.items() if k.startswith("unanswerable") or k == "held_for_review")
    return {
        "n": n,
        "decisions": decisions,
        "risk_levels": levels,
        "answered_share": round(answered / n, 4),
        "not_answered_share": round(not_answered / n, 4),
        "answered_citing_gold_share": round(cites_gold / max(1, answered), 4),
        "citing_gold_of_all": round(cites_gold / n, 4),
        "latency_ms": {"p50": round(percentile(totals, 50), 1), "p95": round(percentile(totals, 95), 1)},
    }


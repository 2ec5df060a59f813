"""LeCoQA (zh legal consultations over statutes): retrieval by retriever, answers, hold-out.

Reads ../shared/eval-data/lecoqa-zh-legal at run time; nothing from it is stored in the repo.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from eval.metrics import dedupe, retrieval_scores
from qa_service.answer.context import AnswerContext
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
    """Run the whole path (eval.runner, nothing recorded); with ``holdout`` each question's gold statutes are
    excluded. Figures per dev/test split under ``splits``."""
    from eval.runner import Item, answer_pipeline, by_split, compact, run_items, tally

    items = [Item(id=str(q["qid"]), question=q["query"], tenant=tenant, lang="zh", answerable=not holdout,
                  gold=tuple(str(g) for g in q["gold_doc_ids"]),
                  exclude_sources=tuple(str(g) for g in q["gold_doc_ids"]) if holdout else ()) for q in queries]
    rows = run_items(answer_pipeline(services), items, "lecoqa")
    t = tally(rows)
    n = max(1, len(rows))
    cites_gold = sum(bool(r.cites_gold) for r in rows)
    levels: dict[str, int] = {}
    for r in rows:
        levels[r.risk_level] = levels.get(r.risk_level, 0) + 1
    return {
        "n": len(rows),
        "decisions": t["decisions"],
        "risk_levels": levels,
        "answered_share": t["answered_share"] or 0.0,
        "not_answered_share": t["not_answered_share"] or 0.0,
        "answered_citing_gold_share": round(cites_gold / max(1, t["outcomes"]["answered"]), 4),
        "citing_gold_of_all": round(cites_gold / n, 4),
        "latency_ms": t["latency_ms"] or {"p50": 0.0, "p95": 0.0},
        "splits": compact(by_split(rows)),
    }


"""Calibrate the retrieval-confidence thresholds on the LeCoQA hold-out protocol.

`python -m eval.risk_sweep [--limit N] [--out FILE.md]` runs the answer path (nothing recorded)
twice per dev question — gold statutes present, and gold statutes excluded — and reports:

- how well each confidence signal separates the two conditions (AUC; 0.5 = chance);
- the share of questions whose top-k passages are *identical* in both conditions (no signal computed
  from them can tell the conditions apart, which bounds what any threshold can reach);
- for each candidate `confidence_high_risk` threshold: answered with gold present, and not answered
  (held or unanswerable) with gold excluded.

Reads ../shared/eval-data/lecoqa-zh-legal at run time; set QA_DATA_DIR to the eval KB (make eval uses data/eval).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from eval.data import eval_data_dir
from qa_service.answer.context import AnswerContext
from qa_service.answer.pipeline import AnswerPipeline, build_steps
from qa_service.answer.statuses import ANSWERED, HELD_FOR_REVIEW
from qa_service.services import Services
from qa_service.settings import load_settings

EVAL_DATA = eval_data_dir() / "lecoqa-zh-legal"
SIGNALS = ("confidence", "idf_coverage", "sparse_top", "sparse_gap", "dense_top", "margin")


def collect(services: Services, queries: list[dict[str, Any]], tenant: str = "legal") -> list[dict[str, Any]]:
    """One row per question: status, signals and passage sources in both conditions."""
    pipe = AnswerPipeline(services, build_steps(services, record=False))
    rows = []
    for q in queries:
        gold = [str(g) for g in q["gold_doc_ids"]]
        row: dict[str, Any] = {"qid": q["qid"]}
        for cond, exclude in (("present", []), ("holdout", gold)):
            ctx = AnswerContext(question=q["query"], tenant=tenant, channel="citizen", lang="zh",
                                exclude_sources=exclude)
            pipe.run(ctx)
            row[cond] = {"status": ctx.status, "risk": ctx.risk_level,
                         "signals": {k: float(ctx.signals.get(k, 0.0) or 0.0) for k in SIGNALS},
                         "sources": [p.source_id for p in ctx.passages],
                         "gold_in_context": any(p.source_id in gold for p in ctx.passages)}
        rows.append(row)
    return rows


def auc(pos: list[float], neg: list[float]) -> float:
    """Probability that a gold-present value exceeds a hold-out value (ties count half)."""
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / max(1, len(pos) * len(neg))


def decision_at(cond: dict[str, Any], threshold: float) -> str:
    """What the route would decide if only the high-risk confidence threshold changed."""
    if cond["status"] not in (ANSWERED, HELD_FOR_REVIEW):
        return "not_answered"
    return "not_answered" if cond["signals"]["confidence"] < threshold else "answered"


def summarise(rows: list[dict[str, Any]], thresholds: list[float]) -> dict[str, Any]:
    n = len(rows)
    identical = [r for r in rows if r["present"]["sources"] == r["holdout"]["sources"]]
    differ = [r for r in rows if r["present"]["sources"] != r["holdout"]["sources"]]
    aucs = {k: {"all": round(auc([r["present"]["signals"][k] for r in rows],
                                 [r["holdout"]["signals"][k] for r in rows]), 3),
                "differing": round(auc([r["present"]["signals"][k] for r in differ],
                                       [r["holdout"]["signals"][k] for r in differ]), 3)} for k in SIGNALS}
    sweep = []
    for t in thresholds:
        answered = sum(decision_at(r["present"], t) == "answered" for r in rows) / n
        held = sum(decision_at(r["holdout"], t) == "not_answered" for r in rows) / n
        sweep.append({"threshold": t, "present_answered": round(answered, 3), "holdout_not_answered": round(held, 3)})
    f = len(identical) / n
    return {
        "questions": n,
        "gold_in_context_share": round(sum(r["present"]["gold_in_context"] for r in rows) / n, 3),
        "identical_context_share": round(f, 3),
        # With a share f of questions decided identically in both conditions, and perfect decisions on the
        # rest, answered_present + not_answered_holdout <= 2 - f; both >= 0.8 needs f <= 0.4.
        "best_possible_sum": round(2 - f, 3),
        "auc": aucs,
        "sweep": sweep,
    }


def render(s: dict[str, Any]) -> str:
    lines = [f"# Risk calibration: LeCoQA hold-out ({s['questions']} dev questions)", "",
             f"- gold statute among the passages shown (gold present): {s['gold_in_context_share']:.1%}",
             f"- questions whose passages are identical in both conditions: {s['identical_context_share']:.1%} "
             f"(best possible answered + held sum: {s['best_possible_sum']:.2f}; the targets need 1.60)", "",
             "| signal | AUC all | AUC where passages differ |", "|---|---|---|"]
    lines += [f"| {k} | {v['all']:.3f} | {v['differing']:.3f} |" for k, v in s["auc"].items()]
    lines += ["", "| confidence_high_risk | answered, gold present | held/unanswerable, gold excluded |",
              "|---|---|---|"]
    lines += [f"| {r['threshold']:.3f} | {r['present_answered']:.1%} | {r['holdout_not_answered']:.1%} |"
              for r in s["sweep"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--data", type=Path, default=EVAL_DATA)
    parser.add_argument("--out", type=Path, default=None, help="also write the Markdown table here (and .json)")
    args = parser.parse_args()
    services = Services(load_settings())
    from eval.lecoqa import ensure_ingested, load_queries

    ensure_ingested(services, args.data)
    rows = collect(services, load_queries(args.data, args.limit))
    summary = summarise(rows, [round(0.30 + 0.05 * i, 2) for i in range(10)])
    text = render(summary)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        args.out.with_suffix(".json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

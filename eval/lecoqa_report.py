"""Reproduce the LeCoQA figures: `python -m eval.lecoqa_report [--limit N]`.

Ingests ../shared/eval-data/lecoqa-zh-legal/corpus.jsonl as tenant `legal` (re-runs reuse every
vector), measures retrieval by retriever, answers with gold present, and the hold-out protocol.
Writes eval/reports/<date>/lecoqa.json and lecoqa.md. Set QA_DATA_DIR to keep the KB out of ./data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from pathlib import Path

from eval import lecoqa
from eval.data import eval_data_dir
from qa_service.services import Services
from qa_service.settings import load_settings

EVAL_DATA = eval_data_dir() / "lecoqa-zh-legal"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None, help="first N dev questions (default: all 737)")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("QA_EVAL_DATA", EVAL_DATA)))
    args = parser.parse_args()
    services = Services(load_settings())
    ingest = lecoqa.ensure_ingested(services, args.data)
    queries = lecoqa.load_queries(args.data, args.limit)
    report = {
        "date": dt.date.today().isoformat(),
        "questions": len(queries),
        "ingest": {k: ingest[k] for k in ("version", "sources", "chunks", "seconds")},
        "retrieval": lecoqa.retrieval(services, queries),
        "answers_gold_present": lecoqa.answers(services, queries),
        "answers_holdout": lecoqa.answers(services, queries, holdout=True),
    }
    out = Path(__file__).parent / "reports" / report["date"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "lecoqa.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    lines = [f"# LeCoQA dev ({len(queries)} questions), {report['date']}", "",
             "| retriever | recall@1 | recall@5 | recall@10 | hit@5 | MRR@10 | nDCG@10 |",
             "|---|---|---|---|---|---|---|"]
    for name, m in report["retrieval"].items():
        lines.append(f"| {name} | {m['recall@1']} | {m['recall@5']} | {m['recall@10']} | {m['hit@5']} | "
                     f"{m['mrr@10']} | {m['ndcg@10']} |")
    for key in ("answers_gold_present", "answers_holdout"):
        a = report[key]
        lines += ["", f"## {key}", "", f"decisions: {a['decisions']}", "",
                  f"answered {a['answered_share']}, not answered {a['not_answered_share']}, "
                  f"answered citing gold {a['answered_citing_gold_share']}, latency {a['latency_ms']}"]
    (out / "lecoqa.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

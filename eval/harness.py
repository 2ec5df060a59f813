"""`qa eval`: every suite on the public sets, our service beside the llama-index baseline, one report.

Suites: `lecoqa` (zh legal: retrieval by retriever, answers, hold-out abstention, risk calibration, latency
per step), `rgb_en` (English news facts: retrieval, negative rejection by excluding the positive passages),
`safety` (eval.safety), and the adapters in eval/suites over the generic corpus/queries format: `h2o_pdfs`
(real government PDFs, answer-token presence), `rgb_zh` (Chinese negative rejection), `cough_oos` (COVID
questions against the sample city KB: out of scope), `kenya_faq` (a real e-government FAQ), `bipia`
(indirect injection through ingested emails and tables).
Output: ``<out>/report.md``, ``report.json`` (every figure) and PNG charts.
Corpora are ingested into their own tenants under ``QA_DATA_DIR``; re-runs reuse every vector.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from eval import lecoqa
from eval.baseline import Baseline
from eval.data import eval_data_dir
from eval.metrics import dedupe, holdout_bound, percentile, retrieval_scores
from eval.runner import (
    NOT_ANSWERED,
    OUTCOME_OF,
    Item,
    answer_pipeline,
    by_split,
    compact,
    headline,
    outcome_of,
    run_items,
    tally,
)
from eval.suites import ADAPTERS
from qa_service.answer.context import AnswerContext
from qa_service.ingest.pipeline import run_ingest
from qa_service.services import Services

DATA = eval_data_dir()
SEED = 20261123
SUITES = ("lecoqa", "rgb_en", "safety", *ADAPTERS)
# the decisions eval.runner counts as not answered (held or declined), for the hold-out bound
NOT_ANSWERED_STATUSES = tuple(s for s, g in OUTCOME_OF.items() if g in NOT_ANSWERED)


def _sample(rows: list[Any], n: int | None) -> list[Any]:
    return rows if not n or n >= len(rows) else random.Random(SEED).sample(rows, n)


def _answers(services: Services, items: list[tuple[str, str, set[str]]], tenant: str, lang: str,
             holdout: bool, set_name: str) -> dict[str, Any]:
    """Run the whole path (nothing recorded, eval.runner) and score decisions, citations, risk and latency per
    step; ``items`` are (id, question, gold source ids). Figures per split are under ``splits``."""
    per_level: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # level -> [answered, wrong]
    steps: dict[str, list[float]] = defaultdict(list)
    supported = sentences = 0
    gold_seen: list[bool] = []

    def observe(item: Item, ctx: AnswerContext, out: dict[str, Any]) -> None:
        nonlocal supported, sentences
        gold_seen.append(bool(set(item.gold) & {p.source_id for p in ctx.passages}))
        for step, ms in ctx.timings_ms.items():
            steps[step].append(ms)
        if outcome_of(out["decision"]) == "answered":
            right = bool({c["source_id"] for c in out["citations"]} & set(item.gold))
            per_level[ctx.risk_level][0] += 1
            per_level[ctx.risk_level][1] += not right
            # drafted sentences that survived the citation check (removed ones never reach anyone)
            dropped = sum(1 for r in ctx.removed if r.get("reason") == "unsupported")
            sentences += len(ctx.sentences) + dropped
            supported += len(ctx.sentences)

    todo = [Item(id=qid, question=q, tenant=tenant, lang=lang, gold=tuple(sorted(gold)), answerable=not holdout,
                 exclude_sources=tuple(sorted(gold)) if holdout else ()) for qid, q, gold in items]
    rows = run_items(answer_pipeline(services), todo, set_name, observe)
    t = tally(rows)
    return {
        "n": len(items), "decisions": t["decisions"], "answered_share": t["answered_share"] or 0.0,
        "not_answered_share": t["not_answered_share"] or 0.0,
        "answered_citing_gold_share": t["answered_citing_gold_share"] or 0.0,
        "sentence_support_rate": round(supported / max(1, sentences), 4),
        "wrong_share_by_risk": {lv: {"answered": a, "wrong_share": round(w / max(1, a), 4)}
                                for lv, (a, w) in sorted(per_level.items())},
        "latency_ms": {step: {"p50": round(percentile(v, 50), 1), "p95": round(percentile(v, 95), 1)}
                       for step, v in steps.items()},
        "splits": compact(by_split(rows)),
        # in question order, for the hold-out bound
        "per_question": {"decisions": [r.status for r in rows], "gold_seen": gold_seen},
    }


def _baseline_block(base: Baseline, items: list[tuple[str, str, set[str]]]) -> dict[str, Any]:
    ranked, ms, cites_gold = [], [], 0
    for _, q, gold in items:
        sources, _, t = base.retrieve(q)
        ranked.append(dedupe(sources))
        ms.append(t)
        cites_gold += bool(set(sources[:3]) & gold)
    n = max(1, len(items))
    return {"retrieval": retrieval_scores(ranked, [g for _, _, g in items]),
            "answers": {"answered_share": 1.0, "not_answered_share": 0.0,
                        "answered_citing_gold_share": round(cites_gold / n, 4), "holdout_not_answered_share": 0.0,
                        "citation_check": "none", "guard": "none"},
            "latency_ms": {"retrieve": {"p50": round(percentile(ms, 50), 1), "p95": round(percentile(ms, 95), 1)}},
            "index_build_seconds": base.build_seconds}


def suite_lecoqa(services: Services, sample: int | None, data: Path = DATA, baseline: bool = True) -> dict[str, Any]:
    folder = data / "lecoqa-zh-legal"
    lecoqa.ensure_ingested(services, folder)
    queries = _sample(lecoqa.load_queries(folder), sample)
    items = [(str(q["qid"]), q["query"], {str(g) for g in q["gold_doc_ids"]}) for q in queries]
    out: dict[str, Any] = {
        "questions": len(queries),
        "retrieval": lecoqa.retrieval(services, queries, modes=("dense", "bm25", "cjk", "naive", "ours")),
        "answers_gold_present": _answers(services, items, "legal", "zh", holdout=False, set_name="lecoqa"),
        "answers_holdout": _answers(services, items, "legal", "zh", holdout=True, set_name="lecoqa"),
        "baseline": _baseline_block(Baseline(services, "legal"), items) if baseline else None,
    }
    out["holdout_bound"] = holdout_bound(out["answers_gold_present"]["per_question"],
                                         out["answers_holdout"]["per_question"], NOT_ANSWERED)
    return out


def _rgb_corpus(data: Path, work: Path) -> tuple[Path, list[tuple[str, str, set[str]]]]:
    rows = [json.loads(x) for x in (data / "rgb-rag-benchmark" / "data_en_fact.json").read_text(
        encoding="utf-8").splitlines() if x.strip()]
    ids: dict[str, str] = {}
    items = []
    for r in rows:
        for kind in ("positive", "negative"):
            for i, text in enumerate(r[kind]):
                ids.setdefault(text, f"rgb{r['id']}{kind[0]}{i}")
        items.append((str(r["id"]), str(r["query"]), {ids[t] for t in r["positive"]}))
    work.mkdir(parents=True, exist_ok=True)
    corpus = work / "rgb_en_corpus.jsonl"
    corpus.write_text("\n".join(json.dumps({"doc_id": v, "title": "", "text": k}, ensure_ascii=False)
                                for k, v in ids.items()), encoding="utf-8")
    return corpus, items


def suite_rgb_en(services: Services, sample: int | None, data: Path = DATA, baseline: bool = True) -> dict[str, Any]:
    from qa_service.kb.search import search

    corpus, items = _rgb_corpus(data, services.settings.data_dir / "eval-corpora")
    run_ingest(services, [corpus], "rgben", publish=True, actor="eval")
    items = _sample(items, sample)
    golds = [g for _, _, g in items]
    modes: dict[str, dict[str, Any]] = {"dense": {"mode": "dense"}, "bm25": {"mode": "bm25"},
                                        "naive": {"rrf_k": 60, "weights": (1.0, 1.0)}, "ours": {}}
    retrieval = {name: retrieval_scores(
        [dedupe([str(h.payload["source_id"]) for h in search(services, "rgben", q, k=20, **kw).hits])
         for _, q, _ in items], golds) for name, kw in modes.items()}
    return {
        "questions": len(items), "retrieval": retrieval,
        "answers_gold_present": _answers(services, items, "rgben", "en", holdout=False, set_name="rgb_en"),
        "negative_rejection": _answers(services, items, "rgben", "en", holdout=True, set_name="rgb_en"),
        "baseline": _baseline_block(Baseline(services, "rgben"), items) if baseline else None,
    }


def suite_safety(services: Services, sample: int | None) -> dict[str, Any]:
    from eval import safety

    return safety.run(services, sample)


def run(services: Services, suites: tuple[str, ...] = SUITES, sample: int | None = None,
        out: Path | None = None, baseline: bool = True, resume: bool = False) -> dict[str, Any]:
    """Run the suites in order. With ``out``, ``report.json`` is rewritten after every suite, so a long run
    that stops keeps what it measured; ``resume`` keeps the suites already in ``out/report.json``."""
    report: dict[str, Any] = {"date": dt.date.today().isoformat(), "sample": sample, "suites": {}}
    if resume and out is not None and (out / "report.json").is_file():
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    for name in suites:
        if name in report["suites"]:
            continue
        if name == "safety":
            report["suites"][name] = suite_safety(services, sample)
        elif name in ADAPTERS:
            report["suites"][name] = _adapter(name).run(services, sample, baseline=baseline)
        else:
            fn = {"lecoqa": suite_lecoqa, "rgb_en": suite_rgb_en}[name]
            report["suites"][name] = fn(services, sample, baseline=baseline)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    if out is not None:
        write(report, out)
    return report


def _adapter(name: str) -> Any:
    import importlib

    return importlib.import_module(f"eval.suites.{name}")


def write(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    charts = _charts(report, out)
    (out / "report.md").write_text(render(report, charts), encoding="utf-8")


def _charts(report: dict[str, Any], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    for name in ("lecoqa", "rgb_en"):
        s = report["suites"].get(name)
        if not s:
            continue
        fig, ax = plt.subplots(figsize=(7, 3.5))
        rows = {**s["retrieval"], "baseline (llama-index)": s["baseline"]["retrieval"]}
        ks = ["recall@1", "recall@5", "recall@10"]
        width = 0.8 / len(rows)
        for i, (label, m) in enumerate(rows.items()):
            ax.bar([j + i * width for j in range(len(ks))], [m[k] for k in ks], width, label=label)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(ks))], ks)
        ax.set_ylim(0, 1)
        ax.set_title(f"{name}: retrieval recall")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / f"{name}-recall.png", dpi=110)
        plt.close(fig)
        made.append(f"{name}-recall.png")
        cal = s["answers_gold_present"]["wrong_share_by_risk"]
        if cal:
            fig, ax = plt.subplots(figsize=(5, 3))
            levels = [lv for lv in ("low", "medium", "high") if lv in cal]
            colours = {"low": "#1d6b35", "medium": "#b07d00", "high": "#8a1c1c"}
            ax.bar(levels, [cal[lv]["wrong_share"] for lv in levels], color=[colours[lv] for lv in levels])
            ax.set_ylim(0, 1)
            ax.set_ylabel("answers not citing gold")
            ax.set_title(f"{name}: wrong answers by risk label")
            fig.tight_layout()
            fig.savefig(out / f"{name}-risk-calibration.png", dpi=110)
            plt.close(fig)
            made.append(f"{name}-risk-calibration.png")
        lat = s["answers_gold_present"]["latency_ms"]
        steps = [k for k in lat if k != "total"]
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.bar(steps, [lat[k]["p50"] for k in steps], label="p50")
        ax.bar(steps, [lat[k]["p95"] - lat[k]["p50"] for k in steps], bottom=[lat[k]["p50"] for k in steps],
               label="p95", alpha=0.5)
        ax.set_ylabel("ms")
        ax.set_title(f"{name}: latency per step")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / f"{name}-latency.png", dpi=110)
        plt.close(fig)
        made.append(f"{name}-latency.png")
    saf = report["suites"].get("safety")
    if saf:
        bars = [(k, v["rate"], "#1d6b35") for k, v in saf["interception"].items()]
        bars += [(k, v["rate"], "#8a1c1c") for k, v in saf["false_positives"].items()]
        fig, ax = plt.subplots(figsize=(7, 3.8))
        ax.barh([b[0] for b in bars], [b[1] for b in bars], color=[b[2] for b in bars])
        ax.axvline(0.95, color="#1d6b35", linestyle="--", linewidth=0.8)
        ax.axvline(0.03, color="#8a1c1c", linestyle="--", linewidth=0.8)
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title("input guard: attacks (green) and benign (red) blocked; targets dashed", fontsize=9)
        fig.tight_layout()
        fig.savefig(out / "safety-rates.png", dpi=110)
        plt.close(fig)
        made.append("safety-rates.png")
    return made


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def render(report: dict[str, Any], charts: list[str]) -> str:
    lines = [f"# Evaluation report — {report['date']}", "",
             "`qa eval`" + (f" --sample {report['sample']}" if report["sample"] else "") +
             ". Our service beside the llama-index baseline (VectorStoreIndex, same chunks, same embedding model, "
             "dense top-k concatenated as the answer; it never abstains and has no guard).", ""]
    summary = ["## Summary", "", "| figure | ours | baseline |", "|---|---|---|"]
    for name in ("lecoqa", "rgb_en"):
        s = report["suites"].get(name)
        if not s:
            continue
        ours, base = s["retrieval"]["ours"], s["baseline"]["retrieval"]
        for k in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"):
            summary.append(f"| {name} {k} | {ours[k]:.3f} | {base[k]:.3f} |")
        a = s["answers_gold_present"]
        hold = s.get("answers_holdout") or s.get("negative_rejection") or {}
        summary += [
            f"| {name} answered (gold present) | {_pct(a['answered_share'])} | 100.0% |",
            f"| {name} answers citing gold | {_pct(a['answered_citing_gold_share'])} | "
            f"{_pct(s['baseline']['answers']['answered_citing_gold_share'])} (top 3) |",
            f"| {name} held or refused (gold removed) | {_pct(hold.get('not_answered_share'))} | 0.0% |",
            *([f"| {name} answered (gold present), test (dev, gap) | {headline(a['splits'], 'answered_share')} | – |",
               f"| {name} held or refused (gold removed), test (dev, gap) | "
               f"{headline(hold['splits'], 'not_answered_share')} | – |"]
              if a.get("splits") and hold.get("splits") else []),
            *([f"| {name} questions whose gold never reaches the generator (same decision both ways) | "
               f"{_pct(s['holdout_bound']['unseen_share'])} ({_pct(s['holdout_bound']['unseen_same_decision'])}) | – |"]
              if s.get("holdout_bound") else []),
            f"| {name} sentence support rate | {_pct(a['sentence_support_rate'])} | not checked |",
            f"| {name} latency p50 / p95 (ms) | {a['latency_ms']['total']['p50']} / {a['latency_ms']['total']['p95']} "
            f"(whole path) | {s['baseline']['latency_ms']['retrieve']['p50']} / "
            f"{s['baseline']['latency_ms']['retrieve']['p95']} (retrieval only) |"]
    saf = report["suites"].get("safety")
    if saf:
        for k, v in saf["interception"].items():
            summary.append(f"| interception: {k} | {_pct(v['rate'])} | 0.0% (no guard) |")
        for k, v in saf["false_positives"].items():
            summary.append(f"| false positives: {k} | {_pct(v['rate'])} | 0.0% |")
        for group in ("pii_multipriv_zh", "pii_presidio"):
            for k, v in saf[group].items():
                summary.append(f"| PII recall {group} {k} | {_pct(v['recall'])} | 0.0% (no redaction) |")
    for name in ADAPTERS:
        if report["suites"].get(name):
            rows = _adapter(name).summary(report["suites"][name])
            summary += [f"| {fig} | {ours} | {base} |" for fig, ours, base in rows]
    lines += [*summary, ""]
    for name in ("lecoqa", "rgb_en"):
        s = report["suites"].get(name)
        if not s:
            continue
        lines += [f"## {name} ({s['questions']} questions)", "", "| retriever | recall@1 | recall@5 | recall@10 | "
                  "MRR@10 | nDCG@10 |", "|---|---|---|---|---|---|"]
        for label, m in {**s["retrieval"], "baseline (llama-index)": s["baseline"]["retrieval"]}.items():
            lines.append(f"| {label} | {m['recall@1']} | {m['recall@5']} | {m['recall@10']} | {m['mrr@10']} | "
                         f"{m['ndcg@10']} |")
        a = s["answers_gold_present"]
        lines += ["", f"Decisions with gold present: {a['decisions']}", "",
                  "| risk label | answered | share not citing gold |", "|---|---|---|"]
        cal = a["wrong_share_by_risk"]
        lines += [f"| {lv} | {v['answered']} | {_pct(v['wrong_share'])} |" for lv, v in cal.items()]
        lines += ["", "| step | p50 ms | p95 ms |", "|---|---|---|"]
        lines += [f"| {k} | {v['p50']} | {v['p95']} |" for k, v in a["latency_ms"].items()]
        lines += [""] + [f"![{c}]({c})" for c in charts if c.startswith(name)] + [""]
    if saf:
        lines += ["## safety", "", "Details: `python -m eval.safety` (safety.md).", "",
                  *[f"![{c}]({c})" for c in charts if c.startswith("safety")], ""]
    for name in ADAPTERS:
        if report["suites"].get(name):
            lines += [*_adapter(name).render(report["suites"][name]), ""]
    return "\n".join(lines) + "\n"

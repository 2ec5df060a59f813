"""COUGH user queries (real English COVID-19 questions) asked against the shipped sample knowledge of
tenant ``city`` (city services): they are out of its scope, so each should end not answered
(``out_of_scope``, ``unanswerable_*`` or ``held_for_review``). The baseline always answers.

Reads ``cough-user-queries/data_User_Query_Bank.csv`` (index, query). The ``city`` tenant is ingested from
``knowledge/city`` (as ``qa serve`` does on first start) when it has no live version.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from eval.data import eval_data_dir
from eval.runner import headline
from eval.suites import generic
from qa_service.services import Services

FILE = ("cough-user-queries", "data_User_Query_Bank.csv")
TENANT = "city"
GROUPS = {"out_of_scope": "out_of_scope", "unanswerable_no_content": "unanswerable",
          "unanswerable_cannot_answer": "unanswerable", "held_for_review": "held_for_review",
          "answered": "answered", "answered_curated": "answered"}  # anything else (blocked_*, error_*) is "other"


def load(data: Path | None = None) -> list[generic.Query]:
    path = (data or eval_data_dir()).joinpath(*FILE)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if str(r.get("query") or "").strip()]
    return [generic.normalise_query({"qid": f"cough{r.get('index', i)}", "query": r["query"], "gold_doc_ids": [],
                                     "answerable": False, "lang": "en"}, i) for i, r in enumerate(rows)]


def ensure_sample_tenant(services: Services, tenant: str = TENANT, folder: Path | None = None) -> dict[str, Any]:
    """Ingest and publish ``folder`` (default ``knowledge/<tenant>``) when the tenant has no live version (like
    ``qa serve`` does on first start)."""
    from qa_service.bootstrap import sample_folder
    from qa_service.ingest.pipeline import run_ingest
    from qa_service.kb import versions

    with services.db.session() as s:
        live = versions.live_row(s, tenant)
        if live is not None:
            return {"skipped": True, "version": live.version}
    result = run_ingest(services, [folder or sample_folder(services) / tenant], tenant, publish=True, actor="eval")
    return {"skipped": False, "version": result.version, "seconds": round(result.seconds, 1)}


def run(services: Services, sample: int | None, baseline: bool = True, *, data: Path | None = None,
        tenant: str = TENANT, knowledge: Path | None = None) -> dict[str, Any]:
    """``tenant``/``knowledge``: ask against another tenant (its folder ingested when it has no live version)."""
    seeded = ensure_sample_tenant(services, tenant, knowledge)
    queries = load(data)
    generic.write_jsonl(generic.work_dir(services, "cough_oos") / "queries.jsonl", queries)
    block = generic.run_generic(services, tenant, None, queries, sample, baseline)
    block["ingest"].update({"sample_knowledge_ingested": not seeded["skipped"]})
    groups: dict[str, int] = {}
    for decision, n in block["answers"]["decisions"].items():
        g = GROUPS.get(decision, "other")
        groups[g] = groups.get(g, 0) + n
    block["outcome"] = dict(sorted(groups.items()))
    block["not_answered_share"] = block["answers"]["not_answered_share"]
    return block


def render(block: dict[str, Any]) -> list[str]:
    n = max(1, block["questions"])
    shares = ", ".join(f"{k} {v} ({v / n:.1%})" for k, v in block["outcome"].items())
    return generic.render_generic("COUGH out of scope", block, intro=[
        f"Real COVID-19 questions against the sample knowledge of `{block['tenant']}` (city services): all out of",
        "scope, so every one should",
        f"end not answered. Outcome: {shares}. The baseline answers every question."])


def summary(block: dict[str, Any]) -> list[tuple[str, str, str]]:
    base = "0.0%" if block.get("baseline") else "–"
    rows = [("cough out-of-scope questions not answered", generic.pct(block["not_answered_share"]), base)]
    n = max(1, block["questions"])
    for k in ("out_of_scope", "unanswerable", "held_for_review", "other", "answered"):
        if k in block["outcome"] or k == "answered":
            rows.append((f"cough ended {k}", generic.pct(block["outcome"].get(k, 0) / n),
                         ("100.0%" if k == "answered" else "0.0%") if block.get("baseline") else "–"))
    sp = block["answers"].get("splits")
    if sp:
        rows.append(("cough not answered (held or declined), test (dev, gap)", headline(sp, "not_answered_share"),
                     base))
    lat = block["answers"]["latency_ms"].get("total")
    if lat:
        blat = ((block.get("baseline") or {}).get("latency_ms") or {}).get("retrieve") or {}
        rows.append(("cough latency p50 / p95 ms", f"{lat['p50']} / {lat['p95']} (whole path)",
                     f"{blat.get('p50', '–')} / {blat.get('p95', '–')} (retrieval only)"))
    return rows

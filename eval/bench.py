"""`qa bench run`: ingestion throughput (ours vs raw encode), re-ingest, answer latency by KB size,
API throughput under concurrency, memory and cold start. Writes eval/reports/bench-<date>.md and a
JSON twin. Everything runs over temporary data directories with a synthetic bilingual corpus."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import platform
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eval.bench_api import cold_ask, run_load, server_peak_rss_kib, start_server, stop_server
from eval.bench_corpus import make_questions, make_record, write_corpus
from eval.metrics import percentile
from qa_service.services import Services
from qa_service.settings import load_settings

log = logging.getLogger("qa.bench")
REPORTS = Path(__file__).resolve().parent / "reports"
RATIO_TARGET = 0.85
NOISE_SIGMA = 0.015  # per-dimension noise added to reused unit vectors (cosine to the source ≈ 0.96)


@dataclass
class BenchConfig:
    quick: bool = False
    out_dir: Path = REPORTS
    records: int = 2000
    sizes: list[int] = field(default_factory=lambda: [1000, 10000, 50000])
    questions: int = 200
    warmup: int = 5
    latency_cap_s: float = 240.0  # per KB size
    concurrency: list[int] = field(default_factory=lambda: [1, 8, 32])
    requests_per_level: int = 100
    level_cap_s: float = 150.0
    cold_runs: int = 2
    seed: int = 20240601
    work_dir: Path | None = None

    @classmethod
    def make(cls, quick: bool, out_dir: Path | None, max_chunks: int) -> BenchConfig:
        if quick:
            cfg = cls(quick=True, records=300, sizes=[1000, 5000], questions=50, warmup=3, latency_cap_s=90.0,
                      requests_per_level=20, level_cap_s=60.0, cold_runs=1)
        else:
            cfg = cls(sizes=[s for s in (1000, 10000, 50000, 100000) if s <= max_chunks])
        if out_dir is not None:
            cfg.out_dir = out_dir
        cfg.sizes = [s for s in cfg.sizes if s <= max_chunks] or [min(cfg.sizes)]
        return cfg


# --------------------------------------------------------------------------- helpers


def _services(data_dir: Path, share_from: Services | None = None) -> Services:
    services = Services(load_settings(None, data_dir=str(data_dir)))
    if share_from is not None:  # one model in memory for the whole run (load time is not measured)
        services.__dict__["dense"] = share_from.dense
    return services


def _maxrss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _load_avg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine_info(model_id: str, model_path: str | None) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    import torch

    return {
        "cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "ram_gb": ram_gb,
        "python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
        "model_id": model_id, "model_path": model_path, "load_avg_start": _load_avg(),
    }


def _embed_texts_of_version(services: Services, tenant: str, version: int) -> tuple[list[str], np.ndarray]:
    """The exact texts the build embedded (embed_text over title/heading + chunk text) and the vectors."""
    from qa_service.ingest.build import embed_text

    texts: list[str] = []
    vecs: list[list[float]] = []
    reader = services.store.open_version(tenant, version)
    try:
        for p in reader.iter_points(with_vectors=True):
            texts.append(embed_text(p.payload))
            vecs.append(p.dense)
    finally:
        reader.close()
    return texts, np.asarray(vecs, dtype="float32")


# --------------------------------------------------------------------------- ingestion


def bench_ingest(cfg: BenchConfig, work: Path) -> tuple[dict[str, Any], np.ndarray, Services]:
    """Ingest the synthetic corpus twice (fresh data dirs), re-ingest each unchanged, then raw encode."""
    corpus = work / "corpus" / "bench-corpus.jsonl"
    corpus.parent.mkdir(parents=True)
    tokens = write_corpus(corpus, cfg.records, cfg.seed)
    log.info("corpus: %d records, %d chunk tokens -> %s", cfg.records, tokens, corpus)
    first: Services | None = None
    runs: list[dict[str, Any]] = []
    tenant = "bench"
    for run in (1, 2):
        services = _services(work / f"ingest-{run}", share_from=first)
        if first is None:
            first = services
            services.dense.encode(["warm up the model"], 1)  # load outside the timed job
        log.info("ingest run %d: %d records ...", run, cfg.records)
        res = _ingest(services, corpus, tenant)
        log.info("ingest run %d: embedded=%s in %.1fs (%.1f chunks/s); re-ingest ...", run,
                 res.chunks.get("embedded"), res.seconds, res.chunks.get("embedded", 0) / res.seconds)
        again = _ingest(services, corpus, tenant)
        log.info("re-ingest run %d: embedded=%s in %.1fs", run, again.chunks.get("embedded"), again.seconds)
        runs.append({
            "version": res.version, "state": res.state, "sources": res.sources, "chunks": res.chunks,
            "seconds": round(res.seconds, 2), "chunks_per_s": round(res.chunks.get("embedded", 0) / res.seconds, 2),
            "reingest": {"seconds": round(again.seconds, 2), "chunks": again.chunks, "sources": again.sources,
                         "ratio_to_first": round(again.seconds / res.seconds, 4)},
        })
        if services is not first:
            services.close()
    assert first is not None
    texts, pool = _embed_texts_of_version(first, tenant, int(runs[0]["version"]))
    batch = first.settings.embedding.batch_size
    raw_runs: list[dict[str, Any]] = []
    for run in (1, 2):
        log.info("raw encode run %d: %d texts, batch_size=%d ...", run, len(texts), batch)
        t0 = time.perf_counter()
        first.dense.encode(texts, batch)  # the backend alone, without the pipeline around it
        secs = time.perf_counter() - t0
        raw_runs.append({"seconds": round(secs, 2), "chunks_per_s": round(len(texts) / secs, 2)})
        log.info("raw encode run %d: %.1fs (%.1f texts/s)", run, secs, len(texts) / secs)
    ours = [r["chunks_per_s"] for r in runs]
    raw = [r["chunks_per_s"] for r in raw_runs]
    re_s = [r["reingest"]["seconds"] for r in runs]
    re_ratio = [r["reingest"]["ratio_to_first"] for r in runs]
    out = {
        "corpus": {"records": cfg.records, "chunk_tokens": tokens, "seed": cfg.seed,
                   "chunks": int(runs[0]["chunks"].get("embedded", 0)),
                   "languages": _language_mix(first, tenant, int(runs[0]["version"]))},
        "batch_size": batch, "runs": runs, "raw_runs": raw_runs, "raw_texts": len(texts),
        "ours_best": max(ours), "ours_mean": round(statistics.mean(ours), 2),
        "raw_best": max(raw), "raw_mean": round(statistics.mean(raw), 2),
        "ratio_best": round(max(ours) / max(raw), 4),
        "ratio_mean": round(statistics.mean(ours) / statistics.mean(raw), 4),
        "ratio_target": RATIO_TARGET,
        "reingest_best_s": min(re_s), "reingest_ratio_best": min(re_ratio),
        "reingest_embedded": [int(r["reingest"]["chunks"].get("embedded", -1)) for r in runs],
        "maxrss_mb_after": _maxrss_mb(),
    }
    return out, pool, first


def _ingest(services: Services, corpus: Path, tenant: str) -> Any:
    from qa_service.ingest.pipeline import run_ingest

    return run_ingest(services, [corpus], tenant, mode="sync", publish=True, actor="bench")


def _language_mix(services: Services, tenant: str, version: int) -> dict[str, int]:
    reader = services.store.open_version(tenant, version)
    try:
        return dict(Counter(str(p.payload.get("language")) for p in reader.iter_points()))
    finally:
        reader.close()


# --------------------------------------------------------------------------- KB at scale


def build_scale_kb(services: Services, tenant: str, size: int, pool: np.ndarray, seed: int) -> dict[str, Any]:
    """A live version of ``size`` chunks written straight through the store: synthetic texts with
    real BM25 vectors; dense vectors are real corpus vectors reused with noise and re-normalised."""
    from qa_service.db.models import IngestJob
    from qa_service.ingest.build import NO_EXPIRY, embed_text
    from qa_service.kb import versions
    from qa_service.kb.types import StoredPoint

    rng = random.Random(seed + size)
    nrng = np.random.default_rng(seed + size)
    model_id = services.dense.model_id
    dim = int(pool.shape[1])
    t0 = time.perf_counter()
    job_id = uuid.uuid4().hex[:16]
    with services.db.session() as s:
        s.add(IngestJob(id=job_id, tenant=tenant, state="running", mode="sync", paths=["<bench synthetic>"],
                        total=size, created_by="bench", pid=os.getpid(), host=os.uname().nodename))
        s.flush()
        row = versions.allocate(s, tenant, None, model_id, job_id, "bench")
        version = row.version
    writer = services.store.create_version(tenant, version, dim)
    step = services.settings.store.upsert_batch
    manifest: dict[str, str] = {}
    langs: Counter[str] = Counter()
    try:
        for start in range(0, size, step):
            n = min(step, size - start)
            idx = np.arange(start, start + n) % len(pool)
            vecs = pool[idx] + nrng.normal(0.0, NOISE_SIGMA, size=(n, dim)).astype("float32")
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            points: list[StoredPoint] = []
            for j in range(n):
                rec = make_record(rng, start + j)
                sid = f"{rec['doc_id']}"
                text = rec["text"]
                lang = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text[:40]) else "en"
                langs[lang] += 1
                digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
                manifest[sid] = digest
                payload = {
                    "chunk_id": f"{sid}:0", "source_id": sid, "tenant": tenant, "n": 0, "text": text,
                    "digest": digest, "heading": "", "page": None, "kind": "text", "title": rec["title"],
                    "url": None, "language": lang, "visibility": "public", "department": None,
                    "doc_type": "corpus", "effective": 0, "expiry": NO_EXPIRY, "model": model_id,
                }
                sparse = services.sparse.embed_document(f"{rec['title']}\n{text}")
                points.append(StoredPoint(f"{sid}:0", vecs[j].tolist(), sparse, payload,
                                          services.cjk.embed_document(embed_text(payload))))
            writer.upsert(points)
        writer.seal()
    except BaseException:
        writer.abort()
        raise
    with services.db.session() as s:
        row = versions.get_version(s, tenant, version)
        row.state = "draft"
        row.manifest = manifest
        row.source_count = len(manifest)
        row.chunk_count = size
        job = s.get(IngestJob, job_id)
        if job is not None:
            job.state = "succeeded"
            job.done = size
        versions.publish(s, services.store, tenant, version, "bench")
    services.live.invalidate(tenant)
    secs = time.perf_counter() - t0
    return {"chunks": size, "version": version, "build_seconds": round(secs, 2),
            "build_points_per_s": round(size / secs, 1), "languages": dict(langs)}


def measure_latency(services: Services, tenant: str, questions: list[str], warmup: int,
                    cap_s: float) -> dict[str, Any]:
    """Full answer path (`ask`), timings_ms.total per question after ``warmup`` questions."""
    from qa_service.answer.service import ask

    for q in questions[:warmup]:
        ask(services, q, tenant)
    totals: list[float] = []
    steps: dict[str, list[float]] = {"retrieve": [], "generate": []}
    decisions: Counter[str] = Counter()
    deadline = time.perf_counter() + cap_s
    for q in questions[warmup:]:
        if time.perf_counter() > deadline:
            break
        _, out = ask(services, q, tenant)
        t = out.get("timings_ms") or {}
        totals.append(float(t.get("total", 0.0)))
        for k, lst in steps.items():
            lst.append(float(t.get(k, 0.0)))
        decisions[str(out.get("decision"))] += 1
    return {
        "questions": len(totals), "planned": len(questions) - warmup, "capped": len(totals) < len(questions) - warmup,
        "p50_ms": round(percentile(totals, 50), 1), "p95_ms": round(percentile(totals, 95), 1),
        "mean_ms": round(statistics.mean(totals), 1) if totals else 0.0,
        "retrieve_p50_ms": round(percentile(steps["retrieve"], 50), 1),
        "generate_p50_ms": round(percentile(steps["generate"], 50), 1),
        "decisions": dict(decisions),
    }


def bench_scale(cfg: BenchConfig, work: Path, pool: np.ndarray, model_from: Services,
                questions: list[str]) -> tuple[dict[str, Any], Path, str]:
    data_dir = work / "scale"
    services = _services(data_dir, share_from=model_from)
    rows: list[dict[str, Any]] = []
    try:
        for size in cfg.sizes:
            tenant = f"s{size}"
            log.info("scale %d: building the KB through the store ...", size)
            built = build_scale_kb(services, tenant, size, pool, cfg.seed)
            log.info("scale %d: built in %.1fs; %d questions (cap %.0fs) ...", size, built["build_seconds"],
                     len(questions) - cfg.warmup, cfg.latency_cap_s)
            lat = measure_latency(services, tenant, questions, cfg.warmup, cfg.latency_cap_s)
            log.info("scale %d: p50=%.0fms p95=%.0fms over %d questions", size, lat["p50_ms"], lat["p95_ms"],
                     lat["questions"])
            rows.append({**built, **lat, "tenant": tenant, "maxrss_mb_after": _maxrss_mb()})
    finally:
        services.close()
    return {"sizes": rows, "dense_method": (
        f"dense vectors = the {len(pool)} real vectors of the ingested corpus, reused cyclically with "
        f"N(0, {NOISE_SIGMA}) noise per dimension and re-normalised; texts are fresh synthetic records "
        f"with real BM25 vectors (SparseEmbedder.embed_document over title + text)")}, data_dir, f"s{cfg.sizes[0]}"


# --------------------------------------------------------------------------- API, cold start


def bench_api(cfg: BenchConfig, work: Path, data_dir: Path, tenant: str, questions: list[str]) -> dict[str, Any]:
    log.info("api: starting qa serve --no-bootstrap over %s (tenant %s) ...", data_dir, tenant)
    server = start_server(data_dir, tenant, work / "serve.log")
    log.info("api: ready after %.1fs", server.ready_s)
    levels: list[dict[str, Any]] = []
    peak = 0
    try:
        run_load(server.base, tenant, questions, 1, 3, 60.0)  # warm-up
        for c in cfg.concurrency:
            log.info("api: %d clients, %d requests (cap %.0fs) ...", c, cfg.requests_per_level, cfg.level_cap_s)
            r = run_load(server.base, tenant, questions, c, cfg.requests_per_level, cfg.level_cap_s)
            log.info("api: c=%d %.2f req/s p50=%.0fms p95=%.0fms errors=%d", c, r["req_per_s"], r["p50_ms"],
                     r["p95_ms"], r["errors"])
            levels.append(r)
        peak = server_peak_rss_kib(server)
    finally:
        end_peak = stop_server(server)
    return {"tenant": tenant, "levels": levels, "serve_ready_s": round(server.ready_s, 2),
            "server_peak_rss_mb": round(max(peak, end_peak) / 1024, 1)}


def bench_cold(cfg: BenchConfig, work: Path, data_dir: Path, tenant: str, question: str) -> dict[str, Any]:
    asks = []
    for i in range(cfg.cold_runs):
        log.info("cold start: qa ask in a fresh process (%d/%d) ...", i + 1, cfg.cold_runs)
        asks.append(cold_ask(data_dir, tenant, question))
    readies = []
    for i in range(cfg.cold_runs):
        log.info("cold start: qa serve until /readyz 200 (%d/%d) ...", i + 1, cfg.cold_runs)
        server = start_server(data_dir, tenant, work / f"serve-cold-{i}.log")
        stop_server(server)
        readies.append(round(server.ready_s, 2))
    return {"ask_runs": asks, "ask_best_s": min(a["seconds"] for a in asks), "serve_ready_runs_s": readies,
            "serve_ready_best_s": min(readies), "question": question}


# --------------------------------------------------------------------------- report


def _fmt(x: float, nd: int = 1) -> str:
    return f"{x:,.{nd}f}"


def summary_rows(res: dict[str, Any]) -> list[tuple[str, str, str]]:
    ing, rows = res["ingest"], []
    ok_ratio = ing["ratio_best"] >= RATIO_TARGET
    rows.append(("Ingest throughput, ours (best of 2)", f"{_fmt(ing['ours_best'])} chunks/s", ""))
    rows.append(("Raw SentenceTransformer.encode (best of 2)", f"{_fmt(ing['raw_best'])} texts/s", ""))
    rows.append(("Ours / raw (best / mean of 2)", f"{ing['ratio_best']:.0%} / {ing['ratio_mean']:.0%}",
                 f"≥{RATIO_TARGET:.0%}: {'met' if ok_ratio else 'MISSED'}"))
    emb = ing["reingest_embedded"]
    rows.append(("Re-ingest unchanged corpus (best of 2)",
                 f"{_fmt(ing['reingest_best_s'], 2)} s = {ing['reingest_ratio_best']:.1%} of first run",
                 f"embedded={emb}: {'met' if all(e == 0 for e in emb) else 'MISSED'}"))
    for s in res["scale"]["sizes"]:
        rows.append((f"ask() latency @ {s['chunks']:,} chunks (p50 / p95)",
                     f"{_fmt(s['p50_ms'], 0)} / {_fmt(s['p95_ms'], 0)} ms", f"n={s['questions']}"))
    for lv in res["api"]["levels"]:
        rows.append((f"POST /api/v1/ask, {lv['concurrency']} clients",
                     f"{lv['req_per_s']:.2f} req/s, p50 {_fmt(lv['p50_ms'], 0)} / p95 {_fmt(lv['p95_ms'], 0)} ms",
                     f"n={lv['ok']}, errors={lv['errors']}" + (" (time cap)" if lv["capped"] else "")))
    cold = res["cold"]
    rows.append(("Cold `qa ask --json` (fresh process, best)", f"{_fmt(cold['ask_best_s'], 2)} s", ""))
    rows.append(("Cold `qa serve` until /readyz 200 (best)", f"{_fmt(cold['serve_ready_best_s'], 2)} s", ""))
    mem = res["memory"]
    rows.append(("Peak RSS: bench process / server / `qa ask`",
                 f"{_fmt(mem['bench_process_mb'], 0)} / {_fmt(mem['server_mb'], 0)} / {_fmt(mem['cold_ask_mb'], 0)} MB",
                 ""))
    return rows


def render_markdown(res: dict[str, Any]) -> str:
    m, ing, sc, api, cold = res["machine"], res["ingest"], res["scale"], res["api"], res["cold"]
    lines = [f"# Benchmarks — {res['date']}{' (quick)' if res['quick'] else ''}", "",
             f"`qa bench run{' --quick' if res['quick'] else ''}`; total {res['total_seconds'] / 60:.1f} min. "
             "All figures from this one run on the machine below; nothing is extrapolated.", "",
             "## Summary", "", "| Measure | Result | Target / note |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in summary_rows(res)]
    lines += ["", "## Machine", "",
              f"- CPU: {m['cpu']} — {m['cores']} cores (torch threads: {m['torch_threads']})",
              f"- RAM: {m['ram_gb']} GB", f"- Python {m['python']}, torch {m['torch']}, {m['platform']}",
              f"- Embedding model: `{m['model_id']}`",
              f"- Load average at start / end: {m['load_avg_start']} / {res.get('load_avg_end')} "
              "(the machine is shared; other jobs running at the same time slow every figure here)", ""]
    c = ing["corpus"]
    lines += ["## Ingestion throughput", "",
              f"Synthetic bilingual corpus (fixed seed {c['seed']}): {c['records']:,} records of fictional "
              f"public-service rules, {c['chunk_tokens']:,} chunk tokens, {c['chunks']:,} chunks; "
              f"languages {c['languages']}. Each run ingests it into a fresh data dir (SQLite + Qdrant Edge) "
              "with `run_ingest(..., publish=True)`; the model is loaded before the job. "
              "chunks/s = embedded chunks / job seconds (the job's own timer: discovery, chunking, scans, "
              "dense + BM25 embedding, writing, sealing, ledger, publish).", "",
              f"Raw: `model.encode(texts, batch_size={ing['batch_size']}, normalize_embeddings=True)` once over "
              f"exactly the {ing['raw_texts']:,} texts the build embedded (rebuilt with `embed_text` from the "
              "built version's payloads: title + text).", "",
              "| Run | Ours: seconds | Ours: chunks/s | Raw: seconds | Raw: texts/s |", "|---|---|---|---|---|"]
    for i, (r, w) in enumerate(zip(ing["runs"], ing["raw_runs"], strict=True), 1):
        lines.append(f"| {i} | {r['seconds']} | {r['chunks_per_s']} | {w['seconds']} | {w['chunks_per_s']} |")
    lines += ["", f"Ratio ours/raw: best-vs-best **{ing['ratio_best']:.1%}**, mean-vs-mean {ing['ratio_mean']:.1%} "
              f"(target ≥ {RATIO_TARGET:.0%}). Headline figures are the best of two runs.", "",
              "## Re-ingest (unchanged corpus)", "",
              "Same corpus ingested again into the same data dir right after each first run (`mode=sync`, publish).",
              "", "| Run | Seconds | Ratio to first run | Embedded | Copied | Unchanged sources |",
              "|---|---|---|---|---|---|"]
    for i, r in enumerate(ing["runs"], 1):
        rr = r["reingest"]
        lines.append(f"| {i} | {rr['seconds']} | {rr['ratio_to_first']:.1%} | {rr['chunks'].get('embedded')} | "
                     f"{rr['chunks'].get('copied')} | {rr['sources'].get('unchanged')} |")
    lines += ["", "## Query latency by KB size", "",
              "Full extractive answer path `ask(services, q, tenant)` (guard → curated → retrieve → generate → "
              "check → risk → route → record), `timings_ms.total`, after "
              f"{res['config']['warmup']} warm-up questions; questions are generated from the corpus vocabulary, "
              "alternating English and Chinese.", "",
              f"KB construction: versions written directly through the store interface (`create_version` → "
              f"`upsert` → `seal`, KbVersion row + `publish`), payload keys as `chunk_payload`. {sc['dense_method']}. "
              "This keeps the index sizes and vector distributions realistic without hours of embedding on 2 cores, "
              "but answer quality on these KBs means nothing.", "",
              "| Chunks | Build s | Questions | p50 ms | p95 ms | mean ms | retrieve p50 | generate p50 | decisions |",
              "|---|---|---|---|---|---|---|---|---|"]
    for s in sc["sizes"]:
        lines.append(f"| {s['chunks']:,} | {s['build_seconds']} | {s['questions']}{' (capped)' if s['capped'] else ''}"
                     f" | {s['p50_ms']} | {s['p95_ms']} | {s['mean_ms']} | {s['retrieve_p50_ms']} | "
                     f"{s['generate_p50_ms']} | {s['decisions']} |")
    lines += ["", "## API throughput and latency", "",
              f"`qa serve --no-bootstrap` (uvicorn, one worker, `create_app`) on 127.0.0.1 over the "
              f"{sc['sizes'][0]['chunks']:,}-chunk KB (tenant `{api['tenant']}`); httpx async clients in the bench "
              f"process POST /api/v1/ask; up to {res['config']['requests_per_level']} requests per level "
              f"(time cap {res['config']['level_cap_s']:.0f} s), 3 warm-up requests first. Latency is client-side.",
              "", "| Clients | Requests ok | Errors | Seconds | req/s | p50 ms | p95 ms |",
              "|---|---|---|---|---|---|---|"]
    for lv in api["levels"]:
        lines.append(f"| {lv['concurrency']} | {lv['ok']} | {lv['errors']} | {lv['seconds']}"
                     f"{' (cap)' if lv['capped'] else ''} | {lv['req_per_s']} | {lv['p50_ms']} | {lv['p95_ms']} |")
    mem = res["memory"]
    lines += ["", "## Memory and cold start", "",
              f"- Peak RSS of the bench process (ingest + all KB sizes open, `getrusage` maxrss): "
              f"{mem['bench_process_mb']} MB",
              f"- Peak RSS of the API server under load: {mem['server_mb']} MB",
              f"- Peak RSS of a cold `qa ask`: {mem['cold_ask_mb']} MB",
              f"- Cold `qa ask \"{cold['question']}\" --tenant {api['tenant']} --json` (fresh interpreter, "
              f"QA_DATA_DIR = the {sc['sizes'][0]['chunks']:,}-chunk KB), wall seconds: "
              f"{[a['seconds'] for a in cold['ask_runs']]}",
              f"- Fresh `qa serve --no-bootstrap` until /readyz returns 200 (includes model load and warm-up), "
              f"seconds: {cold['serve_ready_runs_s']} (and {api['serve_ready_s']} for the load-test server)", ""]
    return "\n".join(lines) + "\n"


def run_bench(cfg: BenchConfig) -> dict[str, Path]:
    """Run every benchmark and write the report pair; returns their paths."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    started = time.perf_counter()
    load_start = _load_avg()
    work = Path(tempfile.mkdtemp(prefix="qa-bench-", dir=cfg.work_dir))
    log.info("bench work dir %s (quick=%s, sizes=%s)", work, cfg.quick, cfg.sizes)
    try:
        ingest, pool, first = bench_ingest(cfg, work)
        machine = machine_info(first.dense.model_id, str(first.dense.model_path or "bundled"))
        machine["load_avg_start"] = load_start
        questions = make_questions(cfg.questions + cfg.warmup)
        scale, scale_dir, small = bench_scale(cfg, work, pool, first, questions)
        first.close()
        api = bench_api(cfg, work, scale_dir, small, questions)
        cold = bench_cold(cfg, work, scale_dir, small, questions[0])
        res: dict[str, Any] = {
            "date": dt.date.today().isoformat(), "quick": cfg.quick,
            "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
            "machine": machine, "ingest": ingest, "scale": scale, "api": api, "cold": cold,
            "memory": {"bench_process_mb": _maxrss_mb(), "server_mb": api["server_peak_rss_mb"],
                       "cold_ask_mb": max(a["peak_rss_mb"] for a in cold["ask_runs"])},
            "load_avg_end": _load_avg(), "python_executable": sys.executable,
        }
        res["total_seconds"] = round(time.perf_counter() - started, 1)
        res["summary"] = [{"measure": a, "result": b, "note": c} for a, b, c in summary_rows(res)]
        cfg.out_dir.mkdir(parents=True, exist_ok=True)
        stem = f"bench-{res['date']}{'-quick' if cfg.quick else ''}"
        md, js = cfg.out_dir / f"{stem}.md", cfg.out_dir / f"{stem}.json"
        md.write_text(render_markdown(res), encoding="utf-8")
        js.write_text(json.dumps(res, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
        log.info("bench done in %.1f min: %s", res["total_seconds"] / 60, md)
        return {"markdown": md, "json": js}
    finally:
        shutil.rmtree(work, ignore_errors=True)

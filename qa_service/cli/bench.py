"""`qa bench run`: ingestion throughput, answer latency by KB size, API load, memory, cold start — ours beside a plain
llama-index RAG pipeline and the raw limit (eval/bench.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from qa_service.cli.common import console, setup_logging

bench_app = typer.Typer(help="Benchmarks (synthetic corpus, temporary data dirs).", no_args_is_help=True)


@bench_app.command("run")
def run_cmd(
    quick: bool = typer.Option(False, "--quick", help="Small sizes for a smoke run (a few minutes)."),
    out: Path | None = typer.Option(None, "--out", help="Report folder (default: eval/reports)."),
    max_chunks: int = typer.Option(50000, "--max-chunks",
                                   help="Largest KB size for the latency runs (100000 adds the optional 100k)."),
    work_dir: Path | None = typer.Option(None, "--work-dir", help="Parent of the temporary data dirs."),
    sizes: str | None = typer.Option(None, "--sizes", help="KB sizes of the latency runs, comma-separated "
                                                            "(default 1000,10000,50000; --max-chunks caps them)."),
    records: int | None = typer.Option(None, "--records", help="Corpus records ingested per run (default 200)."),
    runs: int | None = typer.Option(None, "--runs", help="Runs of ours, the peer and the raw limit (default 3)."),
    questions: int | None = typer.Option(None, "--questions", help="Questions per latency pass (default 200)."),
    requests: int | None = typer.Option(None, "--requests", help="API requests per concurrency level (default 100)."),
    stem: str | None = typer.Option(None, "--stem", help="Report file name without extension (default "
                                                          "bench-<date>)."),
) -> None:
    """Run the benchmarks (ours beside a plain llama-index peer and the raw limit) and write bench-<date>.md and
    .json."""
    from eval.bench import BenchConfig, run_bench

    setup_logging("WARNING")
    logging.getLogger("qa.bench").setLevel(logging.INFO)
    cfg = BenchConfig.make(quick, out, max_chunks)
    if sizes:
        cfg.sizes = [int(x) for x in sizes.split(",") if x.strip() and int(x) <= max_chunks] or cfg.sizes
    if records is not None:
        cfg.records = records
    if runs is not None:
        cfg.runs = max(1, runs)
    if questions is not None:
        cfg.questions = max(2, questions)
    if requests is not None:
        cfg.requests_per_level = max(1, requests)
    cfg.stem = stem
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
        cfg.work_dir = work_dir
    paths = run_bench(cfg)
    console.print(f"report: {paths['markdown']}")
    console.print(f"json:   {paths['json']}")

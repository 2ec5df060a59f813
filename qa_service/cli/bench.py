"""`qa bench run`: ingestion throughput, answer latency by KB size, API load, memory, cold start."""

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
) -> None:
    """Run the benchmarks and write bench-<date>.md and .json."""
    from eval.bench import BenchConfig, run_bench

    setup_logging("WARNING")
    logging.getLogger("qa.bench").setLevel(logging.INFO)
    cfg = BenchConfig.make(quick, out, max_chunks)
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
        cfg.work_dir = work_dir
    paths = run_bench(cfg)
    console.print(f"report: {paths['markdown']}")
    console.print(f"json:   {paths['json']}")

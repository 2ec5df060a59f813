"""`qa eval`: the evaluation suites on ../shared/eval-data, beside the llama-index baseline."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from qa_service.cli.common import console, fail, get_services


def eval_cmd(
    suite: list[str] = typer.Option(
        [], "--suite", help="lecoqa, rgb_en, safety, h2o_pdfs, rgb_zh, cough_oos, kenya_faq, bipia (default: all)."),
    sample: int | None = typer.Option(None, "--sample", help="Fixed-seed sample of N questions per suite."),
    out: Path | None = typer.Option(None, "--out", help="Report folder (default: eval/reports/<date>)."),
    resume: bool = typer.Option(False, "--resume", help="Keep the suites already in <out>/report.json."),
) -> None:
    """Run the evaluation suites and write report.md, report.json and charts."""
    from eval.harness import SUITES, run

    chosen = tuple(suite) or SUITES
    bad = [s for s in chosen if s not in SUITES]
    if bad:
        fail(f"unknown suite {bad[0]!r}; choose from {', '.join(SUITES)}")
    folder = out or Path("eval/reports") / dt.date.today().isoformat()
    with console.status(f"running {', '.join(chosen)} …"):
        run(get_services(), chosen, sample, folder, resume=resume)
    console.print(f"report: {folder / 'report.md'}")

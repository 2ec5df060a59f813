"""`qa eval`: the evaluation suites on ../shared/eval-data, beside the llama-index baseline."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from qa_service.cli.common import console, fail, get_services


def eval_cmd(
    suite: list[str] = typer.Option(
        [], "--suite",
        help="lecoqa, rgb_en, safety, h2o_pdfs, rgb_zh, cough_oos, kenya_faq, bipia, broad, oos (default: all)."),
    sample: int | None = typer.Option(None, "--sample", help="Fixed-seed sample of N questions per suite."),
    out: Path | None = typer.Option(None, "--out", help="Report folder (default: eval/reports/<date>)."),
    resume: bool = typer.Option(False, "--resume", help="Keep the suites already in <out>/report.json."),
    side_by_side: bool = typer.Option(
        False, "--side-by-side", help="With generate.backend=llm: run the same suites with the extractive default "
                                      "too and write side-by-side.md (every figure of both)."),
) -> None:
    """Run the evaluation suites and write report.md, report.json and charts."""
    from eval.harness import SUITES, run

    chosen = tuple(suite) or SUITES
    bad = [s for s in chosen if s not in SUITES]
    if bad:
        fail(f"unknown suite {bad[0]!r}; choose from {', '.join(SUITES)}")
    folder = out or Path("eval/reports") / dt.date.today().isoformat()
    services = get_services()
    if side_by_side and services.settings.generate.backend != "llm":
        fail("--side-by-side compares a configured model with the extractive default: set QA_GENERATE__BACKEND=llm "
             "and QA_LLM__BASE_URL", code=2)
    with console.status(f"running {', '.join(chosen)} …"):
        report = run(services, chosen, sample, folder, resume=resume)
    console.print(f"report: {folder / 'report.md'}")
    if side_by_side:
        from eval.compare import write_side_by_side
        from qa_service.services import Services

        plain = services.settings.model_copy(deep=True)
        plain.generate.backend = "extractive"
        extractive = Services(plain)
        with console.status("running the same suites with the extractive default …"):
            base = run(extractive, chosen, sample, folder / "extractive", resume=resume)
        label = f"{services.settings.llm.model} @ {services.settings.llm.base_url}"
        console.print(f"side by side: {write_side_by_side(report, base, label, folder)}")

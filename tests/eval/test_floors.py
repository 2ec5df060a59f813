"""CI's quality gate: a fixed-seed sample of each evaluation suite must stay at or above the floors in
eval/floors.yaml (and false positives at or below their ceilings). Reads ../shared/eval-data."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from eval.harness import DATA, run

pytestmark = pytest.mark.integration
FLOORS = Path(__file__).resolve().parents[2] / "eval" / "floors.yaml"


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
    svc = make_services()
    lecoqa = run(svc, ("lecoqa", "rgb_en"), sample=40, baseline=False)
    safety = run(svc, ("safety",), sample=None)
    report = {"suites": {**lecoqa["suites"], **safety["suites"]}}
    floors = yaml.safe_load(FLOORS.read_text(encoding="utf-8"))
    below = {k: (_get(report, k), v) for k, v in floors["min"].items() if _get(report, k) < v}
    above = {k: (_get(report, k), v) for k, v in floors["max"].items() if _get(report, k) > v}
    assert not below and not above, {"below floor": below, "above ceiling": above}

"""Side-by-side reports of a configured model and the extractive default."""

from __future__ import annotations

import pytest

from eval.compare import numeric_leaves, side_by_side

pytestmark = pytest.mark.unit


def test_numeric_leaves_are_the_figures_not_the_detail() -> None:
    report = {"recall": {"at1": 0.5, "at5": 0.75}, "n": 40, "per_question": [1, 2], "ok": True, "name": "x"}
    assert numeric_leaves(report) == {"recall.at1": 0.5, "recall.at5": 0.75, "n": 40.0}


def test_side_by_side_lists_every_shared_figure_with_its_difference() -> None:
    llm = {"suites": {"kenya_faq": {"citing_gold": 0.9, "n": 15}, "only_llm": {"x": 1}}}
    ext = {"suites": {"kenya_faq": {"citing_gold": 0.8, "n": 15, "extra": 3}}}
    text = side_by_side(llm, ext, "qwen @ http://127.0.0.1:8000/v1")
    assert "| citing_gold | 0.9 | 0.8 | +0.1 |" in text
    assert "| n | 15 | 15 | +0 |" in text
    assert "only_llm" not in text and "| extra |" not in text

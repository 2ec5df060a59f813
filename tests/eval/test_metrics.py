"""The hold-out bound: where the gold never reaches the generator, no decision rule can tell the two runs apart."""

from __future__ import annotations

import pytest

from eval.metrics import holdout_bound

pytestmark = pytest.mark.unit

NOT_ANSWERED = ("held_for_review", "unanswerable_no_content")


def test_the_bound_counts_unseen_questions_and_says_when_targets_cannot_be_met() -> None:
    # 10 questions; gold reaches the generator for 6; the 4 others decide the same way in both runs
    present = {"decisions": ["answered"] * 6 + ["answered", "answered", "held_for_review", "answered"],
               "gold_seen": [True] * 6 + [False] * 4}
    holdout = {"decisions": ["held_for_review"] * 6 + ["answered", "answered", "held_for_review", "answered"],
               "gold_seen": [False] * 10}
    b = holdout_bound(present, holdout, NOT_ANSWERED)
    assert b["unseen_share"] == 0.4 and b["unseen_same_decision"] == 1.0
    assert b["unseen_answered_share"] == 0.75 and b["held_share_holdout_of_unseen"] == 0.25
    t = b["targets"]["answered>=0.8, held>=0.8"]
    assert (t["a_min"], t["a_max"], t["feasible"]) == (0.5, 0.5, True)
    assert b["targets"]["answered>=0.8, held>=0.9"]["feasible"] is False


def test_with_every_gold_seen_any_target_is_open() -> None:
    rows = {"decisions": ["answered"] * 3, "gold_seen": [True] * 3}
    b = holdout_bound(rows, rows, NOT_ANSWERED)
    assert b["unseen_share"] == 0.0 and all(t["feasible"] for t in b["targets"].values())

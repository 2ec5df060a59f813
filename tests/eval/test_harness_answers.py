"""eval.harness's answer block on the shared runner: real pipeline over the small town KB."""

from __future__ import annotations

from typing import Any

import pytest

from eval import harness

pytestmark = pytest.mark.integration

ITEMS = [("p1", "How much does a resident parking permit cost?", {"parking.md"}),
         ("p2", "Who can apply for a resident parking permit?", {"parking.md"}),
         ("h1", "办理户籍迁入需要什么材料？", {"hukou.md"})]


def test_answers_with_gold_present_and_removed(town: Any) -> None:
    present = harness._answers(town, ITEMS, "town", "auto", holdout=False, set_name="unit")
    assert present["n"] == 3 and sum(present["decisions"].values()) == 3
    assert present["answered_share"] > 0 and present["answered_citing_gold_share"] > 0
    sp = present["splits"]
    assert sp["test"]["n"] + sp["dev"]["n"] == 3 and sp["all"]["answered_share"] == present["answered_share"]
    removed = harness._answers(town, ITEMS, "town", "auto", holdout=True, set_name="unit")
    # with every gold source removed nothing can cite it, and fewer questions are answered
    assert removed["answered_citing_gold_share"] == 0.0
    assert removed["answered_share"] < present["answered_share"]
    assert removed["not_answered_share"] == removed["splits"]["all"]["not_answered_share"]
    assert len(removed["per_question"]["decisions"]) == 3 and not any(removed["per_question"]["gold_seen"])
    bound = harness.holdout_bound(present["per_question"], removed["per_question"], harness.NOT_ANSWERED_STATUSES)
    assert bound["n"] == 3
    assert set(harness.NOT_ANSWERED_STATUSES) == {"held_for_review", "out_of_scope", "unanswerable_no_content",
                                                  "unanswerable_cannot_answer"}


def test_lecoqa_answers_run_on_the_runner_and_record_nothing(town: Any) -> None:
    from sqlalchemy import func, select

    from eval import lecoqa
    from qa_service.db.models import AnswerRecord

    queries = [{"qid": qid, "query": q, "gold_doc_ids": sorted(g)} for qid, q, g in ITEMS]
    present = lecoqa.answers(town, queries, tenant="town")
    removed = lecoqa.answers(town, queries, tenant="town", holdout=True)
    assert present["n"] == 3 and sum(present["risk_levels"].values()) == 3
    assert present["answered_share"] == present["splits"]["all"]["answered_share"] > 0
    assert removed["citing_gold_of_all"] == 0.0 and removed["answered_share"] < present["answered_share"]
    with town.db.session() as s:  # evaluation runs never write answer records
        assert s.scalar(select(func.count()).select_from(AnswerRecord)) == 0

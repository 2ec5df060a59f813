"""The eval runner's recording and tallying, with a deterministic stand-in pipeline (same run(ctx) interface)."""

from __future__ import annotations

import pytest

from eval.runner import Item, Outcome, by_split, outcome_of, run_items, split_rows, split_shares, states, tally
from eval.splits import split_of
from qa_service.answer.context import AnswerContext, Passage, Sentence
from qa_service.answer.statuses import (
    ANSWERED,
    BLOCKED_INJECTION,
    ERROR_INTERNAL,
    HELD_FOR_REVIEW,
    NO_CONTENT,
    OUT_OF_SCOPE,
)

pytestmark = pytest.mark.unit


class ScriptedPipeline:
    """Answers from a script keyed by question: (status, answer sentence, cited source id)."""

    def __init__(self, script: dict[str, tuple[str, str, str]]) -> None:
        self.script = script
        self.seen: list[AnswerContext] = []

    def run(self, ctx: AnswerContext) -> AnswerContext:
        self.seen.append(ctx)
        status, text, source = self.script[ctx.question]
        ctx.timings_ms["total"] = float(len(ctx.question))
        if status == ANSWERED:
            ctx.passages = [Passage(n=1, chunk_id=f"{source}:0", source_id=source, title="t", text=text,
                                    digest="d", score=1.0)]
            ctx.sentences = [Sentence(text=text, cites=[1])]
            ctx.status = ANSWERED
            ctx.risk_level = "low"
        else:
            ctx.stop(status, "scripted")
            if text:  # a message without the hotline (to check the contact-line count)
                ctx.message = text
        return ctx


def test_outcome_groups_have_one_definition() -> None:
    assert outcome_of("answered") == outcome_of("answered_curated") == "answered"
    assert outcome_of("held_for_review") == "held"
    assert {outcome_of(s) for s in ("out_of_scope", "unanswerable_no_content", "unanswerable_cannot_answer")} == {
        "declined"}
    assert outcome_of("blocked_injection") == "blocked"
    assert outcome_of("error_internal") == outcome_of("rate_limited") == outcome_of(None) == "error"


def test_states_matches_whole_numbers_and_alternatives() -> None:
    assert states("The fee is 20 yuan [1].", "20 YUAN")
    assert not states("Founded in 1990.", "90")
    assert not states("freedom of movement", "free")
    assert states("工本费20元", "20元")
    assert states("costs 1293.98 a month", ["1,293.98", "1293.98"])
    assert not states("", "x")


def test_run_items_records_outcomes_and_follow_up_history() -> None:
    pipe = ScriptedPipeline({
        "q1": (ANSWERED, "A replacement costs 20 yuan and takes 10 working days.", "guide.md"),
        "q2": (ANSWERED, "It takes 10 working days.", "other.md"),
        "q3": (OUT_OF_SCOPE, "", ""),
        "q4": (HELD_FOR_REVIEW, "", ""),
    })
    items = [Item(id="a", question="q1", tenant="city", lang="en", gold=("guide.md",),
                  key_facts=("20 yuan", ["10 working days", "ten working days"], "EMS"), conversation_id="c1"),
             Item(id="b", question="q2", tenant="city", lang="en", gold=("guide.md",), key_facts=("20 yuan",),
                  conversation_id="c1"),
             Item(id="c", question="q3", tenant="city", lang="zh", answerable=False),
             Item(id="d", question="q4", tenant="city", lang="en", key_facts=("x",))]
    rows = run_items(pipe, items, "unit")
    assert [r.outcome for r in rows] == ["answered", "answered", "declined", "held"]
    assert pipe.seen[0].history == [] and pipe.seen[1].history == ["q1"]  # the follow-up carries its history
    assert pipe.seen[2].history == []
    a, b, c, d = rows
    assert (a.facts_stated, a.facts_total, a.cites_gold, a.cited_ids) == (2, 3, True, ["guide.md"])
    assert (b.facts_stated, b.cites_gold) == (0, False)
    assert c.contact_line  # the canned out-of-scope message names the 12345 hotline
    assert d.facts_stated == 0 and d.cites_gold is None and not d.contact_line
    assert [r.split for r in rows] == [split_of("unit", k) for k in ("conversation:c1", "conversation:c1", "c", "d")]
    assert a.latency_ms == 2.0


def _row(i: int, outcome_status: str, split: str, answerable: bool = True, stated: int = 0, total: int = 0,
         contact: bool = False, lang: str = "en") -> Outcome:
    return Outcome(id=str(i), split=split, lang=lang, group="", answerable=answerable,  # type: ignore[arg-type]
                   status=outcome_status, outcome=outcome_of(outcome_status), risk_level="low", risk_reasons=[],
                   cited_ids=[], cites_gold=None, facts_total=total, facts_stated=stated, contact_line=contact,
                   latency_ms=float(i), answer="")


def test_tally_counts_each_share_on_its_own_denominator() -> None:
    rows = [_row(1, ANSWERED, "test", stated=1, total=2), _row(2, ANSWERED, "test", stated=2, total=2),
            _row(3, NO_CONTENT, "test", contact=True, total=1), _row(4, OUT_OF_SCOPE, "test", answerable=False),
            _row(5, BLOCKED_INJECTION, "test", answerable=False), _row(6, ERROR_INTERNAL, "test"),
            _row(7, HELD_FOR_REVIEW, "test", answerable=False)]
    t = tally(rows)
    assert t["n"] == 7 and t["outcomes"] == {"answered": 2, "held": 1, "declined": 2, "blocked": 1, "error": 1}
    assert t["not_answered_share"] == round(3 / 7, 4)  # held + declined; blocked and error are not refusals
    assert t["declined_with_contact_share"] == round(1 / 7, 4)
    assert t["declines_with_contact_share"] == 0.5
    assert t["answerable"] == 4 and t["answerable_declined_share"] == 0.25
    assert t["answerable_not_answered_share"] == 0.5
    assert t["unanswerable_answered_share"] == 0.0
    assert t["key_fact_items"] == 3 and t["key_fact_share"] == 0.5  # (0.5 + 1.0 + 0) / 3
    assert t["key_fact_share_answered"] == 0.75 and t["key_facts_all_stated_share"] == round(1 / 3, 4)
    assert t["answered_citing_gold_share"] is None
    assert tally([])["key_fact_share"] is None and tally([])["answered_share"] is None


def test_by_split_gives_test_dev_and_the_gap() -> None:
    rows = [_row(1, ANSWERED, "test", stated=1, total=1, lang="zh"), _row(2, NO_CONTENT, "test", total=1),
            _row(3, ANSWERED, "dev", stated=1, total=1), _row(4, ANSWERED, "dev", stated=0, total=1, lang="zh")]
    b = by_split(rows, key=lambda r: r.lang)
    assert b["test"]["key_fact_share"] == 0.5 and b["dev"]["key_fact_share"] == 0.5
    assert b["test"]["answered_share"] == 0.5 and b["dev"]["answered_share"] == 1.0
    assert b["gap"]["answered_share"] == -0.5 and b["gap"]["key_fact_share"] == 0.0
    assert b["all"]["n"] == 4
    assert b["by"]["zh"]["test"]["key_fact_share"] == 1.0 and b["by"]["zh"]["dev"]["key_fact_share"] == 0.0
    assert b["by"]["en"]["gap"]["key_fact_share"] == -1.0
    line = split_rows("x ", b, [("answered_share", "answered")])[0]
    assert line == "| x answered | **50.0%** | 100.0% | -50.0 pt | 2 / 2 |"


def test_split_shares_of_suite_flags() -> None:
    rows = [_row(1, ANSWERED, "test"), _row(2, ANSWERED, "test"), _row(3, ANSWERED, "dev")]
    s = split_shares(rows, {"1": {"follow": True}, "2": {"follow": False}, "3": {"follow": False}})
    assert s["test"] == {"n": 2, "follow_share": 0.5} and s["dev"]["follow_share"] == 0.0
    assert s["gap"] == {"follow_share": 0.5} and s["all"]["follow_share"] == round(1 / 3, 4)

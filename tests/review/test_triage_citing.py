"""Queue filters and groups (qa_service/review/triage.py) and the [n] check of staff-chosen citations
(qa_service/review/citing.py), on real ReviewItem rows and a real sealed KB version."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from qa_service.db.models import ReviewItem
from qa_service.review import citing, triage

NOW = dt.datetime(2026, 12, 3, 12, 0)


def _item(i: str, question: str, kind: str = "held", risk: str = "high", age_h: float = 0.0,
          due_in_h: float = 24.0) -> ReviewItem:
    return ReviewItem(id=i, tenant="town", kind=kind, state="pending", question=question, risk_level=risk,
                      created_at=NOW - dt.timedelta(hours=age_h), sla_due=NOW + dt.timedelta(hours=due_in_h))


@pytest.mark.unit
def test_filters_by_kind_risk_age_and_sla() -> None:
    items = [_item("a", "Is there a fee?", age_h=5, due_in_h=-1), _item("b", "x", kind="sampled", risk="medium"),
             _item("c", "y", due_in_h=2), _item("d", "z", age_h=30)]

    def ids(**kw: Any) -> list[str]:
        return [i.id for i in triage.apply(items, triage.QueueFilter(**kw), NOW)]

    assert ids() == ["a", "b", "c", "d"]
    assert ids(kinds=("sampled",)) == ["b"]
    assert ids(risks=("high",)) == ["a", "c", "d"]
    assert ids(min_age_hours=4) == ["a", "d"]
    assert ids(sla="overdue") == ["a"]
    assert ids(sla="due_soon") == ["c"]
    assert ids(sla="on_time") == ["b", "c", "d"]
    with pytest.raises(triage.FilterError):
        triage.QueueFilter(sla="later")
    with pytest.raises(triage.FilterError):
        triage.QueueFilter(risks=("extreme",))


@pytest.mark.unit
def test_identical_questions_share_a_group() -> None:
    items = [_item("a", "Is there a fee?"), _item("b", "is there a  fee"), _item("c", "Is there a fee？"),
             _item("d", "Is there a deadline?"), _item("e", "有费用吗？"), _item("f", "有费用吗")]
    assert triage.groups(items) == {"is there a fee": ["a", "b", "c"], "有费用吗": ["e", "f"]}


@pytest.mark.unit
def test_markers_must_name_a_chosen_passage() -> None:
    assert citing.markers("A [2] b [1] c [2].") == [2, 1]
    citing.check_markers("No markers at all.", 0)
    citing.check_markers("One [1] two [2].", 2)
    with pytest.raises(citing.CitationError, match=r"\[3\] cites no chosen passage: passages \[1\]–\[2\]"):
        citing.check_markers("One [1] three [3].", 2)
    with pytest.raises(citing.CitationError, match="no passage is chosen"):
        citing.check_markers("One [1].", 0)
    with pytest.raises(citing.CitationError, match=r"\[4\] cites no passage of the draft \(it has \[1\], \[2\]\)"):
        citing.check_against("x [4]", {1, 2})


@pytest.mark.integration
def test_choose_numbers_live_passages_in_order(town: Any) -> None:
    _, reader = town.live.get("town")
    out = citing.choose(reader, ["parking.md:1", "staff-notes.txt:0"], "Fee [1].")
    assert [(c["n"], c["chunk_id"], c["cited"], c["visibility"]) for c in out] == [
        (1, "parking.md:1", True, "public"), (2, "staff-notes.txt:0", False, "internal")]
    assert out[0]["url"] == "https://town.example/parking" and "40 dollars" in out[0]["text"] and out[0]["digest"]
    with pytest.raises(citing.CitationError, match="not in the live knowledge base"):
        citing.choose(reader, ["gone.md:0"], "x [1]")
    with pytest.raises(citing.CitationError, match="internal"):
        citing.choose(reader, ["staff-notes.txt:0"], "x [1]", staff=False)

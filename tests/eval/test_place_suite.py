"""The `place` suite (issue 22) over the fixture knowledge base with the fake embedder: the figures it reports, and
that the path without the place steps (as before issue 22) scores worse on the same questions."""

from __future__ import annotations

from typing import Any

import pytest

from eval.runner import Outcome
from eval.suites import place

pytestmark = pytest.mark.unit


def test_fixture_questions_cover_every_kind_in_both_splits() -> None:
    from eval.splits import split_of

    rows = place.read_questions()
    kinds = {(r["kind"], r["lang"], split_of(place.SET, r["qid"])) for r in rows}
    for kind in ("named", "no_doc", "office"):
        for lang in ("zh", "en"):
            assert {(kind, lang, "dev"), (kind, lang, "test")} <= kinds, (kind, lang)


def _outcome(qid: str, outcome: str, cited: list[str], answer: str, reasons: list[str], level: str) -> Outcome:
    return Outcome(id=qid, split="test", lang="zh", group="", answerable=True, status=outcome, outcome=outcome,
                   risk_level=level, risk_reasons=reasons, cited_ids=cited, cites_gold=None, facts_total=0,
                   facts_stated=0, contact_line=False, latency_ms=0.0, answer=answer)


def test_flags_judge_citations_numbers_and_the_plain_note() -> None:
    qs = {"a": {"kind": "named", "applicable": ["x.md"], "wrong_numbers": ["024-7233 9999"]},
          "b": {"kind": "no_doc", "applicable": [], "wrong_numbers": []},
          "c": {"kind": "no_doc", "applicable": [], "wrong_numbers": []}}
    rows = [_outcome("a", "answered", ["x.md", "y.md"], "电话：024 7233 9999", [], "low"),
            _outcome("b", "answered", [], "以下是全国性（通用）规定；您问的沈阳市的专门规定未收录", ["place_not_held"], "medium"),
            _outcome("c", "declined", [], "抱歉", [], "low")]
    f = place.flags(rows, qs)
    assert f["a"] == {"applicable_only": False, "wrong_number": True}
    assert f["b"]["no_doc_handled"] and f["b"]["mismatch_code"] and f["c"] == {"no_doc_handled": True}
    s = place.shares(rows, f)
    assert s["test"]["applicable_only_share"] == 0.5 and s["test"]["applicable_only_n"] == 2  # a and b answered
    assert s["test"]["no_doc_handled_n"] == 2 and s["test"]["no_doc_handled_share"] == 1.0


def test_the_suite_reports_the_issues_figures(make_services: Any) -> None:
    svc = make_services()
    on = place.run(svc)
    a = on["place"]["all"]
    assert a["applicable_only_share"] == 1.0 and a["wrong_number_share"] == 0.0
    assert a["no_doc_handled_share"] >= 0.9
    assert a.get("mismatch_code_share") in (None, 1.0)
    assert any("place: shown answers citing only applicable sources" in row[0] for row in place.summary(on))
    assert "## place" in place.render(on)[0]
    off = place.run(svc, place_steps=False)["place"]["all"]
    assert off["no_doc_handled_share"] < a["no_doc_handled_share"] or off["applicable_only_share"] < 1.0

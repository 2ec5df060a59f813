"""The one hybrid retriever: `qa kb search` (kb/search.py) and the answer path's retrieve step get the same
passages, the same expired exclusions and the same figures."""

from __future__ import annotations

from typing import Any

import pytest

from qa_service.answer.context import AnswerContext
from qa_service.answer.steps.retrieve import Retrieve
from qa_service.kb.retriever import retrieval_confidence
from qa_service.kb.search import search

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("question", ["How much does a resident parking permit cost?", "户籍迁入需要提供哪些材料？",
                                      "What did a resident parking permit cost in 2019?"])
def test_search_shows_what_the_answer_path_retrieves(town: Any, question: str) -> None:
    ctx = AnswerContext(question=question, tenant="town", channel="citizen", lang="auto")
    Retrieve(town.retriever, town.settings.retrieval, town.generator, places=town.places).run(ctx)  # as build_steps
    res = search(town, "town", question, k=town.settings.retrieval.top_k, visibility=["public"])
    assert res.hits and [h.chunk_id for h in res.hits] == [p.chunk_id for p in ctx.passages]
    assert ctx.retrieval is not None and ctx.retrieval.expired == res.expired
    assert ctx.retrieval.weights == res.weights and ctx.retrieval.idf_coverage == res.idf_coverage
    assert ctx.signals["expired_excluded"] == res.expired  # the stored record's view of the same figures
    assert res.confidence == retrieval_confidence(question, res.idf_coverage, res.dense_top)


def test_expired_sources_are_excluded_and_named(town: Any) -> None:
    from qa_service.kb.search import place_plan

    q = "What did a resident parking permit cost in 2019?"
    res = search(town, "town", q, k=10, place=False)  # the retriever alone
    assert any(cid.startswith("old-fees.md:") for cid in res.expired)
    assert all(h.payload["source_id"] != "old-fees.md" for h in res.hits)
    # the answer path's rule (kb/places.py PlaceCheck.admit): the past year it was in force lets it back in, recorded
    plan = place_plan(town, "town", q)
    back = search(town, "town", q, k=10, plan=plan)
    assert plan is not None and "old-fees.md" in plan.lapsed and plan.lapsed["old-fees.md"].until == 20201231
    assert any(h.payload["source_id"] == "old-fees.md" for h in back.hits)
    today = search(town, "town", "What does a resident parking permit cost?", k=10)
    assert all(h.payload["source_id"] != "old-fees.md" for h in today.hits)


def test_no_live_version_is_a_result_without_a_version(make_services: Any) -> None:
    res = search(make_services(), "nobody", "anything")
    assert res.version is None and res.hits == [] and res.expired == []


def test_an_unknown_mode_is_refused(town: Any) -> None:
    with pytest.raises(ValueError, match="mode"):
        search(town, "town", "parking", mode="fuzzy")

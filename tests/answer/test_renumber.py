"""Citations numbered [1].. without gaps in order of first use; the citations list in the same order."""

from __future__ import annotations

import pytest

from qa_service.answer.context import AnswerContext, Passage, Sentence
from qa_service.answer.response import citations
from qa_service.answer.steps.renumber import Renumber

pytestmark = pytest.mark.unit


def _ctx(cites: list[list[int]]) -> AnswerContext:
    passages = [Passage(n, f"s{n}:0", f"s{n}", f"T{n}", f"text {n}", f"d{n}", 1.0 - n / 10) for n in range(1, 6)]
    passages[4].via = 3  # a section added beside retrieved passage 3
    ctx = AnswerContext(question="q", tenant="t", lang="en", passages=passages,
                        sentences=[Sentence(f"S{i}.", c) for i, c in enumerate(cites)])
    return ctx


def test_cited_passages_are_numbered_from_one_in_order_of_first_use() -> None:
    ctx = _ctx([[3], [5, 3], [2]])
    Renumber().run(ctx)
    assert [s.cites for s in ctx.sentences] == [[1], [2, 1], [3]]
    assert ctx.answer_text == "S0.[1] S1.[2][1] S2.[3]"
    assert [p.n for p in ctx.passages] == [1, 2, 3, 4, 5]
    assert [p.chunk_id for p in ctx.passages] == ["s3:0", "s5:0", "s2:0", "s1:0", "s4:0"]  # uncited after, in order
    assert ctx.passages[1].via == 1  # still points at its guide's retrieved passage, renumbered
    assert [c["n"] for c in citations(ctx)] == [1, 2, 3]
    assert [c["source_id"] for c in citations(ctx)] == ["s3", "s5", "s2"]


def test_an_answer_already_numbered_in_order_is_left_alone() -> None:
    ctx = _ctx([[1], [1, 2]])
    before = [p.chunk_id for p in ctx.passages]
    Renumber().run(ctx)
    assert [s.cites for s in ctx.sentences] == [[1], [1, 2]]
    assert [p.chunk_id for p in ctx.passages] == before


def test_list_items_and_tables_start_lines_of_their_own_zh() -> None:
    ctx = AnswerContext(question="q", tenant="t", lang="zh", sentences=[
        Sentence("**所需材料**", [1], line=True), Sentence("- 身份证原件；", [1]), Sentence("- 户口簿。", [1]),
        Sentence("窗口免费拍照。", [2], line=True), Sentence("无需自带。", [2]),
        Sentence("| 事项 | 收费 |\n| --- | --- |\n| 首次 | 免费 |", [3], line=True)])
    assert ctx.answer_text == ("**所需材料**[1]\n- 身份证原件；[1]\n- 户口簿。[1]\n窗口免费拍照。[2]无需自带。[2]\n"
                               "| 事项 | 收费 |\n| --- | --- |\n| 首次 | 免费 |[3]")

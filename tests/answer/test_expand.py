"""The expand step and the composed answer over a real embedded KB: a guide's typed sections join the passages,
an element question gets its section whole, a broad one an overview, citations numbered from [1] without gaps."""

from __future__ import annotations

import re
from typing import Any

import pytest

from qa_service.answer.context import AnswerContext, Passage
from qa_service.answer.service import ask
from qa_service.answer.steps.expand import ExpandSections
from qa_service.kb.search import search
from qa_service.kb.types import Hit

pytestmark = pytest.mark.unit


class _Sections:
    """Stands in for GuideSections: every chunk of the asked source."""

    def __init__(self, chunks: dict[str, list[Hit]]) -> None:
        self.chunks = chunks
        self.asked: list[str] = []

    def element_chunks(self, tenant: str, version: int | None, source_id: str, visibility: list[str] | None,
                       query_vector: list[float]) -> list[Hit]:
        self.asked.append(source_id)
        return self.chunks.get(source_id, [])


def _hit(cid: str, kind: str) -> Hit:
    return Hit(cid, 0.3, {"source_id": cid.split(":")[0], "text": cid, "heading": "G > h", "section_type": kind})


def test_the_best_guides_sections_are_appended_after_the_retrieved_passages() -> None:
    ctx = AnswerContext(question="q", tenant="t", kb_version=1, vectors={"q": [1.0]}, passages=[
        Passage(1, "faq:0", "faq", "FAQ", "Q\nA", "f", 0.9, kind="faq"),
        Passage(2, "g:1", "g", "G", "g:1", "g1", 0.8, section_type="fees"),
        Passage(3, "h:0", "h", "H", "h:0", "h0", 0.7, section_type="documents")])
    sections = _Sections({"g": [_hit("g:0", "eligibility"), _hit("g:1", "fees"), _hit("g:2", "documents")],
                          "h": [_hit("h:1", "fees")]})
    ExpandSections(sections, max_sources=1).run(ctx)  # type: ignore[arg-type]
    assert sections.asked == ["g"]  # FAQ entries are no guide; only the best guide is read
    assert [(p.n, p.chunk_id, p.via) for p in ctx.passages] == [
        (1, "faq:0", None), (2, "g:1", None), (3, "h:0", None), (4, "g:0", 2), (5, "g:2", 2)]
    assert ctx.passages[3].section_type == "eligibility"


def test_sections_are_typed_in_the_payload(town: Any) -> None:
    hits = {h.payload["source_id"] + "|" + h.payload["heading"]: h.payload["section_type"]
            for h in search(town, "town", "户籍迁入 材料 时限 parking permit fees who can apply 居住证", k=20).hits}
    assert hits["hukou.md|户籍迁入 > 办理材料"] == "documents"
    assert hits["hukou.md|户籍迁入 > 办理时限"] == "duration"
    assert hits["parking.md|Parking permits > Who can apply"] == "eligibility"
    assert hits["parking.md|Parking permits > Fees"] == "fees"
    assert hits["faq.csv|"] == "faq"


def test_element_and_broad_questions_answer_with_the_guides_sections(town: Any) -> None:
    _, out = ask(town, "户籍迁入怎么办理？", "town")
    assert out["decision"] == "answered", out
    assert out["answer"].startswith("**办理材料**：办理户籍迁入需要提供居民户口簿、居民身份证和房屋产权证明。[1]")
    assert "**办理时限**：材料齐全的，窗口当场办结。[" in out["answer"]
    assert {c["source_id"] for c in out["citations"]} == {"hukou.md"}
    used = [int(n) for n in re.findall(r"\[(\d+)\]", out["answer"])]
    assert sorted(set(used)) == list(range(1, len(set(used)) + 1))  # no gaps
    assert [c["n"] for c in out["citations"]] == sorted(set(used))  # the list in the same order
    _, who = ask(town, "Who can apply for a resident parking permit?", "town", "staff")  # staff see held drafts too
    assert who["answer"] == ("Residents whose car is registered at an address in the town centre can apply for a "
                             "resident parking permit.[1]"), who

"""Answers made of a guide's own units: the asked section whole, or a short overview of the one best guide.

A question about one element of a service (documents, fees, processing time, where and when, eligibility,
contact: ``answer_types.asked_elements``) gets that section of the best guide as the guide writes it — every
line, lists kept as lists, tables as Markdown tables — each line citing the passage it comes from. A broad
question ("X怎么办理", "how do I apply for X", "what do we need to do": ``answer_types.asks_broadly``) gets an
overview of the same guide: for eligibility, documents, where and when (how to apply, when the guide has no
where-and-when section), fees and processing time, the section's own heading and its first
``generate.overview_lines`` lines. The best guide is the source of the best retrieved
passage that is not an FAQ entry; nothing from another document is added. The sections come from the passages
(retrieved, or added beside them by the expand step), typed at ingestion by their headings
(qa_service/ingest/sections.py).

When the best passage is an untyped section whose own heading names what the question is about and the guide's
title does not ("个体户的年度报告忘了报会怎么样" is about the 年度报告 section, "个体户注销要多久" about 注销, not the
guide's 办理时限), that section, whole, is the answer. No composition (the caller falls back to choosing sentences)
when the question asks for no element and not broadly, when the best guide has no typed section (a department's
document without standard headings), or when it lacks a section the question asks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa_service.answer.answer_types import asked_elements, asks_broadly
from qa_service.answer.context import Passage, Sentence
from qa_service.answer.guides import chunk_number
from qa_service.answer.text import terms
from qa_service.ingest.sections import ELEMENTS, strip_numbering, types_of
from qa_service.text import HAN_RE

#: the elements of an overview, in the order it gives them
OVERVIEW = ("eligibility", "documents", "place_time", "fees", "duration")
_ROW_SEP = re.compile(r"^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$")
_MIN_OVERLAP = 8  # characters: shorter runs shared by two chunks are not the chunker's overlap


@dataclass(eq=False)
class Unit:
    """One section of one guide: the passages under one heading, in document order."""

    source_id: str
    heading: str
    types: tuple[str, ...]
    passages: list[Passage] = field(default_factory=list)

    @property
    def label(self) -> str:
        return strip_numbering(self.heading.rpartition(" > ")[2] or self.heading)


def units_of(passages: list[Passage], source_id: str, heading: str | None = None) -> list[Unit]:
    """The element-typed sections of ``source_id`` among ``passages``, in document order (``heading``: the one
    section under that heading, whatever its type)."""
    by_heading: dict[str, Unit] = {}
    for p in sorted((p for p in passages if p.source_id == source_id and p.kind != "faq"),
                    key=lambda p: chunk_number(p.chunk_id)):
        types = tuple(t for t in types_of(p.section_type) if t in ELEMENTS)
        if (heading is None and not types) or (heading is not None and p.heading != heading):
            continue
        unit = by_heading.setdefault(p.heading, Unit(source_id, p.heading, types))
        if all(q.chunk_id != p.chunk_id for q in unit.passages):
            unit.passages.append(p)
    return sorted(by_heading.values(), key=lambda u: chunk_number(u.passages[0].chunk_id))


def unit_lines(unit: Unit) -> list[tuple[str, list[int]]]:
    """The section's lines with the passage each comes from; the text two consecutive chunks share (the
    chunker's overlap) is given once."""
    out: list[tuple[str, list[int]]] = []
    prev = ""
    for p in unit.passages:
        text = p.text.strip()
        cut = _overlap(prev, text)
        rest = text[cut:]
        out += [(ln.strip(), [p.n]) for ln in rest.split("\n") if ln.strip()]
        prev = text
    return out


def _overlap(a: str, b: str) -> int:
    """Length of the longest end of ``a`` that ``b`` starts with (0 when under ``_MIN_OVERLAP``)."""
    for k in range(min(len(a), len(b)), _MIN_OVERLAP - 1, -1):
        if a.endswith(b[:k]):
            return k
    return 0


def _cells(line: str) -> list[str] | None:
    if " | " not in line and not line.startswith("|"):
        return None
    inner = line.strip().strip("|")
    return [c.strip() for c in inner.split("|")]


def blocks(lines: list[tuple[str, list[int]]]) -> list[Sentence]:
    """Lines as answer sentences: a table's rows become one Markdown table (header row, separator, rows), a list
    item or a paragraph line stays one sentence."""
    out: list[Sentence] = []
    i = 0
    while i < len(lines):
        row = _cells(lines[i][0])
        if row is None or len(row) < 2:
            out.append(Sentence(lines[i][0], list(lines[i][1]), line=True))
            i += 1
            continue
        rows: list[list[str]] = []
        cites: list[int] = []
        while i < len(lines):
            text, c = lines[i]
            cells = _cells(text)
            if cells is None or len(cells) < 2:
                break
            if not _ROW_SEP.match(text.strip()):
                rows.append(cells)
            cites += [n for n in c if n not in cites]
            i += 1
        width = len(rows[0])
        md = [f"| {' | '.join(rows[0])} |", "| " + " | ".join(["---"] * width) + " |"]
        md += [f"| {' | '.join(r)} |" for r in rows[1:]]
        out.append(Sentence("\n".join(md), cites, line=True))
    return out


@dataclass
class Composed:
    """A composed answer: its sentences and how many sections of the guide they quote."""

    sentences: list[Sentence]
    sections: int


class Composer:
    """Composes an answer from a guide's sections (see the module docstring); ``compose`` returns None when it
    does not apply."""

    def __init__(self, overview_lines: int, overview_min_sections: int) -> None:
        self.overview_lines = overview_lines
        self.overview_min_sections = overview_min_sections

    def compose(self, question: str, passages: list[Passage], intent: str | None = None) -> Composed | None:
        """``intent``: a follow-up's own words when ``question`` was rewritten with the conversation's topic; the
        asked elements and broadness are read from it."""
        top = next((p for p in passages if p.via is None and p.kind != "faq"), None)
        if top is None:
            return None
        if self._sub_topic(intent or question, top):  # the question is about that section: it is the answer, whole
            return self._sections(units_of(passages, top.source_id, top.heading), labelled=False, limit=None)
        elements = asked_elements(intent or question)
        broad = asks_broadly(intent or question)
        if not elements and not broad:
            return None
        units = units_of(passages, top.source_id)
        if not units:
            return None  # an untyped document: the sentences are chosen instead
        if elements:
            asked = self._pick(units, elements)
            if asked is None:
                return None
            return self._sections(asked, labelled=len(asked) > 1, limit=None)
        overview: list[Unit] = []
        for t in OVERVIEW:
            unit = next((u for u in units if t in u.types), None)
            if unit is None and t == "place_time":  # where to go is then said under how to apply
                unit = next((u for u in units if "procedure" in u.types), None)
            if unit is not None and all(unit is not c for c in overview):
                overview.append(unit)
        if len(overview) < self.overview_min_sections:
            return None
        return self._sections(overview, labelled=True, limit=self.overview_lines)

    @staticmethod
    def _pick(units: list[Unit], elements: list[str]) -> list[Unit] | None:
        """The first section of each asked element (once each); None when one is missing."""
        chosen: list[Unit] = []
        for t in elements:
            unit = next((u for u in units if t in u.types), None)
            if unit is None:
                return None
            if all(unit is not c for c in chosen):
                chosen.append(unit)
        return chosen

    @staticmethod
    def _sub_topic(question: str, top: Passage) -> bool:
        """The best passage is an untyped section whose own heading shares a term with the question that the
        guide's title does not: the question is about that section."""
        if any(t in ELEMENTS for t in types_of(top.section_type)) or top.section_type in ("overview", ""):
            return False
        parts = top.heading.split(" > ")
        own = terms(parts[-1]) if len(parts) > 1 or top.title else set()
        title = terms(top.title) | (terms(parts[0]) if len(parts) > 1 else set())
        return bool((terms(question) & own) - title)

    @staticmethod
    def _sections(units: list[Unit], *, labelled: bool, limit: int | None) -> Composed | None:
        out: list[Sentence] = []
        used = 0
        for unit in units:
            body = blocks(unit_lines(unit))
            if limit is not None:
                body = body[:limit]
            if not body:
                continue
            used += 1
            if labelled:
                first = body[0]
                if "\n" in first.text or first.text.lstrip().startswith(("-", "*", "•", "|")) \
                        or re.match(r"\d{1,3}[.)、]\s*", first.text):
                    out.append(Sentence(f"**{unit.label}**", list(first.cites), line=True))
                else:
                    body[0] = Sentence(f"**{unit.label}**：{first.text}" if _han(unit.label)
                                       else f"**{unit.label}**: {first.text}", list(first.cites), line=True)
            out += body
        return Composed(out, used) if out else None


def _han(text: str) -> bool:
    return HAN_RE.search(text) is not None

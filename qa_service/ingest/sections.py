"""Section typing: the type of a guide's section from the wording of its heading (zh and en).

Government service guides share a structure (申请条件, 申请材料, 办理流程, 办理地点和时间, 收费标准, 办理时限,
咨询方式; Who can apply, Documents, How to apply, Where and when, Fees, Processing time, Contact). The vocabulary
is data (``section_types.yaml`` beside this module, or ``ingest.section_types``): each type lists the phrases
headings use. A heading is normalised (NFKC, lower case, numbering such as "一、" "1." "（二）" "第三章" and
punctuation removed) and each phrase is looked for in it with rapidfuzz: a Chinese phrase as a run of characters
(``partial_ratio``), an English phrase as a run of words (``ratio`` over word windows, plurals folded), so
"Document" finds "Documents" and "办理地点与时间" finds "办理地点和时间" without a rule per heading; a short
phrase (under 8 letters, under 5 Chinese characters) must occur as written. The deepest heading of the path that
matches decides; a heading naming several elements gives several types in the order it names them
("收费和办理时限" → ``fees+duration``). Nothing matched: ``overview`` for the text under the document's own
title (or under no heading), else ``other``. FAQ entries are ``faq``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz

from qa_service.text import HAN

log = logging.getLogger(__name__)

DEFAULT_VOCABULARY = Path(__file__).with_name("section_types.yaml")
#: the types a guide's element sections can have (the vocabulary names them); the rest are structural
ELEMENTS = ("eligibility", "documents", "procedure", "place_time", "fees", "duration", "contact")
OVERVIEW, OTHER, FAQ = "overview", "other", "faq"
SEPARATOR = "+"

#: phrases shorter than this (characters) match only as written; longer ones within ``min_score`` (a Chinese
#: phrase of 4 characters with one changed scores 75, so "办理时间" never passes for "办理时限" at 85)
FUZZY_MIN_CHARS = 8
FUZZY_MIN_CHARS_HAN = 5
_NUMBERING = re.compile(r"^\s*(?:第[一二三四五六七八九十百\d]{1,4}[章节部分条]|[（(][一二三四五六七八九十\d]{1,3}[）)]"
                        r"|[一二三四五六七八九十]{1,3}[、.．]|\d{1,2}(?:\.\d{1,2})*[.、)．]?|[a-z][.)])\s*")
_HAN = re.compile(f"[{HAN}]+")  # runs of Han characters (qa_service/text.py)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def strip_numbering(heading: str) -> str:
    """The heading without its leading numbering ("四、收费和办理时限" → "收费和办理时限"), as written otherwise."""
    return _NUMBERING.sub("", heading.strip(), count=1).strip() or heading.strip()


def normalise_heading(heading: str) -> str:
    """NFKC, lower case, leading numbering removed, whitespace folded."""
    text = unicodedata.normalize("NFKC", heading).lower().strip()
    text = _NUMBERING.sub("", text, count=1)
    return " ".join(text.split())


@dataclass(frozen=True)
class _Phrase:
    type: str
    text: str
    han: bool  # a Chinese phrase (matched as characters), else words


class SectionVocabulary:
    """The heading vocabulary, loaded from YAML: ``type(heading_path, title, kind)`` types one section."""

    def __init__(self, types: dict[str, dict[str, list[str]]], min_score: float = 85.0,
                 overview_title_score: float = 60.0) -> None:
        unknown = set(types) - set(ELEMENTS)
        if unknown:
            raise ValueError(f"unknown section types {sorted(unknown)}; choose from {', '.join(ELEMENTS)}")
        self.min_score = float(min_score)
        self.overview_title_score = float(overview_title_score)
        phrases: list[_Phrase] = []
        for name, langs in types.items():
            for words in (langs or {}).values():
                for w in words or []:
                    norm = normalise_heading(str(w))
                    if norm:
                        phrases.append(_Phrase(name, norm, bool(_HAN.search(norm))))
        self.phrases = phrases

    @classmethod
    def from_file(cls, path: Path | None = None) -> SectionVocabulary:
        return _load(str(path or DEFAULT_VOCABULARY))

    def heading_types(self, heading: str) -> list[str]:
        """The element types one heading names, in the order it names them (empty when none)."""
        norm = normalise_heading(heading)
        if not norm:
            return []
        han = " ".join(_HAN.findall(norm))
        words = _WORD.findall(norm)
        found: dict[str, tuple[int, int]] = {}  # type -> (position in the heading, -phrase length)
        for ph in self.phrases:
            pos = self._match(ph, han, words)
            if pos is None:
                continue
            key = (pos, -len(ph.text))
            if ph.type not in found or key < found[ph.type]:
                found[ph.type] = key
        return [t for t, _ in sorted(found.items(), key=lambda kv: kv[1])]

    def _match(self, ph: _Phrase, han: str, words: list[str]) -> int | None:
        """Where ``ph`` occurs in the heading (character or word offset), or None."""
        if ph.han:
            if not han or len(ph.text) > len(han):
                return None if not han or len(ph.text) < FUZZY_MIN_CHARS_HAN or fuzz.ratio(ph.text, han) < \
                    self.min_score else 0
            if len(ph.text) < FUZZY_MIN_CHARS_HAN:  # "时限" must be there as written ("时间" is another thing)
                pos = han.find(ph.text)
                return pos if pos >= 0 else None
            al = fuzz.partial_ratio_alignment(ph.text, han)
            return al.dest_start if al is not None and al.score >= self.min_score else None
        target = [_singular(w) for w in ph.text.split()]
        n = len(target)
        if not words or n > len(words):
            return None
        joined = " ".join(target)
        fuzzy = len(joined) >= FUZZY_MIN_CHARS  # a short word matches as itself: "contact" is not "contract"
        for i in range(len(words) - n + 1):
            window = [_singular(w) for w in words[i : i + n]]
            if window == target or (fuzzy and fuzz.ratio(" ".join(window), joined) >= self.min_score):
                return i
        return None

    def type(self, heading_path: list[str] | str, title: str | None = None, kind: str = "text") -> str:
        """The section type of a chunk: ``faq`` for FAQ entries; ``overview`` under no heading or under a single
        heading like the document's title; else the types of the deepest heading below the document's own heading
        that names any (joined by ``+``); else ``other``."""
        if kind == "faq":
            return FAQ
        path = [h for h in (heading_path.split(" > ") if isinstance(heading_path, str) else heading_path) if h]
        if not path or (len(path) == 1 and title and self._like_title(path[0], title)):
            return OVERVIEW  # the text under the document's own heading ("Fee waivers at the counter" included)
        for heading in reversed(path[1:] if len(path) > 1 else path):
            types = self.heading_types(heading)
            if types:
                return SEPARATOR.join(types)
        return OTHER

    def _like_title(self, heading: str, title: str) -> bool:
        a, b = normalise_heading(heading), normalise_heading(title)
        return bool(a and b) and max(fuzz.token_set_ratio(a, b), fuzz.partial_ratio(a, b)) >= self.overview_title_score


def types_of(section_type: str | None) -> tuple[str, ...]:
    """The types a stored ``section_type`` names (``fees+duration`` → fees, duration)."""
    return tuple(t for t in (section_type or "").split(SEPARATOR) if t)


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


@lru_cache(maxsize=8)
def _load(path: str) -> SectionVocabulary:
    raw: dict[str, Any] = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    vocab = SectionVocabulary(raw.get("types") or {}, float(raw.get("min_score", 85)),
                              float(raw.get("overview_title_score", 60)))
    log.info("section vocabulary loaded path=%s phrases=%d", path, len(vocab.phrases))
    return vocab

"""Personal data in questions: find and replace with typed placeholders before anything is stored,
logged or sent to a model. Chinese and English forms."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum import luhn
from stdnum.cn import ric

# Order matters: longer / more specific patterns first.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("EMAIL", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")),
    ("CN_ID", re.compile(
        r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx]"
        r"(?![0-9A-Za-z])")),
    ("CN_ID", re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")),
    ("BANK_CARD", re.compile(r"(?<!\d)(?:\d[ -]?){15,18}\d(?!\d)")),
    ("CN_MOBILE", re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)")),
    ("CN_LANDLINE", re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)")),
    ("US_SSN", re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)")),
    ("UK_NINO", re.compile(r"\b[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b")),
    ("PHONE", re.compile(r"(?<![\d+])(?:\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?!\d)")),
    ("PASSPORT", re.compile(r"(?<![A-Za-z0-9])(?:[EGDSP][A-Z]?\d{7,8}|[A-Z]\d{8})(?![A-Za-z0-9])")),
]
_LABELLED_PASSPORT = re.compile(r"(?i)(?:passport|护照)(?:\s*(?:no\.?|number|号码?|#))?\s*[:：]?\s*([A-Z0-9]{6,9})")


@dataclass
class PiiMatch:
    kind: str
    start: int
    end: int
    valid_checksum: bool | None = None


def find(text: str) -> list[PiiMatch]:
    """All personal-data spans, non-overlapping, in text order."""
    found: list[PiiMatch] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    for m in _LABELLED_PASSPORT.finditer(text):
        if free(m.start(1), m.end(1)):
            found.append(PiiMatch("PASSPORT", m.start(1), m.end(1)))
            taken.append((m.start(1), m.end(1)))
    for kind, pat in _PATTERNS:
        for m in pat.finditer(text):
            a, b = m.start(), m.end()
            if not free(a, b):
                continue
            valid: bool | None = None
            value = re.sub(r"[ -]", "", m.group())
            if kind == "CN_ID":
                valid = ric.is_valid(value)
            elif kind == "BANK_CARD":
                if not (16 <= len(value) <= 19 and luhn.is_valid(value)):
                    continue
                valid = True
            found.append(PiiMatch(kind, a, b, valid))
            taken.append((a, b))
    return sorted(found, key=lambda p: p.start)


def redact(text: str) -> tuple[str, list[PiiMatch]]:
    """Replace each personal-data span with ``[KIND]``."""
    matches = find(text)
    out, last = [], 0
    for m in matches:
        out.append(text[last : m.start])
        out.append(f"[{m.kind}]")
        last = m.end
    out.append(text[last:])
    return "".join(out), matches

"""Repair letter-spaced PDF text such as ``T h e  D e p a r t m e n t  o f``.

Some PDFs place every glyph separately, so extraction yields single characters separated by
spaces, with words separated by two or more spaces (or not at all). A line is letter-spaced
when most of its tokens are single characters, at least three of them distinct letters (this
leaves rows of figures like ``0 0 0 0`` and tick marks like ``X X X`` alone).
"""

from __future__ import annotations

import re

_GAP = re.compile(r" {2,}|\t+")
_LOWER_UPPER = re.compile(r"(?<=[a-z])(?=[A-Z])")
_LETTER_DIGIT = re.compile(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def is_letter_spaced(line: str) -> bool:
    """True when most tokens of the line are single characters, several of them distinct letters."""
    tokens = line.split()
    if len(tokens) < 3:
        return False
    singles = [t for t in tokens if len(t) == 1]
    letters = {t for t in singles if t.isalpha()}
    return len(singles) * 2 > len(tokens) and len(letters) >= 3


def has_word_gaps(line: str) -> bool:
    """True when words are separated by runs of spaces (so they can be told apart)."""
    return bool(_GAP.search(line.strip()))


def _join_group(group: str, split_case: bool) -> str:
    tokens = group.split()
    if not tokens:
        return ""
    singles = sum(1 for t in tokens if len(t) <= 2)
    if singles * 2 <= len(tokens):
        return " ".join(tokens)
    if _CJK.search(group):
        return "".join(tokens)
    words: list[str] = []
    run: list[str] = []
    for tok in tokens:
        if len(tok) <= 2:
            run.append(tok)
            continue
        if run:
            words.append("".join(run))
            run = []
        words.append(tok)
    if run:
        words.append("".join(run))
    out = " ".join(words)
    out = _LETTER_DIGIT.sub(" ", out)
    if split_case:
        out = _LOWER_UPPER.sub(" ", out)
    return out


def repair_line(line: str) -> str:
    """Join the letters of a letter-spaced line into words.

    With word gaps (2+ spaces), every gap-separated group is one word. Without them, single
    characters are joined and words are split where case (``heDepartment``) or letter/digit
    changes; this cannot restore every space, but reads far better than the spaced form.
    """
    if not is_letter_spaced(line):
        return line
    stripped = line.strip()
    if has_word_gaps(stripped):
        groups = [_join_group(g, split_case=False) for g in _GAP.split(stripped)]
        return " ".join(g for g in groups if g)
    return _join_group(stripped, split_case=True)


def repair_text(text: str) -> tuple[str, int, int]:
    """Repair every letter-spaced line; return (text, lines repaired, lines without word gaps)."""
    out: list[str] = []
    repaired = 0
    gapless = 0
    for line in text.split("\n"):
        if is_letter_spaced(line):
            repaired += 1
            if not has_word_gaps(line):
                gapless += 1
            out.append(repair_line(line))
        else:
            out.append(line)
    return "\n".join(out), repaired, gapless

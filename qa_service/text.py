"""The one sentence splitter and the one language check of the package (zh / en).

Every part that cuts text into sentences (the chunker, the cutting of injected sentences at ingestion, the
extractive generator, the LLM answer parser, the similarity guard) uses :class:`Splitter`; the parts differ
only in the options they declare, never in the rules:

* a line break always ends a sentence;
* ``。！？；`` always end one; ASCII ``!?;`` end one next to a Han character (NFKC turns ``？`` into ``?``);
* ASCII ``.!?`` (and ``;`` with ``semicolon``) end one before white space, the end of the text or closing
  quotes and brackets; a period after an abbreviation ("No.", "U.S.", "e.g.") does not;
* options: ``colon`` (``:`` / ``：`` end sentences too), ``glued`` (``.!?;`` end one even without a space
  after: "account.If"), ``trailing`` (a pattern, e.g. citation markers ``[1]``, that belongs to the
  sentence it follows).

The language check :func:`is_chinese` / :func:`language`: Han characters make up at least 20% of the letters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

#: Han characters: CJK unified ideographs, extension A, compatibility ideographs, extensions B and beyond.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
HAN_RE = re.compile(f"[{HAN}]")
ZH_SHARE = 0.2
_CLOSE = "\"'”’」』）)\\]"
_ABBREV = frozenset({"mr", "mrs", "ms", "dr", "no", "nos", "e.g", "i.e", "etc", "vs", "st", "art", "sec", "para",
                     "fig", "p", "pp", "cf", "approx", "dept", "gov", "inc", "ltd", "co", "jan", "feb", "mar",
                     "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"})
_INITIALISM = re.compile(r"(?:\b[A-Za-z]\.)+$")


def is_chinese(text: str) -> bool:
    """True when Han characters make up at least 20% of the letters (of the first 20,000 characters)."""
    sample = text[:20000]
    han = len(HAN_RE.findall(sample))
    if not han:
        return False
    letters = sum(1 for ch in sample if ch.isalpha())
    return han / max(letters, han) >= ZH_SHARE


def language(text: str) -> str:
    """``zh`` or ``en`` (the default, also for a text without letters)."""
    return "zh" if is_chinese(text) else "en"


#: the number of a list item at the start of a line ("1.", "12)", "a."): not a sentence end
_ENUMERATOR = re.compile(r"^\s*(?:\d{1,3}|[a-zA-Z])[.)]\s*$")


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the period at ``dot`` ends an abbreviation such as 'No.' or 'U.S.'."""
    if text[dot] != ".":
        return False
    words = text[: dot + 1].split()
    word = words[-1] if words else ""
    if _INITIALISM.search(word) and len(word) <= 6:
        return True
    return word[:-1].lower().lstrip("([\"'") in _ABBREV


@dataclass(frozen=True)
class Splitter:
    """Sentence boundaries by the module's rules; see the module docstring for the options."""

    semicolon: bool = True
    colon: bool = False
    glued: bool = False
    trailing: str | None = None

    @cached_property
    def _end(self) -> re.Pattern[str]:
        ascii_ends = ".!?" + (";" if self.semicolon else "")
        zh_ends = "。！？；" + ("：" if self.colon else "")
        if self.colon:
            ascii_ends += ":"
        tail = f"(?:[ \\t]*(?:{self.trailing}))*" if self.trailing else ""
        after = "" if self.glued else f"(?=[{_CLOSE}]*{tail}(?:\\s|$))"
        return re.compile(
            f"(?:[{zh_ends}]+|(?<=[{HAN}])[!?;]+|[!?;]+(?=[{HAN}])|[{re.escape(ascii_ends)}]+{after})"
            f"[{_CLOSE}]*{tail}", re.IGNORECASE if self.trailing else 0)

    def line_spans(self, line: str) -> list[tuple[int, int]]:
        """(start, end) of each sentence of one line, stripped of surrounding white space."""
        out: list[tuple[int, int]] = []
        start = 0
        for m in self._end.finditer(line):
            if _is_abbreviation(line, m.start()) or _ENUMERATOR.match(line[start:m.end()]):
                continue  # "No." / "U.S."; "1." / "2)" numbering a list item is not a sentence of its own
            out.append((start, m.end()))
            start = m.end()
        out.append((start, len(line)))
        stripped: list[tuple[int, int]] = []
        for a, b in out:
            piece = line[a:b]
            lead = len(piece) - len(piece.lstrip())
            if piece.strip():
                stripped.append((a + lead, a + lead + len(piece.strip())))
        return stripped

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each sentence of ``text`` (offsets into ``text``), in order; lines always end one."""
        out: list[tuple[int, int]] = []
        pos = 0
        for line in text.split("\n"):
            out.extend((pos + a, pos + b) for a, b in self.line_spans(line))
            pos += len(line) + 1
        return out

    def split(self, text: str) -> list[str]:
        """The sentences of ``text``, stripped, in order."""
        return [text[a:b] for a, b in self.spans(text)]


SENTENCES = Splitter()


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` with the default options (what the chunker and the extractive generator use)."""
    return SENTENCES.split(text)

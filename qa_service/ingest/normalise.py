"""Unicode clean-up applied to every document and question.

NFKC; zero-width, bidi-control, Unicode tag and other control characters removed (they can hide
text from a reader while a model still sees it); newlines normalised; runs of spaces collapsed.
Notes record what was removed, e.g. ``["zero_width:3", "tag_chars:5"]``.

Chinese full-width punctuation (，：；！？（）) is kept as written: NFKC would turn it into ASCII and every
answer quoting the text would show "居住证明:登记备案的租赁合同," instead of "居住证明：登记备案的租赁合同，".
Everything that matches text (sentence splitting, term overlap, BM25, the scans) reads either form; full-width
letters, digits and spaces still become ASCII. Questions keep the full NFKC (the input guard).
"""

from __future__ import annotations

import logging
import re
import unicodedata

log = logging.getLogger(__name__)

_CLASSES: tuple[tuple[str, str], ...] = (
    ("zero_width", "[\u200b-\u200f\u2060-\u2064\ufeff]"),
    ("bidi", "[\u202a-\u202e\u2066-\u2069]"),
    ("tag_chars", "[\U000e0000-\U000e007f]"),
    ("control", "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"),
)
#: full-width punctuation NFKC would make ASCII; kept (Chinese text is written with it)
KEEP_FULLWIDTH = "，：；！？（）"
_KEEP = re.compile(f"([{KEEP_FULLWIDTH}])")
_ANY_SUSPECT = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _CLASSES))
_SPACES = re.compile(r" {2,}")
_TRAILING = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalise(text: str) -> tuple[str, list[str]]:
    """Return (clean text, notes of what was removed)."""
    if not text:
        return "", []
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    counts: dict[str, int] = {}
    if _ANY_SUSPECT.search(text):
        def drop(m: re.Match[str]) -> str:
            kind = m.lastgroup or "control"
            counts[kind] = counts.get(kind, 0) + 1
            return ""

        text = _ANY_SUSPECT.sub(drop, text)
    if not text.isascii():
        text = "".join(part if i % 2 else unicodedata.normalize("NFKC", part)
                       for i, part in enumerate(_KEEP.split(text)))
    text = _SPACES.sub(" ", text)
    text = _TRAILING.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text).strip()
    notes = [f"{kind}:{counts[kind]}" for kind, _ in _CLASSES if counts.get(kind)]
    if notes:
        log.info("normalise removed notes=%s", ",".join(notes))
    return text, notes

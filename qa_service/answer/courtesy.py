"""Greetings and thanks around a question, taken off the text the answer path searches and judges with.

The vocabulary is data (``courtesy.yaml``, zh and en). ``core("请问居住证怎么办理？谢谢。")`` is
``"居住证怎么办理？"``; a question that is nothing but courtesy is returned unchanged.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

VOCABULARY = Path(__file__).with_name("courtesy.yaml")
_PUNCT = r"[\s,，、.。!！~～:：;；]*"


@lru_cache(maxsize=4)
def _patterns(path: Path = VOCABULARY) -> tuple[re.Pattern[str], re.Pattern[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}

    def alternation(kind: str) -> str:
        phrases = [str(p) for lang in ("zh", "en") for p in (data.get(kind) or {}).get(lang) or []]
        phrases.sort(key=len, reverse=True)  # the longest first: "thank you very much" before "thank you"
        # a Latin phrase must end at a word boundary ("hi" is not the start of "highway")
        return "|".join(re.escape(p) + (r"\b" if p[-1:].isascii() and p[-1:].isalnum() else "") for p in phrases)

    opener = re.compile(rf"^(?:(?:{alternation('openers')}){_PUNCT})+", re.IGNORECASE)
    closer = re.compile(rf"(?:{_PUNCT}(?:{alternation('closers')}){_PUNCT})+$", re.IGNORECASE)
    return opener, closer


def core(question: str, path: Path = VOCABULARY) -> str:
    """``question`` without the courtesy phrases at its start and end (see the module docstring)."""
    opener, closer = _patterns(path)
    text = question.strip()
    start = opener.match(text)
    body = text[start.end():] if start else text
    end = closer.search(body)
    if end:
        body = body[:end.start()]  # "…怎么办理？谢谢。": the question mark is not courtesy punctuation, so it stays
    body = body.strip(" ,，、")
    return body if any(ch.isalnum() for ch in body) and body != text else text

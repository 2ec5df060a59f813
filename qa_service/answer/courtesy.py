"""Greetings and thanks around a question, and the asker's own contact details, taken off the text the answer
path searches and judges with.

The vocabulary is data (``courtesy.yaml``, zh and en). ``core("请问居住证怎么办理？谢谢。")`` is
``"居住证怎么办理？"``; ``core("我的电话是[CN_MOBILE]，身份证丢了怎么补办？")`` is ``"身份证丢了怎么补办？"`` (a clause
whose only personal datum is the asker's name, phone, e-mail or address, as guard/pii.py redacts them, says who
is asking, not what: its words — 电话, email — would search for contact lines). A clause naming an identity
document's number stays (``"我的身份证[CN_ID]丢了"`` is the question). A question that is nothing but these is
returned unchanged.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

VOCABULARY = Path(__file__).with_name("courtesy.yaml")
_PUNCT = r"[\s,，、.。!！~～:：;；]*"
#: a clause (up to its punctuation) holding one of the asker's own contact details, redacted
_CONTACT_KINDS = "NAME|PHONE|CN_MOBILE|EMAIL|ADDRESS"
_OWN_CONTACT = re.compile(
    rf"[^,，.。;；!！?？\n]*\[(?:{_CONTACT_KINDS})\][^,，.。;；!！?？\n]*[,，.。;；!！]?\s*")
_OTHER_DATUM = re.compile(rf"\[(?!(?:{_CONTACT_KINDS})\])[A-Z][A-Z_]+\]")


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
    rest = _OWN_CONTACT.sub(lambda m: m.group(0) if _OTHER_DATUM.search(m.group(0)) else "", body).strip(" ,，、")
    if any(ch.isalnum() for ch in rest):
        body = rest
    return body if any(ch.isalnum() for ch in body) and body != text else text

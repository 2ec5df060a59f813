"""Output guard: what may leave the service in an answer.

- Passages carrying instructions aimed at the model are dropped before generation (and noted).
- Personal data in an answer sentence that none of its cited passages contains is redacted.
- Markup is made inert: HTML tags removed; markdown images dropped; markdown links kept only when they
  point at the cited sources' own hosts.
- Internal-only passages may never be cited on the citizen channel (the retrieval filter makes that
  impossible; this asserts it).
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from qa_service.answer.context import Passage, Sentence
from qa_service.guard.checks import PASSAGE_RULES, rule_reasons
from qa_service.guard.pii import find

_TAG = re.compile(r"</?[A-Za-z][^>]{0,400}>")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)[^)]*\)")
_BARE_URL = re.compile(r"https?://[^\s)\]>\"']+")
# Said to a model, not to a reader: only looked for in retrieved passages (citizens may write such things).
_TO_MODEL = re.compile(r"(?i)\b(?:in|to)\s+your\s+(?:answer|response|reply|output)\b|\byour\s+(?:answer|response)\s+"
                       r"(?:must|should)\b|(?:在|到)?你的(?:回答|回复|答复)(?:中|里)")


def instructs_model(text: str) -> list[str]:
    """Reason codes when a passage tells the model what to do."""
    reasons = rule_reasons(text, PASSAGE_RULES)
    if _TO_MODEL.search(text):
        reasons.append("injection:addresses_model")
    return reasons


def allowed_hosts(passages: list[Passage]) -> set[str]:
    return {urlparse(p.url).netloc.lower() for p in passages if p.url}


def make_inert(text: str, hosts: set[str]) -> tuple[str, list[str]]:
    """Strip tags and images; drop links and bare URLs outside ``hosts``."""
    notes: list[str] = []
    out = _TAG.sub("", text)
    if out != text:
        notes.append("html_removed")
    new = _MD_IMAGE.sub("", out)
    if new != out:
        notes.append("image_removed")
    out = new

    def link(m: re.Match[str]) -> str:
        if urlparse(m.group(2)).netloc.lower() in hosts:
            return m.group(0)
        notes.append("link_removed")
        return m.group(1)

    out = _MD_LINK.sub(link, out)

    def bare(m: re.Match[str]) -> str:
        if urlparse(m.group(0)).netloc.lower() in hosts:
            return m.group(0)
        notes.append("link_removed")
        return ""

    out = _BARE_URL.sub(bare, out)
    return " ".join(out.split()) if notes else out, notes


def guard_sentence(s: Sentence, cited: list[Passage], hosts: set[str]) -> tuple[Sentence, list[str]]:
    """The sentence as it may be shown, with the reasons for any change."""
    text, notes = make_inert(s.text, hosts)
    sources = " ".join(p.text for p in cited)
    for m in sorted(find(text), key=lambda m: -m.start):
        if text[m.start:m.end] not in sources:
            text = text[:m.start] + f"[{m.kind}]" + text[m.end:]
            notes.append("pii_not_in_source_redacted")
    return Sentence(text, s.cites, s.support), notes

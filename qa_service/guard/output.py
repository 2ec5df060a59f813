"""Output guard: what may leave the service in an answer.

- Sentences of a retrieved passage that carry instructions aimed at the model are cut out before generation,
  the rest of the passage kept (so a genuine fact beside an injected note stays answerable); a passage is
  dropped whole only when the instruction cannot be pinned to sentences or nothing else is left. Both noted.
  The passage keeps its chunk digest (its identity); its text is what the generator was shown.
- Personal data in an answer sentence that none of its cited passages contains is redacted.
- Markup is made inert: HTML tags removed; markdown images dropped; markdown links kept only when they
  point at the cited sources' own hosts.
- Internal-only passages may never be cited on the citizen channel (the retrieval filter makes that
  impossible; this asserts it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from urllib.parse import urlparse

from qa_service.answer.context import Passage, Sentence
from qa_service.guard.checks import PASSAGE_RULES, rule_reasons
from qa_service.guard.pii import find
from qa_service.ingest.scan import injection_spans

_TAG = re.compile(r"</?[A-Za-z][^>]{0,400}>")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)[^)]*\)")
_BARE_URL = re.compile(r"https?://[^\s)\]>\"']+")
# Said to a model, not to a reader: only looked for in retrieved passages (citizens may write such things).
_TO_MODEL = re.compile(r"(?i)\b(?:in|to)\s+your\s+(?:answer|response|reply|output)\b|\byour\s+(?:answer|response)\s+"
                       r"(?:must|should)\b|(?:在|到)?你的(?:回答|回复|答复)(?:中|里)")


def instructs_model(text: str) -> list[str]:
    """Reason codes when a passage tells the model what to do."""
    return list(_instructs_model(text))


@lru_cache(maxsize=8192)
def _instructs_model(text: str) -> tuple[str, ...]:
    """A pure function of the text and the fixed rules, so kept per text: popular passages are screened once per
    process, not once per question (~1 ms a passage)."""
    reasons = rule_reasons(text, PASSAGE_RULES)
    if _TO_MODEL.search(text):
        reasons.append("injection:addresses_model")
    return tuple(reasons)


def instruction_spans(text: str) -> list[tuple[int, int, str]]:
    """Where the rules of :func:`instructs_model` match: (start, end, reason code), in order of start."""
    spans = injection_spans(text)
    for code, pattern in PASSAGE_RULES:
        spans += [(m.start(), max(m.end(), m.start() + 1), code) for m in pattern.finditer(text)]
    spans += [(m.start(), max(m.end(), m.start() + 1), "injection:addresses_model") for m in _TO_MODEL.finditer(text)]
    return sorted(spans)


@dataclass
class Screened:
    """Retrieved passages after the instruction screen: what the generator may see, and what was taken out."""

    passages: list[Passage]
    dropped: list[dict[str, object]] = field(default_factory=list)  # whole passages: chunk_id, reasons
    cut: list[dict[str, object]] = field(default_factory=list)  # sentences: chunk_id, text, reasons


def screen_passages(passages: list[Passage]) -> Screened:
    """Cut the sentences that talk to the model out of each passage (the ingestion cut, with the guard's rules)."""
    from qa_service.ingest.prepare import strip_injections  # the ingestion package imports the guard's modules

    out = Screened(passages=[])
    for p in passages:
        reasons = instructs_model(p.text)
        if not reasons:
            out.passages.append(p)
            continue
        result = strip_injections(p.text, spans=instruction_spans)
        if result is None or not result[1] or not any(ch.isalnum() for ch in result[0]):
            out.dropped.append({"chunk_id": p.chunk_id, "reasons": reasons})
            continue
        rest, held = result
        out.cut += [{"chunk_id": p.chunk_id, "text": text, "reasons": why} for text, why in held]
        out.passages.append(replace(p, text=rest))
    return out


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
    return replace(s, text=text), notes

"""Chunking by structure: sections first, then sentences packed to a token budget with overlap.

Tokens: every CJK character counts 1; other text counts whitespace-separated words. FAQ entries
are one chunk each. The output depends only on the input, so ids and digests are stable.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

from qa_service.ingest.types import Chunk, LoadedDocument, Section
from qa_service.text import HAN, HAN_RE, SENTENCES

log = logging.getLogger(__name__)

_CJK = HAN
_CJK_RE = HAN_RE
_UNIT_RE = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")


def count_tokens(text: str) -> int:
    """CJK characters count 1 each; other text counts words (whitespace-separated, with a letter or digit)."""
    cjk = len(_CJK_RE.findall(text))
    rest = _CJK_RE.sub(" ", text) if cjk else text
    return cjk + sum(1 for word in rest.split() if any(c.isalnum() for c in word))


@dataclass
class _Sentence:
    text: str
    tokens: int
    line_end: bool  # the sentence ends its line (rejoin with a newline)


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` (lines are always boundaries): qa_service/text.py's splitter."""
    return SENTENCES.split(text)


def _sentences(text: str) -> list[_Sentence]:
    out: list[_Sentence] = []
    for line in text.split("\n"):
        pieces = [line[a:b] for a, b in SENTENCES.line_spans(line)]
        for i, piece in enumerate(pieces):
            out.append(_Sentence(piece, count_tokens(piece), i == len(pieces) - 1))
    return out


def _join(parts: list[_Sentence]) -> str:
    buf: list[str] = []
    for i, s in enumerate(parts):
        if i:
            prev = parts[i - 1]
            if prev.line_end:
                buf.append("\n")
            elif not (_CJK_RE.match(s.text[0]) or _CJK_RE.search(prev.text[-2:])):
                buf.append(" ")
        buf.append(s.text)
    return "".join(buf)


def _hard_split(sentence: _Sentence, max_tokens: int) -> list[_Sentence]:
    """Cut a sentence longer than the budget into pieces of at most ``max_tokens``."""
    pieces: list[_Sentence] = []
    units = _UNIT_RE.findall(sentence.text)
    buf: list[str] = []
    used = 0

    def emit(line_end: bool) -> None:
        text = "".join(u if not buf_i or _CJK_RE.match(u) or _CJK_RE.match(buf[buf_i - 1]) else " " + u
                       for buf_i, u in enumerate(buf))
        pieces.append(_Sentence(text, count_tokens(text), line_end))

    for unit in units:
        t = count_tokens(unit)
        if used + t > max_tokens and buf:
            emit(False)
            buf, used = [], 0
        buf.append(unit)
        used += t
    if buf:
        emit(sentence.line_end)
    return pieces


def _pack(sentences: list[_Sentence], max_tokens: int, overlap_tokens: int) -> list[tuple[int, int]]:
    """Greedy packing into index ranges [start, end) with whole-sentence overlap."""
    ranges: list[tuple[int, int]] = []
    start = 0
    used = 0
    for i, s in enumerate(sentences):
        if i > start and used + s.tokens > max_tokens:
            ranges.append((start, i))
            # overlap: whole trailing sentences of the emitted chunk, within the overlap budget
            new_start, kept = i, 0
            while new_start - 1 > start and kept + sentences[new_start - 1].tokens <= overlap_tokens:
                new_start -= 1
                kept += sentences[new_start].tokens
            while new_start < i and kept + s.tokens > max_tokens:
                kept -= sentences[new_start].tokens
                new_start += 1
            start, used = new_start, kept
        used += s.tokens
    if start < len(sentences):
        ranges.append((start, len(sentences)))
    return ranges


def _merge_tiny(ranges: list[tuple[int, int]], sentences: list[_Sentence], min_tokens: int) -> list[tuple[int, int]]:
    """A chunk under ``min_tokens`` merges with the next chunk of the section (the last with the previous)."""

    def size(r: tuple[int, int]) -> int:
        return sum(s.tokens for s in sentences[r[0] : r[1]])

    out: list[tuple[int, int]] = []
    pending: tuple[int, int] | None = None
    for r in ranges:
        if pending is not None:
            r = (pending[0], r[1])
            pending = None
        if size(r) < min_tokens:
            pending = r
            continue
        out.append(r)
    if pending is not None:
        if out:
            out[-1] = (out[-1][0], pending[1])
        else:
            out.append(pending)
    return out


def _section_texts(section: Section, max_tokens: int, overlap_tokens: int, min_tokens: int) -> list[str]:
    if section.kind == "faq":
        text = section.text.strip()
        return [text] if text else []
    sentences: list[_Sentence] = []
    for s in _sentences(section.text):
        sentences.extend(_hard_split(s, max_tokens) if s.tokens > max_tokens else [s])
    if not sentences:
        return []
    ranges = _merge_tiny(_pack(sentences, max_tokens, overlap_tokens), sentences, min_tokens)
    return [_join(sentences[a:b]) for a, b in ranges]


def chunk_document(doc: LoadedDocument, source_id: str, max_tokens: int = 220, overlap_tokens: int = 40,
                   min_tokens: int = 20) -> list[Chunk]:
    """Chunks of ``doc`` in document order, ids ``{source_id}:{n}``, digest = sha256 of the text."""
    if max_tokens < 1 or overlap_tokens < 0 or overlap_tokens >= max_tokens:
        raise ValueError(f"bad chunk budget max_tokens={max_tokens} overlap_tokens={overlap_tokens}")
    chunks: list[Chunk] = []
    for section in doc.sections:
        heading = " > ".join(h for h in section.heading_path if h)
        for text in _section_texts(section, max_tokens, overlap_tokens, min_tokens):
            n = len(chunks)
            chunks.append(Chunk(
                chunk_id=f"{source_id}:{n}", source_id=source_id, n=n, text=text,
                digest=hashlib.sha256(text.encode("utf-8")).hexdigest(), heading=heading,
                page=section.page, kind=section.kind,
            ))
    log.debug("chunked source=%s sections=%d chunks=%d", source_id, len(doc.sections), len(chunks))
    return chunks

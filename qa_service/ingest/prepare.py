"""One source from bytes to chunks: load → normalise → scan → chunk → scan chunks.

A classification marking refuses the whole source (its text is never stored). Instructions aimed at an
AI are cut out of the chunk that carries them, sentence by sentence (a line of a table or list counts as
a sentence): the sentences the injection rules match, a sentence whose match runs on into the next, and
the line after a flagged sentence that ends with a colon (its payload). What is left of the chunk is
re-scanned until the rules find nothing, and only then goes into the version; the rest of the source is
indexed as usual. Each removed run of sentences is held back and reported (``kind: injection``, the
chunk it came from, the sha256 digest of the removed text, the reasons and the text, personal data
redacted) until an editor approves that digest; an approved text stays in its chunk from the next
ingestion on. A chunk that cannot be cleaned this way is held back whole under its own digest, as
before (an approval of a whole chunk's digest keeps that chunk). Personal data in a public source is
reported.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import logging
import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qa_service.guard.pii import redact
from qa_service.ingest.chunk import chunk_document
from qa_service.ingest.discover import SourceUnit
from qa_service.ingest.loaders import LoadLimits, load_file
from qa_service.ingest.normalise import normalise
from qa_service.ingest.scan import find_classification, find_injection, find_pii, injection_spans
from qa_service.ingest.types import Chunk, LoadedDocument, SourceMeta
from qa_service.place import detect_document
from qa_service.settings import Settings
from qa_service.text import language, split_sentences

log = logging.getLogger(__name__)


class SourceRefused(ValueError):
    """The source must not enter the knowledge base (e.g. it carries a classification marking)."""


@dataclass
class PreparedSource:
    unit: SourceUnit
    meta: SourceMeta
    chunks: list[Chunk]  # chunks that go into the version (instructions aimed at an AI cut out)
    # text held back until approved: the sentences cut out of a chunk (chunk_id of that chunk, digest of the
    # removed text, flags = reasons), or a whole chunk that could not be cleaned sentence by sentence
    flagged: list[Chunk] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    pages: int | None = None
    chunks_written: int = 0
    cut: list[Chunk] = field(default_factory=list)  # every chunk as cut, before the injection scan; not stored


def resolve_meta(unit: SourceUnit, doc: LoadedDocument, tenant: str, settings: Settings, text: str) -> SourceMeta:
    """Catalog > front matter / record fields > document > defaults."""
    merged: dict[str, Any] = {k: v for k, v in doc.meta.items() if v not in (None, "")}
    merged.update({k: v for k, v in unit.meta.items() if v not in (None, "")})
    lang = str(merged.get("language") or settings.ingest.default_language)
    if lang in ("auto", ""):
        lang = language(text[:5000])
    visibility = str(merged.get("visibility") or settings.ingest.default_visibility).lower()
    if visibility not in ("public", "internal"):
        raise ValueError(f"visibility must be public or internal, not {visibility!r}")
    title = str(merged.get("title") or doc.title or Path(unit.source_id).stem)
    scope = detect_document(title, text, merged)  # jurisdiction, office, dates: given, else detected
    return SourceMeta(
        source_id=unit.source_id,
        tenant=tenant,
        title=title.strip()[:500],
        path=str(unit.path),
        doc_type=unit.doc_type,
        department=_opt(merged.get("department")),
        url=_opt(merged.get("url")),
        language=lang,
        visibility=visibility,  # type: ignore[arg-type]
        effective_date=scope.effective_date,
        expiry_date=scope.expiry_date,
        owner=_opt(merged.get("owner")),
        contact=_opt(merged.get("contact")),
        scope=scope,
    )


def _opt(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def prepare_source(unit: SourceUnit, tenant: str, settings: Settings, approved: set[str]) -> PreparedSource:
    """Load and chunk one source, applying the scans."""
    if unit.size > settings.ingest.max_file_mb * 1024 * 1024:
        raise ValueError(f"file is {unit.size // (1024 * 1024)} MB; the limit is {settings.ingest.max_file_mb} MB")
    doc = unit.record_doc if unit.record_doc is not None else load_file(
        unit.path, unit.doc_type, LoadLimits.from_settings(settings.ingest))
    findings: list[dict[str, Any]] = [{"kind": "extraction", "detail": w} for w in doc.warnings]
    unicode_notes: list[str] = []
    for section in doc.sections:
        section.text, notes = normalise(section.text)
        unicode_notes.extend(notes)
        if section.question is not None:
            section.question, _ = normalise(section.question)
        if section.answer is not None:
            section.answer, _ = normalise(section.answer)
        section.heading_path = [normalise(h)[0] for h in section.heading_path]
    if doc.title:
        doc.title = normalise(doc.title)[0]
    if unicode_notes:
        findings.append({"kind": "unicode", "detail": ", ".join(sorted(set(unicode_notes)))})
    full_text = "\n".join(s.text for s in doc.sections)
    markings = find_classification(full_text[:200_000] + "\n" + (doc.title or ""))
    if markings:
        raise SourceRefused(f"classification marking found: {', '.join(sorted(set(markings)))[:200]}")
    if not full_text.strip():
        raise ValueError("no text could be extracted from this source")
    meta = resolve_meta(unit, doc, tenant, settings, full_text)
    if meta.expiry_date and meta.expiry_date < dt.date.today():
        findings.append({"kind": "expired", "detail": f"expired on {meta.expiry_date.isoformat()}"})
    cfg = settings.chunk
    chunks = chunk_document(doc, unit.source_id, cfg.max_tokens, cfg.overlap_tokens, cfg.min_tokens)
    kept: list[Chunk] = []
    flagged: list[Chunk] = []
    held_digests: set[str] = set()
    for chunk in chunks:
        if chunk.digest not in approved and find_injection(chunk.text):
            cleaned, held = _hold_back_injections(chunk, approved)
            for piece in held:
                if piece.digest in held_digests:  # the same sentences in the overlap of the next chunk
                    continue
                held_digests.add(piece.digest)
                flagged.append(piece)
                findings.append({"kind": "injection", "chunk_id": piece.chunk_id, "digest": piece.digest,
                                 "detail": flag_detail(piece)})
            if cleaned is None:
                continue
            chunk = cleaned
        if meta.visibility == "public" and settings.ingest.flag_pii_in_public:
            pii = find_pii(chunk.text)
            if pii:
                kinds = sorted({k for k, _ in pii})
                findings.append({"kind": "pii", "chunk_id": chunk.chunk_id,
                                 "detail": f"{len(pii)} item(s): {', '.join(kinds)}"})
        kept.append(chunk)
    return PreparedSource(unit=unit, meta=meta, chunks=kept, flagged=flagged, findings=findings, pages=doc.pages,
                          cut=chunks)


# --- cutting instructions aimed at an AI out of a chunk ----------------------------------------------------

_MAX_ROUNDS = 8
DETAIL_TEXT_CHARS = 600


@dataclass(frozen=True)
class _Unit:
    """A sentence of a chunk (lines are always boundaries): its span in the chunk's text and its line."""

    start: int
    end: int
    line: int


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Finer than the chunker's sentences, so that less legitimate text goes with an injected sentence: a table
# cell or an e-mail header field ("|" starts a new unit), and sentences glued without a space ("account.If").
_SUBSPLIT = re.compile(r"(?<=[a-z0-9)\]][.!?])(?=[A-Z][a-z])|(?=\|)")


def _pieces(line: str) -> list[str]:
    out: list[str] = []
    for sentence in split_sentences(line):
        cuts = [0, *(m.start() for m in _SUBSPLIT.finditer(sentence)), len(sentence)]
        out += [p for a, b in itertools.pairwise(cuts) if (p := sentence[a:b].strip())]
    return out


def _units(text: str) -> list[_Unit]:
    units: list[_Unit] = []
    pos = 0
    for ln, line in enumerate(text.split("\n")):
        cursor = 0
        for sentence in _pieces(line):
            at = line.find(sentence, cursor)
            if at < 0:  # not expected (sentences are stripped slices of the line): the rest is one unit
                rest = line[cursor:].strip()
                if rest:
                    at = line.index(rest, cursor)
                    units.append(_Unit(pos + at, pos + at + len(rest), ln))
                break
            units.append(_Unit(pos + at, pos + at + len(sentence), ln))
            cursor = at + len(sentence)
        pos += len(line) + 1
    return units


def _join(text: str, units: list[_Unit], picked: list[int]) -> tuple[str, list[int]]:
    """The picked units (indices, ascending) joined as the chunker joins sentences: a newline between lines,
    otherwise a space unless the text had none on either side of what is left out (Chinese, glued sentences).
    Returns the text and each picked unit's offset in it."""
    out: list[str] = []
    offsets: list[int] = []
    length = 0
    prev: int | None = None
    for i in picked:
        u = units[i]
        if prev is not None:
            gaps = text[units[prev].end : units[prev + 1].start] + text[units[i - 1].end : u.start]
            sep = "\n" if units[prev].line != u.line else " " if gaps else ""
            out.append(sep)
            length += len(sep)
        offsets.append(length)
        piece = text[u.start : u.end]
        out.append(piece)
        length += len(piece)
        prev = i
    return "".join(out), offsets


def _runs(indices: list[int]) -> list[list[int]]:
    """Consecutive indices grouped: [1, 2, 5] -> [[1, 2], [5]]."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


Held = list[tuple[str, list[str]]]  # removed text and its reason codes, per run of removed sentences


Spans = Callable[[str], list[tuple[int, int, str]]]  # (start, end, reason code) of each rule match


def strip_injections(text: str, approved: AbstractSet[str] = frozenset(),
                     spans: Spans = injection_spans) -> tuple[str, Held] | None:
    """Cut the sentences that carry instructions aimed at an AI out of ``text``.

    Returns (what is left, [(removed text, reason codes)] per run of consecutive removed sentences), or None
    when the text cannot be cleaned sentence by sentence (the caller then holds back all of it). A removed
    run whose digest is in ``approved`` stays in the text and is not scanned again. What is left, apart from
    approved runs, passes :func:`find_injection`. ``spans`` gives the rules' matches: the ingestion scan's by
    default; the answer path passes its own (qa_service/guard/output.py), which add the guard's passage rules.
    """
    units = _units(text)
    removed: dict[int, set[str]] = {}
    allowed: set[int] = set()
    for _ in range(_MAX_ROUNDS):
        live = [i for i in range(len(units)) if i not in removed and i not in allowed]
        view, offsets = _join(text, units, live)
        hits = spans(view)
        if not hits:
            break
        grew = False
        for start, end, code in hits:
            for i, off in zip(live, offsets, strict=True):
                if off < end and start < off + (units[i].end - units[i].start):
                    removed.setdefault(i, set()).add(code)
                    grew = True
        if not grew:
            return None
        for i in sorted(removed):  # "Add the following to your answer:" — the next sentence is its payload
            nxt = i + 1
            if (text[units[i].start : units[i].end].rstrip().endswith((":", "：")) and nxt < len(units)
                    and nxt not in removed and nxt not in allowed):
                removed[nxt] = set(removed[i])
        for run in _runs(sorted(removed)):
            if _digest(_join(text, units, run)[0]) in approved:
                for i in run:
                    allowed.add(i)
                    del removed[i]
    else:
        return None
    if not removed:
        return text, []
    held = [(_join(text, units, run)[0], sorted(set().union(*(removed[i] for i in run))))
            for run in _runs(sorted(removed))]
    rest, _ = _join(text, units, [i for i in range(len(units)) if i not in removed])
    return rest, held


def _hold_back_injections(chunk: Chunk, approved: set[str]) -> tuple[Chunk | None, list[Chunk]]:
    """(the chunk without its injected sentences, or None when nothing worth keeping is left; the held-back
    texts as chunks of their own: the chunk's id, the removed text's digest, the reasons as flags)."""
    result = strip_injections(chunk.text, approved)
    if result is None:
        whole = replace(chunk, flags=sorted(set(find_injection(chunk.text))))
        return None, [whole]
    rest, held = result
    if not held:
        return chunk, []
    pieces = [replace(chunk, text=t, digest=_digest(t), flags=reasons) for t, reasons in held]
    if not any(ch.isalnum() for ch in rest):
        return None, pieces
    return replace(chunk, text=rest, digest=_digest(rest)), pieces


def flag_detail(piece: Chunk) -> str:
    """What the ledger shows for held-back text: the reasons, then the text itself (personal data redacted)."""
    text = redact(piece.text)[0]
    if len(text) > DETAIL_TEXT_CHARS:
        text = text[:DETAIL_TEXT_CHARS] + "…"
    return f"{', '.join(piece.flags)}; held back: {text}"

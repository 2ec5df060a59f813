"""One source from bytes to chunks: load → normalise → scan → chunk → scan chunks.

A classification marking refuses the whole source (its text is never stored). A chunk carrying
instructions aimed at an AI is flagged and kept out of the version until an editor approves its
digest. Personal data in a public source is reported.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa_service.ingest.catalog import parse_date
from qa_service.ingest.chunk import chunk_document
from qa_service.ingest.discover import SourceUnit
from qa_service.ingest.language import detect_language
from qa_service.ingest.loaders import load_file
from qa_service.ingest.normalise import normalise
from qa_service.ingest.scan import find_classification, find_injection, find_pii
from qa_service.ingest.types import Chunk, LoadedDocument, SourceMeta
from qa_service.settings import Settings

log = logging.getLogger(__name__)


class SourceRefused(ValueError):
    """The source must not enter the knowledge base (e.g. it carries a classification marking)."""


@dataclass
class PreparedSource:
    unit: SourceUnit
    meta: SourceMeta
    chunks: list[Chunk]  # chunks that go into the version
    flagged: list[Chunk] = field(default_factory=list)  # kept out until approved
    findings: list[dict[str, Any]] = field(default_factory=list)
    pages: int | None = None
    chunks_written: int = 0


def resolve_meta(unit: SourceUnit, doc: LoadedDocument, tenant: str, settings: Settings, text: str) -> SourceMeta:
    """Catalog > front matter / record fields > document > defaults."""
    merged: dict[str, Any] = {k: v for k, v in doc.meta.items() if v not in (None, "")}
    merged.update({k: v for k, v in unit.meta.items() if v not in (None, "")})
    lang = str(merged.get("language") or settings.ingest.default_language)
    if lang in ("auto", ""):
        lang = detect_language(text[:5000])
    visibility = str(merged.get("visibility") or settings.ingest.default_visibility).lower()
    if visibility not in ("public", "internal"):
        raise ValueError(f"visibility must be public or internal, not {visibility!r}")
    title = str(merged.get("title") or doc.title or Path(unit.source_id).stem)
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
        effective_date=parse_date(merged.get("effective_date")),
        expiry_date=parse_date(merged.get("expiry_date")),
        owner=_opt(merged.get("owner")),
        contact=_opt(merged.get("contact")),
    )


def _opt(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def prepare_source(unit: SourceUnit, tenant: str, settings: Settings, approved: set[str]) -> PreparedSource:
    """Load and chunk one source, applying the scans."""
    if unit.size > settings.ingest.max_file_mb * 1024 * 1024:
        raise ValueError(f"file is {unit.size // (1024 * 1024)} MB; the limit is {settings.ingest.max_file_mb} MB")
    doc = unit.record_doc if unit.record_doc is not None else load_file(unit.path, unit.doc_type)
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
    for chunk in chunks:
        reasons = find_injection(chunk.text)
        if reasons and chunk.digest not in approved:
            chunk.flags = sorted(set(reasons))
            flagged.append(chunk)
            findings.append({"kind": "injection", "chunk_id": chunk.chunk_id, "digest": chunk.digest,
                             "detail": ", ".join(chunk.flags)})
            continue
        if meta.visibility == "public" and settings.ingest.flag_pii_in_public:
            pii = find_pii(chunk.text)
            if pii:
                kinds = sorted({k for k, _ in pii})
                findings.append({"kind": "pii", "chunk_id": chunk.chunk_id,
                                 "detail": f"{len(pii)} item(s): {', '.join(kinds)}"})
        kept.append(chunk)
    return PreparedSource(unit=unit, meta=meta, chunks=kept, flagged=flagged, findings=findings, pages=doc.pages)

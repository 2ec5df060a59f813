"""Corpus JSONL: one document per line (``doc_id``, ``title``, ``text``, optional ``url`` and any
metadata fields). Streamed, so files of any size use constant memory."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qa_service.ingest.loaders.errors import LoaderError
from qa_service.ingest.types import LoadedDocument, Section

log = logging.getLogger(__name__)
MAX_BAD_LINES_LOGGED = 20


def record_to_document(record: dict[str, Any]) -> LoadedDocument:
    """One corpus record as a LoadedDocument; every field except text goes into meta."""
    text = str(record.get("text") or "").strip()
    title = str(record.get("title") or "").strip() or None
    meta = {k: v for k, v in record.items() if k != "text" and v not in (None, "")}
    sections = [Section(text=text)] if text else []
    warnings = [] if text else [f"record {record.get('doc_id')!r} has no text"]
    return LoadedDocument(sections=sections, title=title, meta=meta, warnings=warnings)


def iter_corpus(path: Path) -> Iterator[tuple[dict[str, Any], LoadedDocument]]:
    """Yield (record, document) per line. A bad line yields a record without ``doc_id`` whose
    document carries the warning, so the caller can report it; it never stops the stream."""
    bad = 0
    try:
        fh = path.open("r", encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise LoaderError(f"cannot read {path.name}: {exc.strerror or exc}") from exc
    with fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            problem: str | None = None
            record: Any = None
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                problem = f"not valid JSON ({exc.msg})"
            if problem is None and not isinstance(record, dict):
                problem = "not a JSON object"
            elif problem is None and (record.get("doc_id") in (None, "") or not str(record.get("text") or "").strip()):
                problem = "missing doc_id or text"
            if problem is not None:
                bad += 1
                warning = f"{path.name} line {n}: {problem}; skipped"
                if bad <= MAX_BAD_LINES_LOGGED:
                    log.warning("corpus bad line file=%s line=%d problem=%s", path.name, n, problem)
                yield {"line": n, "error": warning}, LoadedDocument(sections=[], warnings=[warning])
                continue
            yield record, record_to_document(record)
    if bad:
        log.warning("corpus done file=%s bad_lines=%d", path.name, bad)

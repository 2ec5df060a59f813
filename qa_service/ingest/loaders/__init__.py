"""Loaders: one module per format, each with ``load(path) -> LoadedDocument``.

``detect_type`` decides the format from the extension (and, for ``.jsonl``, the first record);
``load_file`` dispatches; ``iter_corpus`` streams corpus JSONL records.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from qa_service.ingest.loaders import corpus, docx_file, faq, html_page, markdown, pdf, textfile
from qa_service.ingest.loaders.corpus import iter_corpus
from qa_service.ingest.loaders.errors import LoaderError, NotFaqSheet
from qa_service.ingest.loaders.limits import DEFAULT_LIMITS, LoadLimits
from qa_service.ingest.types import LoadedDocument

log = logging.getLogger(__name__)

__all__ = ["LIMITED", "LOADERS", "LoadLimits", "LoaderError", "NotFaqSheet", "corpus", "detect_type",
           "iter_corpus", "load_file"]

EXTENSIONS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "txt",
    ".csv": "faq",
    ".xlsx": "faq",
    ".json": "faq",
}
LOADERS: dict[str, Callable[[Path], LoadedDocument]] = {
    "pdf": pdf.load,
    "docx": docx_file.load,
    "html": html_page.load,
    "markdown": markdown.load,
    "txt": textfile.load,
    "faq": faq.load,
}
LIMITED: dict[str, Callable[[Path, LoadLimits], LoadedDocument]] = {
    "pdf": pdf.load,
    "docx": docx_file.load,
    "faq": faq.load,
}


def _sniff_jsonl(path: Path) -> str | None:
    """'corpus' when the first record has doc_id and text, 'faq' when it has question/answer."""
    try:
        with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
            for _, line in zip(range(50), fh, strict=False):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    return None
                if not isinstance(record, dict):
                    return None
                keys = {str(k).strip().lower() for k in record}
                if "doc_id" in keys and "text" in keys:
                    return "corpus"
                if faq.find_columns(record.keys()) is not None:
                    return "faq"
                return None
    except OSError as exc:
        log.warning("jsonl sniff failed file=%s error=%s", path.name, exc)
    return None


def detect_type(path: Path) -> str | None:
    """The document type from the extension (``.jsonl`` by its first record); None if unsupported."""
    suffix = Path(path).suffix.lower()
    if suffix == ".jsonl":
        return _sniff_jsonl(Path(path))
    return EXTENSIONS.get(suffix)


def load_file(path: Path, doc_type: str, limits: LoadLimits | None = None) -> LoadedDocument:
    """Load one file as ``doc_type``; raise LoaderError (or NotFaqSheet) with an editor-readable message.

    Zip-based (DOCX, XLSX) and PDF files are checked against ``limits`` (default: the ingest
    settings' defaults) before they are parsed.
    """
    path = Path(path)
    if doc_type == "corpus":
        raise LoaderError(f"{path.name} is a corpus file; its records are read with iter_corpus, not one by one")
    loader = LOADERS.get(doc_type)
    if loader is None:
        raise LoaderError(f"{path.name}: unsupported document type {doc_type!r}")
    if not path.is_file():
        raise LoaderError(f"{path.name} does not exist or is not a file")
    limited = LIMITED.get(doc_type)
    if limited is not None:
        return limited(path, limits or DEFAULT_LIMITS)
    return loader(path)

"""Reading text files: UTF-8 (with or without BOM), then GB18030 for older Chinese files."""

from __future__ import annotations

import logging
from pathlib import Path

from qa_service.ingest.loaders.errors import LoaderError
from qa_service.ingest.loaders.frontmatter import split_front_matter
from qa_service.ingest.types import LoadedDocument, Section

log = logging.getLogger(__name__)


def read_text(path: Path) -> str:
    """Decode a text file; raise LoaderError when it is not text in a known encoding."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LoaderError(f"cannot read {path.name}: {exc.strerror or exc}") from exc
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoaderError(f"{path.name} looks like a binary file, not text")
    for enc in ("utf-8-sig", "utf-16", "gb18030"):
        if enc == "utf-16" and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc != "utf-8-sig":
            log.info("decoded with fallback encoding file=%s encoding=%s", path.name, enc)
        return text
    raise LoaderError(f"{path.name} is not UTF-8 or GB18030 text; save it as UTF-8 and try again")


def load(path: Path) -> LoadedDocument:
    """A plain text file: one section, with optional front matter."""
    meta, body, warnings = split_front_matter(read_text(path))
    body = body.strip()
    sections = [Section(text=body)] if body else []
    if not sections:
        warnings.append("the file has no text")
    title = meta.get("title")
    return LoadedDocument(sections=sections, title=str(title) if title else None, meta=meta, warnings=warnings)

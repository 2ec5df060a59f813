"""Word documents: heading styles give the heading path; tables are kept in document order."""

from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path

import docx
from docx.document import Document as DocxDocument
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph

from qa_service.ingest.loaders.errors import LoaderError
from qa_service.ingest.loaders.limits import DEFAULT_LIMITS, LoadLimits, check_zip
from qa_service.ingest.types import LoadedDocument, Section

log = logging.getLogger(__name__)
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)


def _heading_level(par: Paragraph) -> int | None:
    """0 for Title, 1..9 for Heading N, None for body text."""
    try:
        name = (par.style.name if par.style is not None else "") or ""
    except (KeyError, ValueError):
        return None
    name = name.strip()
    if name.lower() == "title" or name == "标题":
        return 0
    m = _HEADING_STYLE.match(name)
    return int(m.group(1)) if m else None


def _table_lines(table: Table) -> list[str]:
    lines: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        prev = None
        for cell in row.cells:
            if prev is not None and cell._tc is prev:  # merged cells repeat; keep one
                continue
            prev = cell._tc
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            lines.append(" | ".join(cells))
    return lines


def _open(path: Path) -> DocxDocument:
    try:
        return docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoaderError(f"{path.name} is not a readable Word (.docx) file; "
                          "old .doc files must be saved as .docx first") from exc
    except OSError as exc:
        raise LoaderError(f"cannot read {path.name}: {exc.strerror or exc}") from exc


def load(path: Path, limits: LoadLimits = DEFAULT_LIMITS) -> LoadedDocument:
    """A .docx file, body read in document order (its zip checked against ``limits`` first)."""
    check_zip(path, limits)
    document = _open(path)
    sections: list[Section] = []
    heading_path: list[tuple[int, str]] = []
    lines: list[str] = []
    first_heading: str | None = None

    def flush() -> None:
        text = "\n".join(lines).strip()
        if text:
            sections.append(Section(text=text, heading_path=[h for _, h in heading_path]))
        lines.clear()

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines.extend(_table_lines(block))
            continue
        text = block.text.strip()
        level = _heading_level(block)
        if level is None:
            if text:
                lines.append(text)
            continue
        if not text:
            continue
        flush()
        if first_heading is None:
            first_heading = text
        heading_path = [(lv, h) for lv, h in heading_path if lv < level]
        heading_path.append((level, text))
    flush()
    core_title = (document.core_properties.title or "").strip()
    warnings = [] if sections else ["the document has no text"]
    log.debug("docx loaded file=%s sections=%d", path.name, len(sections))
    return LoadedDocument(sections=sections, title=core_title or first_heading, warnings=warnings)

"""PDF files (pypdf): one section per page, letter-spaced text repaired, scanned pages reported.

Headings are not recovered from the page text (font sizes are unreliable); when the PDF has a
real outline (bookmarks spread over the document) it gives the heading path of each page.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from qa_service.ingest.loaders.errors import LoaderError
from qa_service.ingest.loaders.letterspacing import is_letter_spaced, repair_text
from qa_service.ingest.loaders.limits import DEFAULT_LIMITS, LoadLimits, count_pdf_pages
from qa_service.ingest.types import LoadedDocument, Section

log = logging.getLogger(__name__)

# Symbol-font glyphs that extract into the Private Use Area.
_PUA = str.maketrans({"\uf02d": "-", "\uf0b7": "•", "\uf0a7": "▪", "\uf0d8": "➢", "\uf0fc": "✓",
                      "\uf06e": "■", "\uf071": "❑", "\uf076": "❖", "\uf0e0": "→"})
_SPACES = re.compile(r"[ \t]+")
_BLANKS = re.compile(r"\n{3,}")
MAX_OUTLINE_TITLE = 120


_CJK_WRAP = re.compile(r"(?<=[\u3400-\u9fff，、；：（）《》“”])\n(?=[\u3400-\u9fff，。、；：！？（）《》“”])")


def _tidy(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    joined = _BLANKS.sub("\n\n", "\n".join(lines)).strip()
    return _CJK_WRAP.sub("", joined)  # a line wrap inside Chinese text is not a word break


def _page_text(page: Any, number: int, stats: dict[str, int]) -> str:
    """Extract one page's text with letter-spacing repaired (layout mode when words have no gaps)."""
    text = (page.extract_text() or "").translate(_PUA)
    if not any(is_letter_spaced(line) for line in text.split("\n")):
        return _tidy(text)
    fixed, repaired, gapless = repair_text(text)
    if gapless:
        try:
            layout = (page.extract_text(extraction_mode="layout") or "").translate(_PUA)
        except (PyPdfError, ValueError, KeyError, TypeError) as exc:
            log.debug("pdf layout extraction failed page=%d error=%s", number, exc)
            layout = ""
        lay_fixed, lay_repaired, lay_gapless = repair_text(layout)
        if layout.strip() and lay_gapless < gapless:
            fixed, repaired, gapless = lay_fixed, lay_repaired, lay_gapless
            stats["layout_pages"] += 1
    stats["repaired_lines"] += repaired
    stats["gapless_lines"] += gapless
    return _tidy(fixed)


def _outline_headings(reader: PdfReader, pages: int) -> dict[int, list[str]]:
    """Heading path per 0-based page from the outline, or {} when the outline is not a real one."""
    entries: list[tuple[int, int, str]] = []

    def visit(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                visit(item, level + 1)
                continue
            try:
                page_no = reader.get_destination_page_number(item)
            except (PyPdfError, ValueError, KeyError, TypeError, AttributeError):
                continue
            title = " ".join(str(getattr(item, "title", "") or "").split())
            if page_no is not None and page_no >= 0 and title:
                entries.append((page_no, level, title))

    try:
        visit(list(reader.outline), 0)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return {}
    distinct = {p for p, _, _ in entries}
    if (len(entries) < 3 or len(distinct) < max(3, pages // 20)
            or sorted(len(t) for _, _, t in entries)[len(entries) // 2] > MAX_OUTLINE_TITLE):
        return {}
    entries = sorted(((p, lv, t[:MAX_OUTLINE_TITLE]) for p, lv, t in entries), key=lambda e: e[0])  # stable
    out: dict[int, list[str]] = {}
    stack: list[tuple[int, str]] = []

    def push(stack: list[tuple[int, str]], level: int, title: str) -> list[tuple[int, str]]:
        return [*(e for e in stack if e[0] < level), (level, title)]

    i = 0
    for page_no in range(pages):
        while i < len(entries) and entries[i][0] < page_no:
            stack = push(stack, entries[i][1], entries[i][2])
            i += 1
        # a page is labelled with the path after its first heading
        view = push(stack, entries[i][1], entries[i][2]) if i < len(entries) and entries[i][0] == page_no else stack
        out[page_no] = [t for _, t in view]
    return out


def _open(path: Path, limits: LoadLimits) -> PdfReader:
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoaderError(f"{path.name} is password-protected; supply an unprotected copy")
        count_pdf_pages(path, reader.root_object["/Pages"], limits)  # before pypdf flattens the tree
        _ = len(reader.pages)
        return reader
    except LoaderError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise LoaderError(f"{path.name} is not a readable PDF ({exc})") from exc
    except OSError as exc:
        raise LoaderError(f"cannot read {path.name}: {exc.strerror or exc}") from exc


def load(path: Path, limits: LoadLimits = DEFAULT_LIMITS) -> LoadedDocument:
    """A PDF file: one section per page with text (refused past ``limits.max_pdf_pages``)."""
    started = time.monotonic()
    reader = _open(path, limits)
    pages = len(reader.pages)
    headings = _outline_headings(reader, pages)
    sections: list[Section] = []
    warnings: list[str] = []
    stats = {"repaired_lines": 0, "gapless_lines": 0, "layout_pages": 0}
    for index, page in enumerate(reader.pages):
        number = index + 1
        try:
            text = _page_text(page, number, stats)
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, ZeroDivisionError) as exc:
            warnings.append(f"page {number}: text could not be extracted ({type(exc).__name__})")
            log.warning("pdf page failed file=%s page=%d error=%s", path.name, number, exc)
            continue
        if not text:
            warnings.append(f"page {number}: no extractable text (scanned image?)")
            continue
        sections.append(Section(text=text, heading_path=list(headings.get(index, [])), page=number))
    if not sections:
        raise LoaderError(f"{path.name}: none of its {pages} page(s) has extractable text "
                          "(a scanned PDF needs OCR before it can be ingested)")
    title = None
    try:
        meta_title = reader.metadata.title if reader.metadata else None
        title = " ".join(str(meta_title).split()) or None if meta_title else None
    except (PyPdfError, ValueError, KeyError, TypeError):
        title = None
    log.info("pdf loaded file=%s pages=%d sections=%d repaired_lines=%d gapless_lines=%d layout_pages=%d ms=%d",
             path.name, pages, len(sections), stats["repaired_lines"], stats["gapless_lines"],
             stats["layout_pages"], int((time.monotonic() - started) * 1000))
    return LoadedDocument(sections=sections, title=title, pages=pages, warnings=warnings)

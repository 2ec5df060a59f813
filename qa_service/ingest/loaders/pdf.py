"""PDF files (pypdf): sections by page and heading, letter-spaced text repaired, scanned pages reported.

When the PDF has a real outline (bookmarks spread over the document) it gives the heading path of each page.
Without one, headings are read from the page text by their form, not their font (font sizes are unreliable): a
numbered line ("一、参保条件", "（二）办理流程", "3. Flexibly employed people") or a line in capitals, short and
without sentence punctuation, starts a section that runs on across pages until the next heading. A numbered line
N next to a line numbered N − 1 or N + 1 is a list item, not a heading. Without that, a guide's "申请材料" section was
one page of text under no heading, and its sections could not be typed (ingest/sections.py).
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
from qa_service.ingest.loaders.textfile import SENTENCE_END, is_heading
from qa_service.ingest.types import LoadedDocument, Section

log = logging.getLogger(__name__)

# Symbol-font glyphs that extract into the Private Use Area.
_PUA = str.maketrans({"\uf02d": "-", "\uf0b7": "•", "\uf0a7": "▪", "\uf0d8": "➢", "\uf0fc": "✓",
                      "\uf06e": "■", "\uf071": "❑", "\uf076": "❖", "\uf0e0": "→"})
_SPACES = re.compile(r"[ \t]+")
_BLANKS = re.compile(r"\n{3,}")
MAX_OUTLINE_TITLE = 120


_CJK_WRAP = re.compile(r"(?<=[\u3400-\u9fff，、；：（）《》“”])\n(?=[\u3400-\u9fff，。、；：！？（）《》“”])")
#: "1. Contribution rates", "2) Fees": an arabic-numbered line (a heading unless a line numbered one less or one
#: more is next to it: then it is a list item, is_pdf_heading)
_NUMBERED = re.compile(r"^(\d{1,2})[.)．](?!\d)\s*\S")  # not "0.5% to 1.9%"
MAX_NUMBERED_HEADING = 60  # characters; a longer numbered line is a list item or a sentence
MAX_NUMBERED_WORDS = 9
MIN_CAPITALS = 5  # a line in capitals is a heading from 5 letters ("EMS", "VAT" alone on a line are table cells)


_BULLETS = {"\x7f", "•", "▪", "●", "◦", "■", "·"}  # not "-": a dash alone in a table cell means none
#: a line ending this close to the page's longest line ran into the margin: its break is a wrap, not the end of a
#: line of its own (a table cell, a list item, a short line)
WRAP_WIDTH = 0.8


def _tidy(text: str, width: int | None = None) -> str:
    """Spaces folded, blank runs squeezed, and a line wrap inside Chinese text joined (it is not a word break)
    when the line before it ran to the margin (:data:`WRAP_WIDTH` of ``width``, the page's longest line; default
    the longest line of ``text``): table cells and short lines stay lines."""
    lines: list[str] = []
    bullet = False
    for raw in text.split("\n"):
        line = _SPACES.sub(" ", raw).strip()
        if line in _BULLETS:  # a list bullet extracted on a line of its own: its item is the next line
            bullet = True
            continue
        if bullet and line:
            line, bullet = "- " + line, False
        lines.append(line)
    joined = _BLANKS.sub("\n\n", "\n".join(lines)).strip()
    if width is None:
        width = max((len(line) for line in lines), default=0)
    merged: list[str] = []
    for line in joined.split("\n"):
        if merged and len(merged[-1]) >= WRAP_WIDTH * width and _CJK_WRAP.search(merged[-1][-1:] + "\n" + line[:1]):
            merged[-1] += line
        else:
            merged.append(line)
    return "\n".join(merged)


def _number(line: str) -> int | None:
    m = _NUMBERED.match(line.strip())
    return int(m.group(1)) if m else None


def is_pdf_heading(line: str, previous: str, following: str) -> bool:
    """A heading line of PDF text (module docstring); ``previous`` and ``following`` are the non-empty lines
    around it. A numbered line N next to N − 1 or N + 1 is an item of a list, not a heading ("2. Documents" above
    "1. Your identity card." is a heading; the item is not)."""
    line = line.strip()
    n = _number(line)
    if n is not None:
        return (len(line) <= MAX_NUMBERED_HEADING and len(line.split()) <= MAX_NUMBERED_WORDS
                and not SENTENCE_END.search(line) and any(c.isalpha() for c in line)
                and _number(previous) != n - 1 and _number(following) != n + 1)
    return is_heading(line) and (not line.isascii() or sum(c.isalpha() for c in line) >= MIN_CAPITALS)


def page_blocks(text: str) -> list[tuple[str | None, str]]:
    """(heading, text) runs of one page: a heading line (:func:`is_pdf_heading`) starts a run; the text before the
    first heading has heading None. Line wraps inside Chinese text are joined within a run, never across a
    heading."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    width = max((len(line) for line in lines), default=0)
    following = [""] * len(lines)  # the next non-empty line after each one
    for i in range(len(lines) - 2, -1, -1):
        following[i] = lines[i + 1] or following[i + 1]
    runs: list[tuple[str | None, list[str]]] = [(None, [])]
    previous = ""
    for i, line in enumerate(lines):
        if line and is_pdf_heading(line, previous, following[i]):
            runs.append((line, []))
        else:
            runs[-1][1].append(line)
        previous = line or previous
    out: list[tuple[str | None, str]] = []
    for heading, body in runs:
        joined = _tidy("\n".join(body), width)
        if heading is not None or joined:
            out.append((heading, joined))
    return out


def _page_text(page: Any, number: int, stats: dict[str, int]) -> str:
    """Extract one page's text with letter-spacing repaired (layout mode when words have no gaps); line breaks
    kept (:func:`page_blocks` splits and joins)."""
    text = (page.extract_text() or "").translate(_PUA)
    if not any(is_letter_spaced(line) for line in text.split("\n")):
        return text
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
    return fixed


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
    current: str | None = None  # the heading read from the text, running on across pages (no outline only)
    for index, page in enumerate(reader.pages):
        number = index + 1
        try:
            text = _page_text(page, number, stats)
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, ZeroDivisionError) as exc:
            warnings.append(f"page {number}: text could not be extracted ({type(exc).__name__})")
            log.warning("pdf page failed file=%s page=%d error=%s", path.name, number, exc)
            continue
        tidy = _tidy(text)
        if not tidy:
            warnings.append(f"page {number}: no extractable text (scanned image?)")
            continue
        if headings:
            sections.append(Section(text=tidy, heading_path=list(headings.get(index, [])), page=number))
            continue
        for heading, body in page_blocks(text):
            if heading is not None:
                current = heading
            if body:
                sections.append(Section(text=body, heading_path=[current] if current else [], page=number))
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

"""Reading text files: UTF-8 (with or without BOM), then GB18030 for older Chinese files."""

from __future__ import annotations

import logging
import re
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


#: a Chinese numbered heading: 一、 / （二） / 第三章 / 第四节 / 第五部分
_ZH_HEADING = re.compile(r"^(?:[一二三四五六七八九十]{1,3}[、.．]|[（(][一二三四五六七八九十]{1,3}[）)]"
                         r"|第[一二三四五六七八九十百]{1,4}[章节部分编])")
SENTENCE_END = re.compile(r"[.。!?！？;；,，]$")


def is_heading(line: str) -> bool:
    """A plain-text heading line: short, no sentence punctuation at its end, and either in capitals
    ("DOCUMENTS", "HOW LONG IT TAKES") or a Chinese numbered heading ("一、办理条件", "第二章 申请")."""
    line = line.strip()
    if not 2 <= len(line) <= 80 or SENTENCE_END.search(line):
        return False
    latin = [c for c in line if c.isascii() and c.isalpha()]
    if len(latin) >= 3 and all(c.isupper() for c in latin) and not re.search(r"[\u4e00-\u9fff]{8,}", line):
        return True
    return bool(_ZH_HEADING.match(line)) and len(line) <= 30


def split_headings(body: str) -> tuple[list[Section], str | None]:
    """Sections of a plain-text body by its heading lines (a heading stands after a blank line or at the top and
    has text right below it); the first line, when it is a heading, is the document's title and heads every
    section's path. A body without headings is one section."""
    lines = body.splitlines()
    sections: list[Section] = []
    title: str | None = None
    current: str | None = None
    buf: list[str] = []

    def flush() -> None:
        text = "\n".join(buf).strip()
        if text:
            path = [h for h in (title, current) if h]
            sections.append(Section(text=text, heading_path=path))
        buf.clear()

    first = next((i for i, x in enumerate(lines) if x.strip()), None)
    for i, line in enumerate(lines):
        after_blank = i == 0 or not lines[i - 1].strip()
        text_below = i + 1 < len(lines) and bool(lines[i + 1].strip())
        if after_blank and (text_below or i == first) and is_heading(line):
            flush()
            if i == first:
                title = line.strip()
            else:
                current = line.strip()
            continue
        buf.append(line)
    flush()
    return sections, title


def load(path: Path) -> LoadedDocument:
    """A plain text file, with optional front matter; heading lines in capitals or Chinese numbered headings
    ("一、") split it into sections with a heading path, as Markdown headings do."""
    meta, body, warnings = split_front_matter(read_text(path))
    sections, first_heading = split_headings(body.strip())
    if not sections:
        warnings.append("the file has no text")
    title = meta.get("title") or first_heading
    return LoadedDocument(sections=sections, title=str(title) if title else None, meta=meta, warnings=warnings)

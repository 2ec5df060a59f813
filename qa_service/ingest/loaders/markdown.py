"""Markdown: optional front matter, ``#`` headings give the heading path."""

from __future__ import annotations

import re
from pathlib import Path

from qa_service.ingest.loaders.frontmatter import split_front_matter
from qa_service.ingest.loaders.textfile import read_text
from qa_service.ingest.types import LoadedDocument, Section

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)[^)]*\)")
_EMPH = re.compile(r"(\*\*|__)(.+?)\1")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _clean(text: str) -> str:
    """Drop markup that carries no meaning for a reader; keep link targets (they may be cited)."""
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1 (\2)", text)
    return _EMPH.sub(r"\2", text)


def parse_markdown(body: str) -> tuple[list[Section], str | None]:
    """Split Markdown into sections by heading; return them and the first H1."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    buf: list[str] = []
    first_h1: str | None = None
    fence: str | None = None

    def flush() -> None:
        text = _clean("\n".join(buf)).strip()
        if text:
            sections.append(Section(text=text, heading_path=[h for _, h in path]))
        buf.clear()

    for line in _COMMENT.sub("", body).splitlines():
        fm = _FENCE.match(line)
        if fm:
            marker = fm.group(1)[0]
            fence = marker if fence is None else (None if marker == fence else fence)
            buf.append(line)
            continue
        hm = _HEADING.match(line) if fence is None else None
        if hm is None:
            buf.append(line)
            continue
        flush()
        level, title = len(hm.group(1)), _clean(hm.group(2)).strip()
        if level == 1 and first_h1 is None and title:
            first_h1 = title
        path = [(lv, h) for lv, h in path if lv < level]
        if title:
            path.append((level, title))
    flush()
    return sections, first_h1


def load(path: Path) -> LoadedDocument:
    """A Markdown file."""
    meta, body, warnings = split_front_matter(read_text(path))
    sections, first_h1 = parse_markdown(body)
    if not sections:
        warnings.append("the file has no text")
    title = meta.get("title") or first_h1
    return LoadedDocument(sections=sections, title=str(title) if title else None, meta=meta, warnings=warnings)

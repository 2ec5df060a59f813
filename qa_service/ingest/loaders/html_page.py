"""HTML pages: main text only, headings give the heading path, tables and lists kept as lines.

Hidden elements are removed (their text never reaches a reader, so it is a way to smuggle
instructions to a model); a warning records that hidden text was present.

Text only: raw-text elements (textarea, xmp, noembed, noframes, plaintext) are dropped like scripts, and
section text, headings and the title go through ``plain_text``, so markup written as entities
(``&lt;script&gt;``) never becomes chunk text.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from bs4 import BeautifulSoup, Comment, Doctype, NavigableString, Tag
from bs4.element import CData, Declaration, ProcessingInstruction

from qa_service.ingest.loaders.errors import LoaderError
from qa_service.ingest.types import LoadedDocument, Section
from qa_service.plaintext import plain_text

log = logging.getLogger(__name__)

DROP_TAGS = ("script", "style", "noscript", "form", "nav", "aside", "template", "iframe", "svg", "object",
             "embed", "button", "select", "head", "textarea", "xmp", "noembed", "noframes", "plaintext", "title",
             "math")
PAGE_CHROME = ("header", "footer")  # dropped unless inside the main content
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
BLOCKS = {"p", "div", "section", "article", "main", "blockquote", "pre", "address", "figure", "figcaption",
          "dl", "dt", "dd", "ul", "ol", "details", "summary", "body", "header", "footer", "hr", "caption"}
_HIDDEN_STYLE = re.compile(r"display:none|visibility:hidden|font-size:0(?![.\d])|opacity:0(?![.\d])")
_WS = re.compile(r"[ \t\r\n\f\u00a0]+")
_SKIP_STRINGS = (Comment, Doctype, CData, Declaration, ProcessingInstruction)


def _is_hidden(tag: Tag) -> bool:
    if tag.has_attr("hidden"):
        return True
    if str(tag.get("aria-hidden", "")).strip().lower() == "true":
        return True
    style = str(tag.get("style", "")).replace(" ", "").lower()
    return bool(style and _HIDDEN_STYLE.search(style))


def _inline_text(tag: Tag) -> str:
    return _WS.sub(" ", tag.get_text(" ")).strip()


class _Walker:
    """Turns the cleaned body into sections in document order."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.path: list[tuple[int, str]] = []
        self.lines: list[str] = []
        self.current: list[str] = []
        self.first_h1: str | None = None

    def end_line(self) -> None:
        line = _WS.sub(" ", "".join(self.current)).strip()
        if line:
            self.lines.append(line)
        self.current = []

    def flush(self) -> None:
        self.end_line()
        text = plain_text("\n".join(self.lines)).strip()
        if text:
            self.sections.append(Section(text=text, heading_path=[h for _, h in self.path]))
        self.lines = []

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, _SKIP_STRINGS):
                continue
            if isinstance(child, NavigableString):
                self.current.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name.lower()
            if name in HEADINGS:
                self.heading(HEADINGS[name], _inline_text(child))
            elif name == "table":
                self.table(child)
            elif name == "li":
                self.end_line()
                self.current.append("- ")
                self.walk(child)
                self.end_line()
            elif name == "br":
                self.end_line()
            elif name in BLOCKS:
                self.end_line()
                self.walk(child)
                self.end_line()
            else:
                self.walk(child)

    def heading(self, level: int, title: str) -> None:
        self.flush()
        title = plain_text(title)
        if level == 1 and self.first_h1 is None and title:
            self.first_h1 = title
        self.path = [(lv, h) for lv, h in self.path if lv < level]
        if title:
            self.path.append((level, title))

    def table(self, table: Tag) -> None:
        self.end_line()
        caption = table.find("caption")
        if isinstance(caption, Tag):
            self.lines.append(_inline_text(caption))
        for row in table.find_all("tr"):
            if not isinstance(row, Tag) or row.find_parent("table") is not table:
                continue
            cells = [_inline_text(c) for c in row.find_all(["td", "th"]) if isinstance(c, Tag)
                     and c.find_parent("tr") is row]
            if any(cells):
                self.lines.append(" | ".join(cells))


def _language(soup: BeautifulSoup) -> str | None:
    html = soup.find("html")
    lang = str(html.get("lang", "")).lower() if isinstance(html, Tag) else ""
    return lang[:2] if lang[:2] in ("zh", "en") else None


def parse_html(raw: bytes | str) -> LoadedDocument:
    """Parse HTML into a LoadedDocument (exposed for callers holding HTML in memory)."""
    soup = BeautifulSoup(raw, "lxml")
    title_tag = soup.find("title")
    title = plain_text(_inline_text(title_tag)) if isinstance(title_tag, Tag) else ""
    meta: dict[str, object] = {}
    lang = _language(soup)
    if lang:
        meta["language"] = lang
    hidden_count = 0
    hidden_chars = 0
    for tag in list(soup.find_all(True)):
        if not isinstance(tag, Tag) or tag.decomposed:
            continue
        if _is_hidden(tag):
            text = _inline_text(tag)
            if text:
                hidden_count += 1
                hidden_chars += len(text)
            tag.decompose()
    for tag in list(soup.find_all(DROP_TAGS)):
        if isinstance(tag, Tag) and not tag.decomposed:
            tag.decompose()
    for tag in list(soup.find_all(PAGE_CHROME)):
        if isinstance(tag, Tag) and not tag.decomposed and tag.find_parent(["article", "main"]) is None:
            tag.decompose()
    walker = _Walker()
    walker.walk(soup.body if isinstance(soup.body, Tag) else soup)
    walker.flush()
    warnings: list[str] = []
    if hidden_count:
        warnings.append(f"hidden text removed: {hidden_count} hidden element(s), {hidden_chars} characters "
                        "(hidden text is not shown to readers and can carry instructions)")
        log.warning("html hidden text removed elements=%d chars=%d", hidden_count, hidden_chars)
    if not walker.sections:
        warnings.append("the page has no visible text")
    return LoadedDocument(sections=walker.sections, title=title or walker.first_h1, meta=meta, warnings=warnings)


def load(path: Path) -> LoadedDocument:
    """An HTML file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LoaderError(f"cannot read {path.name}: {exc.strerror or exc}") from exc
    try:
        return parse_html(raw)
    except (ValueError, TypeError) as exc:  # lxml is forgiving; this is truly broken input
        raise LoaderError(f"{path.name} could not be parsed as HTML: {exc}") from exc

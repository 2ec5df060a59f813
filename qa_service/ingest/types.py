"""Data that flows through ingestion: loaded documents, their sections, and chunks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from qa_service.place import DocScope

Visibility = Literal["public", "internal"]
SectionKind = Literal["text", "faq"]


@dataclass
class Section:
    """A run of text under one heading path (or one FAQ entry)."""

    text: str
    heading_path: list[str] = field(default_factory=list)
    page: int | None = None
    kind: SectionKind = "text"
    question: str | None = None  # FAQ entries only
    answer: str | None = None  # FAQ entries only


@dataclass
class SourceMeta:
    """Metadata of one source; filled from catalog.yaml, front matter, the file and defaults."""

    source_id: str
    tenant: str
    title: str
    path: str
    doc_type: str  # pdf | docx | html | markdown | txt | faq | corpus
    department: str | None = None
    url: str | None = None
    language: str | None = None  # zh | en
    visibility: Visibility = "public"
    effective_date: dt.date | None = None
    expiry_date: dt.date | None = None
    owner: str | None = None
    contact: str | None = None
    # where it applies (qa_service/place.py): jurisdiction, issuing office, issue date; given or detected
    scope: DocScope | None = None


@dataclass
class LoadedDocument:
    """What a loader returns: sections plus anything it learnt about the source."""

    sections: list[Section]
    title: str | None = None
    pages: int | None = None
    meta: dict[str, object] = field(default_factory=dict)  # front matter or record fields
    warnings: list[str] = field(default_factory=list)  # e.g. "page 3: no extractable text"


@dataclass
class Chunk:
    """A passage of a source with a stable id and a content digest."""

    chunk_id: str  # f"{source_id}:{n}"
    source_id: str
    n: int
    text: str
    digest: str  # sha256 of the normalised text
    heading: str  # "A > B > C"
    page: int | None = None
    kind: SectionKind = "text"
    flags: list[str] = field(default_factory=list)  # e.g. ["injection"]

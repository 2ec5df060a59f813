"""Limits a loader checks before parsing, so a small file cannot expand into minutes of work.

DOCX and XLSX are zip files: every member's declared uncompressed size and compression ratio are
checked against the central directory, then every member is stream-read once with a byte cap
(the bytes as actually decompressed, which also checks each CRC). A PDF's page tree is counted
with a cap before any page is extracted. Each refusal is a :class:`LoaderError` naming the file,
the part and the limit, so it lands in the job result as that file's error.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa_service.ingest.loaders.errors import LoaderError
from qa_service.settings import IngestSettings

MB = 1024 * 1024
RATIO_FLOOR = MB  # members smaller than this may compress as well as they like
_CHUNK = 1 << 16
_XML_SUFFIXES = (".xml", ".rels", ".vml")


@dataclass(frozen=True)
class LoadLimits:
    """The loader-side limits (ingest settings ``max_unpacked_mb`` … ``max_pdf_pages``)."""

    max_unpacked_mb: int = IngestSettings.model_fields["max_unpacked_mb"].default
    max_xml_part_mb: int = IngestSettings.model_fields["max_xml_part_mb"].default
    max_compression_ratio: float = IngestSettings.model_fields["max_compression_ratio"].default
    max_pdf_pages: int = IngestSettings.model_fields["max_pdf_pages"].default

    @classmethod
    def from_settings(cls, ingest: IngestSettings) -> LoadLimits:
        return cls(max_unpacked_mb=ingest.max_unpacked_mb, max_xml_part_mb=ingest.max_xml_part_mb,
                   max_compression_ratio=ingest.max_compression_ratio, max_pdf_pages=ingest.max_pdf_pages)


DEFAULT_LIMITS = LoadLimits()


def _mb(n: float) -> str:
    return f"{n / MB:.1f} MB"


def check_zip(path: Path, limits: LoadLimits) -> None:
    """Refuse a zip-based document whose members would expand beyond the limits."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [i for i in archive.infolist() if not i.is_dir()]
            _check_declared(path, members, limits)
            _check_read(path, archive, members, limits)
    except zipfile.BadZipFile as exc:
        raise LoaderError(f"{path.name} is not a readable zip-based document ({exc})") from exc
    except OSError as exc:
        raise LoaderError(f"cannot read {path.name}: {exc.strerror or exc}") from exc


def _part_cap(info: zipfile.ZipInfo, limits: LoadLimits) -> int | None:
    return limits.max_xml_part_mb * MB if info.filename.lower().endswith(_XML_SUFFIXES) else None


def _check_declared(path: Path, members: list[zipfile.ZipInfo], limits: LoadLimits) -> None:
    total = 0
    for info in members:
        cap = _part_cap(info, limits)
        if cap is not None and info.file_size > cap:
            raise LoaderError(f"{path.name}: part {info.filename} unpacks to {_mb(info.file_size)}; "
                              f"the limit is {limits.max_xml_part_mb} MB per XML part (ingest.max_xml_part_mb)")
        if info.file_size > RATIO_FLOOR:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                raise LoaderError(f"{path.name}: part {info.filename} has a compression ratio of {ratio:.0f}:1 "
                                  f"({_mb(info.compress_size)} → {_mb(info.file_size)}); the limit is "
                                  f"{limits.max_compression_ratio:.0f}:1 (ingest.max_compression_ratio)")
        total += info.file_size
    if total > limits.max_unpacked_mb * MB:
        raise LoaderError(f"{path.name} unpacks to {_mb(total)} uncompressed; the limit is "
                          f"{limits.max_unpacked_mb} MB (ingest.max_unpacked_mb)")


def _check_read(path: Path, archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], limits: LoadLimits) -> None:
    """Decompress every member once, counting the bytes that actually come out."""
    budget = limits.max_unpacked_mb * MB
    total = 0
    for info in members:
        cap = _part_cap(info, limits)
        size = 0
        with archive.open(info) as member:
            while block := member.read(_CHUNK):
                size += len(block)
                total += len(block)
                if cap is not None and size > cap:
                    raise LoaderError(f"{path.name}: part {info.filename} unpacks to more than "
                                      f"{limits.max_xml_part_mb} MB (ingest.max_xml_part_mb)")
                if total > budget:
                    raise LoaderError(f"{path.name} unpacks to more than {limits.max_unpacked_mb} MB uncompressed; "
                                      f"the limit is {limits.max_unpacked_mb} MB (ingest.max_unpacked_mb)")


def count_pdf_pages(path: Path, root: Any, limits: LoadLimits) -> int:
    """Pages in a PDF page tree, walked without resolving a page; refuse past ``max_pdf_pages``.

    The declared ``/Count`` is checked first; the walk then counts leaves (a tree can lie about
    its count or repeat one node many times) and stops as soon as the limit is passed.
    """
    cap = limits.max_pdf_pages
    declared = root.get("/Count")
    if isinstance(declared, int) and declared > cap:
        raise LoaderError(f"{path.name} has {declared} pages; the limit is {cap} pages (ingest.max_pdf_pages)")
    pages = 0
    visits = 0
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        visits += 1
        if depth > 64 or visits > 4 * cap + 64:
            raise LoaderError(f"{path.name}: its page tree is deeper or larger than a {cap}-page document "
                              "can be (ingest.max_pdf_pages)")
        node = node.get_object() if hasattr(node, "get_object") else node
        kids = node.get("/Kids") if hasattr(node, "get") else None
        if kids is None:
            pages += 1
            if pages > cap:
                raise LoaderError(f"{path.name} has more than {cap} pages; the limit is {cap} pages "
                                  "(ingest.max_pdf_pages)")
            continue
        kids = kids.get_object() if hasattr(kids, "get_object") else kids
        stack.extend((kid, depth + 1) for kid in reversed(list(kids)))
    return pages

"""Find the sources under the paths an editor gives, with their metadata resolved.

A file is one source (id = its path relative to the folder given, or ``source_id`` from the
catalog); a corpus ``.jsonl`` gives one source per record (id = ``doc_id``). A job takes at most
``ingest.max_files_per_job`` files and ``ingest.max_job_mb`` MB: each file past either limit is
yielded with an error (it fails alone, the parent version's copy is kept) and is not read.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa_service.ingest.catalog import CATALOG_NAME, Catalog, load_catalog
from qa_service.ingest.loaders import detect_type
from qa_service.ingest.types import LoadedDocument
from qa_service.settings import IngestSettings

log = logging.getLogger(__name__)
SKIP_NAMES = {CATALOG_NAME, ".DS_Store", "Thumbs.db"}


@dataclass
class SourceUnit:
    """One source to ingest: a file, or one record of a corpus file."""

    source_id: str
    path: Path
    doc_type: str
    meta: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    size: int = 0
    record_doc: LoadedDocument | None = None  # corpus records arrive already loaded
    error: str | None = None
    error_outcome: str = "skipped"  # skipped (unsupported file) | failed (unreadable record)


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def meta_digest(content_digest: str, meta: dict[str, Any]) -> str:
    """A source digest covers its bytes and its metadata (a visibility change is a change)."""
    blob = json.dumps(meta, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(f"{content_digest}\n{blob}".encode()).hexdigest()


def _catalogs_for(path: Path, root: Path, cache: dict[Path, Catalog | None]) -> list[Catalog]:
    """Catalogs from the root down to the file's folder (nearer ones win)."""
    out: list[Catalog] = []
    folder = path.parent.resolve()
    root = root.resolve()
    chain = [folder, *folder.parents]
    for d in reversed(chain):
        if d != root and root not in d.parents:
            continue
        if d not in cache:
            cache[d] = load_catalog(d)
        cat = cache[d]
        if cat is not None:
            out.append(cat)
    return out


def _walk(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for p in sorted(root.rglob("*")):
        rel_parts = p.relative_to(root).parts
        if any(part.startswith((".", "_")) for part in rel_parts):
            continue
        if p.is_file() and p.name not in SKIP_NAMES:
            yield p


def count_units(paths: list[Path]) -> int:
    """Cheap total for the progress bar (corpus files count their lines)."""
    total = 0
    for root in paths:
        for p in _walk(root):
            kind = detect_type(p)
            if kind == "corpus":
                with p.open("rb") as fh:
                    total += sum(1 for line in fh if line.strip())
            else:
                total += 1
    return total


class _JobBudget:
    """Counts the files and bytes a job has taken; says why a file is past the job's limits."""

    def __init__(self, limits: IngestSettings) -> None:
        self.limits, self.files, self.bytes = limits, 0, 0

    def refuse(self, path: Path) -> str | None:
        size = path.stat().st_size
        if self.files + 1 > self.limits.max_files_per_job:
            return (f"not ingested: the job already has {self.files} files, the limit per job "
                    f"(ingest.max_files_per_job); ingest the rest in another job")
        if self.bytes + size > self.limits.max_job_mb * 1024 * 1024:
            return (f"not ingested: with this file ({size / 2**20:.1f} MB) the job would exceed "
                    f"{self.limits.max_job_mb} MB in all (ingest.max_job_mb); ingest it in another job")
        self.files += 1
        self.bytes += size
        return None


def discover(paths: list[Path], corpus_reader: Any, limits: IngestSettings | None = None) -> Iterator[SourceUnit]:
    """Yield every source under ``paths`` (files in sorted order; corpus records streamed)."""
    cache: dict[Path, Catalog | None] = {}
    budget = _JobBudget(limits or IngestSettings())
    for root in paths:
        base = root if root.is_dir() else root.parent
        for p in _walk(root):
            kind = detect_type(p)
            meta: dict[str, Any] = {}
            tenant_hint = None
            for cat in _catalogs_for(p, base, cache):
                meta.update(cat.meta_for(p))
                tenant_hint = cat.tenant or tenant_hint
            if tenant_hint:
                meta["catalog_tenant"] = tenant_hint
            rel = p.relative_to(base).as_posix() if p != base else p.name
            refused = budget.refuse(p)
            if refused is not None:
                yield SourceUnit(source_id=str(meta.get("source_id") or rel), path=p, doc_type=kind or "unknown",
                                 meta=meta, error=refused, error_outcome="failed_keep")
                continue
            if kind is None:
                yield SourceUnit(source_id=rel, path=p, doc_type="unknown", meta=meta,
                                 error=f"unsupported file type {p.suffix or '(none)'}")
                continue
            if kind == "corpus":
                yield from _corpus_units(p, meta, corpus_reader)
                continue
            source_id = str(meta.pop("source_id", None) or rel)
            size = p.stat().st_size
            yield SourceUnit(source_id=source_id, path=p, doc_type=kind, meta=meta,
                             digest=meta_digest(_file_digest(p), meta), size=size)


def _corpus_units(path: Path, defaults: dict[str, Any], corpus_reader: Any) -> Iterator[SourceUnit]:
    for record, doc in corpus_reader(path):
        if record.get("doc_id") is None:
            line = record.get("line", "?")
            yield SourceUnit(source_id=f"{path.name}#line{line}", path=path, doc_type="corpus",
                             error=str(record.get("error") or "record has no doc_id"), error_outcome="failed")
            continue
        meta = dict(defaults)
        for key in ("title", "department", "url", "language", "visibility", "effective_date",
                    "expiry_date", "owner", "contact"):
            if record.get(key) not in (None, ""):
                meta[key] = record[key]
        blob = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
        content = hashlib.sha256(blob.encode("utf-8")).hexdigest()
        yield SourceUnit(
            source_id=str(record["doc_id"]), path=path, doc_type="corpus", meta=meta,
            digest=meta_digest(content, meta), size=len(blob.encode("utf-8")), record_doc=doc,
        )

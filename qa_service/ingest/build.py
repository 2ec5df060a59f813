"""Writes one new KB version: embeds new chunks in large batches, reuses the vectors of chunks
whose digest is already in the parent version, copies unchanged sources' points wholesale.

When the parent was built by another dense model (``reuse_vectors`` false: the ledger's ``embedding_model`` of the
parent differs from ``services.dense.model_id``), nothing of its dense vectors is kept: copied sources are
re-embedded from their stored payload, so a model change re-embeds every chunk once and a version never mixes
two models' vectors (which would share a dimension and fail silently)."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from qa_service.ingest.catalog import date_int
from qa_service.ingest.discover import SourceUnit
from qa_service.ingest.prepare import PreparedSource
from qa_service.ingest.sections import SectionVocabulary
from qa_service.ingest.types import Chunk, SourceMeta
from qa_service.kb.sentence_vectors import prefill
from qa_service.kb.store import VersionReader, VersionWriter
from qa_service.kb.types import StoredPoint
from qa_service.place import patch_payload
from qa_service.services import Services

log = logging.getLogger(__name__)
NO_EXPIRY = 99991231


def chunk_payload(chunk: Chunk, meta: SourceMeta, model_id: str, section_type: str = "other") -> dict[str, Any]:
    """What every point carries: enough to cite, filter and reproduce; ``section_type`` is the section's type
    by its heading (ingest/sections.py)."""
    return {
        "chunk_id": chunk.chunk_id,
        "source_id": chunk.source_id,
        "tenant": meta.tenant,
        "n": chunk.n,
        "text": chunk.text,
        "digest": chunk.digest,
        "heading": chunk.heading,
        "page": chunk.page,
        "kind": chunk.kind,
        "section_type": section_type,
        "title": meta.title,
        "url": meta.url,
        "language": meta.language,
        "visibility": meta.visibility,
        "department": meta.department,
        "doc_type": meta.doc_type,
        "effective": date_int(meta.effective_date, 0),
        "expiry": date_int(meta.expiry_date, NO_EXPIRY),
        "model": model_id,
        **(meta.scope.payload() if meta.scope is not None else {}),  # place, office, issued (qa_service/place.py)
    }


class VersionBuilder:
    """Accumulates chunks, embeds in batches and writes points into the version being built."""

    def __init__(self, services: Services, tenant: str, version: int, parent: int | None,
                 reuse_vectors: bool, flush_at: int = 512,
                 scope_overrides: dict[str, dict[str, Any]] | None = None) -> None:
        self.services = services
        self.tenant = tenant
        self.version = version
        self.model_id = services.dense.model_id
        self.reuse_vectors = reuse_vectors
        self.flush_at = flush_at
        self.sections = SectionVocabulary.from_file(services.settings.ingest.section_types)
        self.writer: VersionWriter = services.store.create_version(tenant, version, services.dense.dim)
        self.parent: VersionReader | None = None
        self.parent_by_digest: dict[str, str] = {}
        if parent is not None and services.store.has_version(tenant, parent):
            self.parent = services.store.open_version(tenant, parent)
            if reuse_vectors:
                for p in self.parent.iter_points(with_vectors=False):
                    self.parent_by_digest.setdefault(str(p.payload.get("digest")), p.chunk_id)
        self.pending: list[tuple[Chunk, dict[str, Any]]] = []
        self.embedded = 0
        self.reused = 0
        self.copied = 0
        self.reembedded = 0
        self.total_points = 0
        self.chunk_counts: Counter[str] = Counter()
        self.refusals: list[tuple[SourceUnit, str]] = []
        # editors' corrections of where a source applies, applied to the points of sources copied unchanged
        self.scope_overrides = scope_overrides or {}
        self.patched: dict[str, dict[str, Any]] = {}  # source id -> its corrected payload (one point's)

    def add(self, prep: PreparedSource) -> None:
        for chunk in prep.chunks:
            self.pending.append((chunk, chunk_payload(chunk, prep.meta, self.model_id,
                                                      self.sections.type(chunk.heading, prep.meta.title, chunk.kind))))
        prep.chunks_written = len(prep.chunks)
        self.chunk_counts[prep.unit.source_id] = len(prep.chunks)
        if len(self.pending) >= self.flush_at:
            self.flush()

    def record_refusal(self, unit: SourceUnit, reason: str) -> None:
        self.refusals.append((unit, reason))

    def flush(self) -> None:
        """Embed what is new, reuse what the parent already has, and write the batch."""
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        reuse_ids = {c.digest: self.parent_by_digest[c.digest] for c, _ in batch if c.digest in self.parent_by_digest}
        old: dict[str, StoredPoint] = {}
        if reuse_ids and self.parent is not None:
            for p in self.parent.get(list(set(reuse_ids.values())), with_vectors=True):
                old[p.chunk_id] = p
        to_embed = [(c, pl) for c, pl in batch if reuse_ids.get(c.digest) not in old]
        points: list[StoredPoint] = []
        for c, pl in batch:
            src = old.get(reuse_ids.get(c.digest, ""))
            if src is not None:
                points.append(StoredPoint(c.chunk_id, src.dense, src.sparse, pl))
        if to_embed:
            texts = [embed_text(pl) for _, pl in to_embed]
            dense = self.services.dense.encode(texts, self.services.settings.embedding.batch_size)
            prefill(self.services.dense, [pl for _, pl in to_embed])  # the answer path reads, not embeds, them
            for (c, pl), vec, text in zip(to_embed, dense, texts, strict=True):
                points.append(StoredPoint(c.chunk_id, vec, self.services.sparse.embed_document(text), pl,
                                          self.services.cjk.embed_document(text)))
        self._write(points)
        self.embedded += len(to_embed)
        self.reused += len(batch) - len(to_embed)

    def copy_sources(self, source_ids: set[str]) -> None:
        """Copy every point of these sources from the parent: vectors included when the parent was built by the
        same dense model, else with their dense vectors re-embedded (the sparse ones do not depend on it)."""
        if not source_ids or self.parent is None:
            return
        buf: list[StoredPoint] = []
        for p in self.parent.iter_points(with_vectors=True):
            sid = str(p.payload.get("source_id"))
            if sid in source_ids:
                if sid in self.scope_overrides:
                    patched = patch_payload(p.payload, self.scope_overrides[sid])
                    if patched != p.payload:
                        p.payload = patched
                        self.patched[sid] = patched
                buf.append(p)
                self.chunk_counts[sid] += 1
                if len(buf) >= self.services.settings.store.upsert_batch:
                    self._write_copied(buf)
                    buf = []
        self._write_copied(buf)

    def _write_copied(self, points: list[StoredPoint]) -> None:
        if points and not self.reuse_vectors:
            texts = [embed_text(p.payload) for p in points]
            vecs = self.services.dense.encode(texts, self.services.settings.embedding.batch_size)
            prefill(self.services.dense, [p.payload for p in points])
            for p, vec in zip(points, vecs, strict=True):
                p.dense = vec
                p.payload = {**p.payload, "model": self.model_id}
            self.reembedded += len(points)
        self._write(points)
        self.copied += len(points)

    def _write(self, points: list[StoredPoint]) -> None:
        for p in points:  # reused or copied points of a parent built before the bigram index: cheap to compute
            if p.cjk is None:
                p.cjk = self.services.cjk.embed_document(embed_text(p.payload))
            # every point is typed with the vocabulary of this build: an edited vocabulary reaches copied documents
            pl = p.payload
            p.payload = {**pl, "section_type": self.sections.type(str(pl.get("heading") or ""),
                                                                  str(pl.get("title") or ""),
                                                                  str(pl.get("kind") or "text"))}
        size = self.services.settings.store.upsert_batch
        for i in range(0, len(points), size):
            self.writer.upsert(points[i : i + size])
        self.total_points += len(points)

    def seal(self) -> None:
        self.flush()
        self.writer.seal()
        self._close_parent()

    def abort(self) -> None:
        try:
            self.writer.abort()
        finally:
            self._close_parent()

    def _close_parent(self) -> None:
        if self.parent is not None:
            self.parent.close()
            self.parent = None


def embed_text(payload: dict[str, Any]) -> str:
    """The text a passage is indexed by (dense model, word BM25 and Han-bigram BM25 alike), from its stored
    payload alone, so points copied from a parent version can be re-indexed: title and heading give the
    passage its context, unless its text already starts with them."""
    text = str(payload.get("text") or "")
    head = " > ".join(x for x in (str(payload.get("title") or ""), str(payload.get("heading") or "")) if x)
    return f"{head}\n{text}" if head and head not in text[: len(head) + 5] else text

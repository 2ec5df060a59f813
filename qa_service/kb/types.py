"""Points as the vector store sees them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

MAX_VERSION = 2**31 - 1  # kb_versions.version is a 32-bit INTEGER on PostgreSQL; the edges check this bound

DENSE = "dense"
SPARSE = "bm25"
CJK = "bm25_cjk"  # BM25 over Han-character bigrams and unigrams (kb/embed.py CjkEmbedder)


@dataclass
class SparseVec:
    indices: list[int]
    values: list[float]


@dataclass
class StoredPoint:
    """One chunk in a KB version: id, vectors and payload."""

    chunk_id: str
    dense: list[float]
    sparse: SparseVec
    payload: dict[str, Any] = field(default_factory=dict)
    cjk: SparseVec | None = None  # None: not computed (the ingestion writer fills it from the payload)


@dataclass
class SearchFilter:
    """Filters applied in every query (tenant is implied by the version)."""

    visibility: list[str] | None = None  # allowed values; None = any
    valid_on: int | None = None  # yyyymmdd: effective <= day <= expiry
    source_ids: list[str] | None = None
    exclude_source_ids: list[str] | None = None


@dataclass
class Hit:
    chunk_id: str
    score: float
    payload: dict[str, Any]


def hit_from(payload: dict[str, Any] | None, point_id: object, score: float) -> Hit:
    """A search hit from either backend's scored point."""
    data = dict(payload or {})
    return Hit(str(data.get("chunk_id", point_id)), float(score), data)


def stored_from(payload: dict[str, Any] | None, point_id: object, vector: object, with_vectors: bool,
                sparse_type: type) -> StoredPoint:
    """A stored point from either backend's record (``sparse_type``: the backend's sparse-vector class)."""
    data = dict(payload or {})
    dense: list[float] = []
    sparse = SparseVec([], [])
    cjk: SparseVec | None = None
    if with_vectors and isinstance(vector, dict):
        d = vector.get(DENSE)
        if isinstance(d, list):
            dense = [float(x) for x in d]
        s = vector.get(SPARSE)
        if isinstance(s, sparse_type):
            sparse = SparseVec(list(s.indices), [float(x) for x in s.values])  # type: ignore[attr-defined]
        c = vector.get(CJK)
        if isinstance(c, sparse_type):
            cjk = SparseVec(list(c.indices), [float(x) for x in c.values])  # type: ignore[attr-defined]
    return StoredPoint(str(data.get("chunk_id", point_id)), dense, sparse, data, cjk)


class DenseEncoder(Protocol):
    """What the answer path and ingestion need from a dense model (kb/embed.py DenseEmbedder; kb/fake_embed.py
    FakeDenseEmbedder in unit tests)."""

    @property
    def model_id(self) -> str: ...

    @property
    def model_path(self) -> str | None: ...

    @property
    def dim(self) -> int: ...

    @property
    def asymmetric(self) -> bool: ...

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> list[list[float]]: ...

    def encode_queries(self, texts: Sequence[str], batch_size: int = 32) -> list[list[float]]: ...

    def encode_query(self, text: str) -> list[float]: ...

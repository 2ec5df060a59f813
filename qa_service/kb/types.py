"""Points as the vector store sees them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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

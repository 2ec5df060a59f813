"""The vector-store interface. Two implementations: Qdrant Edge (embedded default) and a Qdrant
server/cluster through qdrant-client. Both pass tests/kb/test_store_contract.py.

A KB version is one immutable shard/collection; the live version is a pointer (Edge) or an alias
(server) switched atomically.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from qa_service.kb.types import Hit, SearchFilter, SparseVec, StoredPoint


class VersionWriter(Protocol):
    """Builds one version. Nothing is readable until :meth:`seal`; :meth:`abort` discards it."""

    def upsert(self, points: Sequence[StoredPoint]) -> None: ...

    def seal(self) -> None: ...

    def abort(self) -> None: ...


class VersionReader(Protocol):
    """Read access to one sealed version."""

    has_cjk: bool  # built with the Han-bigram BM25 vector (versions from before it are not)

    def hybrid(
        self,
        dense: list[float],
        sparse: SparseVec,
        flt: SearchFilter,
        limit: int,
        prefetch: int,
        weights: tuple[float, ...] = (1.0, 1.0),
        rrf_k: int = 60,
        cjk: SparseVec | None = None,
    ) -> list[Hit]: ...

    def dense(self, vector: list[float], flt: SearchFilter, limit: int) -> list[Hit]: ...

    def sparse(self, vector: SparseVec, flt: SearchFilter, limit: int, using: str = ...) -> list[Hit]: ...

    def get(self, chunk_ids: Sequence[str], with_vectors: bool = True) -> list[StoredPoint]: ...

    def iter_points(self, with_vectors: bool = False, batch: int = 512) -> Iterator[StoredPoint]: ...

    def count(self) -> int: ...

    def close(self) -> None: ...


class VectorStore(Protocol):
    """Versions of each tenant's knowledge base."""

    backend: str  # "edge" | "qdrant"

    def create_version(self, tenant: str, version: int, dim: int) -> VersionWriter: ...

    def open_version(self, tenant: str, version: int) -> VersionReader: ...

    def has_version(self, tenant: str, version: int) -> bool: ...

    def list_versions(self, tenant: str) -> list[int]: ...

    def drop_version(self, tenant: str, version: int) -> None: ...

    def set_live(self, tenant: str, version: int) -> None: ...

    def live_version(self, tenant: str) -> int | None: ...

    def ping(self) -> bool: ...

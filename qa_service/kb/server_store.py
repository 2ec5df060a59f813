"""Qdrant server/cluster store through ``qdrant-client``: one collection per KB version.

* Version ``n`` of tenant ``t`` is collection ``kb_{t}_v{n}`` with the named vectors ``dense``
  (Cosine) and ``bm25`` (sparse, ``Modifier.IDF``) and the same payload indexes as the Edge store.
* Qdrant has no collection rename, so a build writes straight into its collection and is marked
  sealed in the collection metadata (``{"sealed": true}``) at the end. Only sealed collections are
  listed or opened. If the server drops collection metadata (servers before metadata support), a
  sentinel point (id ``uuid5(NAMESPACE, "__sealed__")``, no sparse vector) marks it instead; every
  read excludes that id.
* The live version is the alias ``kb_{t}_live``, switched with one ``update_collection_aliases``
  call (delete + create: atomic on the server).
* Hybrid search is one ``query_points`` with two prefetches fused by weighted RRF
  (``models.RrfQuery(rrf=models.Rrf(k, weights))``, Qdrant ≥ 1.16). When the server rejects it, the
  store falls back to plain ``FusionQuery(RRF)`` — on that path ``weights`` and ``rrf_k`` are
  ignored (logged once).

In tests qdrant-client's local mode (``QdrantClient(path=...)`` or ``":memory:"``) stands in for
a server: it supports collections, metadata, aliases and weighted RRF, but payload indexes are
no-ops there (filters still work, by full scan) — the store logs that once instead of warning on
every index.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from qa_service.kb.edge_store import (
    DENSE,
    KEYWORD_FIELDS,
    NAMESPACE,
    RANGE_FIELDS,
    SPARSE,
    VersionNotFound,
    check_tenant,
    check_version,
    matches_nothing,
    pid_alive,
    point_id,
)
from qa_service.kb.types import CJK, Hit, SearchFilter, SparseVec, StoredPoint, hit_from, stored_from

log = logging.getLogger(__name__)

SENTINEL_ID = str(uuid.uuid5(NAMESPACE, "__sealed__"))
_HOST = socket.gethostname()


def collection_name(tenant: str, version: int) -> str:
    return f"kb_{check_tenant(tenant)}_v{check_version(version)}"


def alias_name(tenant: str) -> str:
    return f"kb_{check_tenant(tenant)}_live"


def is_local(client: QdrantClient) -> bool:
    """True for qdrant-client's local mode (path or ':memory:'), which stands in for a server in tests."""
    return type(getattr(client, "_client", None)).__name__ == "QdrantLocal"


def server_filter(flt: SearchFilter) -> models.Filter:
    """SearchFilter → qdrant-client filter; always excludes the seal sentinel point."""
    must: list[Any] = []
    must_not: list[Any] = [models.HasIdCondition(has_id=[SENTINEL_ID])]
    if flt.visibility is not None:
        must.append(models.FieldCondition(key="visibility", match=models.MatchAny(any=list(flt.visibility))))
    if flt.valid_on is not None:
        must.append(models.FieldCondition(key="effective", range=models.Range(lte=flt.valid_on)))
        must.append(models.FieldCondition(key="expiry", range=models.Range(gte=flt.valid_on)))
    if flt.source_ids is not None:
        must.append(models.FieldCondition(key="source_id", match=models.MatchAny(any=list(flt.source_ids))))
    if flt.exclude_source_ids:
        must_not.append(models.FieldCondition(key="source_id",
                                              match=models.MatchAny(any=list(flt.exclude_source_ids))))
    return models.Filter(must=must or None, must_not=must_not)


_NO_SENTINEL = models.Filter(must_not=[models.HasIdCondition(has_id=[SENTINEL_ID])])


def _hit(p: models.ScoredPoint) -> Hit:
    return hit_from(p.payload, p.id, p.score)


def _stored(r: models.Record, with_vectors: bool) -> StoredPoint:
    return stored_from(r.payload, r.id, r.vector, with_vectors, models.SparseVector)


class ServerVersionWriter:
    """Writes one version's collection; :meth:`seal` marks it complete."""

    def __init__(self, store: QdrantServerStore, tenant: str, version: int, dim: int) -> None:
        self.store = store
        self.client = store.client
        self.tenant = tenant
        self.version = version
        self.dim = dim
        self.collection = collection_name(tenant, version)
        self.count = 0
        self._done = False

    def __enter__(self) -> ServerVersionWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._done:
            self.seal()

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        if self._done:
            raise RuntimeError(f"version {self.tenant}/v{self.version} is no longer being built")
        if not points:
            return
        structs: list[models.PointStruct] = []
        for p in points:
            if len(p.dense) != self.dim:
                raise ValueError(f"chunk {p.chunk_id}: dense vector has {len(p.dense)} dims, expected {self.dim}")
            vector: dict[str, Any] = {DENSE: [float(x) for x in p.dense]}
            if p.sparse.indices:
                vector[SPARSE] = models.SparseVector(indices=list(p.sparse.indices),
                                                     values=[float(x) for x in p.sparse.values])
            if p.cjk is not None and p.cjk.indices:
                vector[CJK] = models.SparseVector(indices=list(p.cjk.indices), values=[float(x) for x in p.cjk.values])
            payload = dict(p.payload)
            payload["chunk_id"] = p.chunk_id
            structs.append(models.PointStruct(id=point_id(p.chunk_id), vector=vector, payload=payload))
        self.client.upsert(self.collection, points=structs, wait=True)
        self.count += len(structs)

    def seal(self) -> None:
        if self._done:
            raise RuntimeError(f"version {self.tenant}/v{self.version} is no longer being built")
        try:
            self.store._mark_sealed(self.collection, self.dim)
        except BaseException:
            self.abort()
            raise
        self._done = True
        self.store._unregister(self.collection)
        log.info("qdrant version sealed tenant=%s version=%s points=%s", self.tenant, self.version, self.count)

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            self.client.delete_collection(self.collection)
        finally:
            self.store._unregister(self.collection)
        log.info("qdrant version build aborted tenant=%s version=%s", self.tenant, self.version)


class ServerVersionReader:
    """Queries one sealed version's collection (by its own name, not the alias)."""

    def __init__(self, store: QdrantServerStore, tenant: str, version: int) -> None:
        self.store = store
        self.client = store.client
        self.tenant = tenant
        self.version = version
        self.collection = collection_name(tenant, version)
        self.closed = False
        #: Versions built before the Han-bigram retriever have no such vector; they fuse two retrievers.
        self.has_cjk = CJK in (self.client.get_collection(self.collection).config.params.sparse_vectors or {})

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
    ) -> list[Hit]:
        if matches_nothing(flt) or limit <= 0:
            return []
        f = server_filter(flt)
        prefetch = max(prefetch, limit)
        stages = [models.Prefetch(query=list(dense), using=DENSE, filter=f, limit=prefetch)]
        w = [float(weights[0])]
        if sparse.indices and weights[1] > 0:
            stages.append(models.Prefetch(
                query=models.SparseVector(indices=list(sparse.indices), values=list(sparse.values)),
                using=SPARSE, filter=f, limit=prefetch))
            w.append(float(weights[1]))
        if cjk is not None and cjk.indices and self.has_cjk and len(weights) > 2 and weights[2] > 0:
            stages.append(models.Prefetch(
                query=models.SparseVector(indices=list(cjk.indices), values=list(cjk.values)),
                using=CJK, filter=f, limit=prefetch))
            w.append(float(weights[2]))
        if self.store.weighted_rrf is not False:
            try:
                res = self.client.query_points(
                    self.collection, prefetch=stages, query=models.RrfQuery(rrf=models.Rrf(k=rrf_k, weights=w)),
                    limit=limit, with_payload=True)
                self.store.weighted_rrf = True
                return [_hit(p) for p in res.points]
            except UnexpectedResponse as exc:
                if self.store.weighted_rrf or exc.status_code not in (400, 422):
                    raise
                self.store.weighted_rrf = False
                log.warning("qdrant server rejects weighted RRF (%s): falling back to plain RRF; "
                            "hybrid weights and rrf_k are ignored", exc.status_code)
        res = self.client.query_points(self.collection, prefetch=stages,
                                       query=models.FusionQuery(fusion=models.Fusion.RRF),
                                       limit=limit, with_payload=True)
        return [_hit(p) for p in res.points]

    def dense(self, vector: list[float], flt: SearchFilter, limit: int) -> list[Hit]:
        if matches_nothing(flt) or limit <= 0:
            return []
        res = self.client.query_points(self.collection, query=list(vector), using=DENSE,
                                       query_filter=server_filter(flt), limit=limit, with_payload=True)
        return [_hit(p) for p in res.points]

    def sparse(self, vector: SparseVec, flt: SearchFilter, limit: int, using: str = SPARSE) -> list[Hit]:
        if matches_nothing(flt) or limit <= 0 or not vector.indices or (using == CJK and not self.has_cjk):
            return []
        q = models.SparseVector(indices=list(vector.indices), values=list(vector.values))
        res = self.client.query_points(self.collection, query=q, using=using,
                                       query_filter=server_filter(flt), limit=limit, with_payload=True)
        return [_hit(p) for p in res.points]

    def get(self, chunk_ids: Sequence[str], with_vectors: bool = True) -> list[StoredPoint]:
        if not chunk_ids:
            return []
        records = self.client.retrieve(self.collection, [point_id(c) for c in chunk_ids],
                                       with_payload=True, with_vectors=with_vectors)
        by_id = {p.chunk_id: p for p in (_stored(r, with_vectors) for r in records)}
        return [by_id[c] for c in chunk_ids if c in by_id]

    def iter_points(self, with_vectors: bool = False, batch: int = 512) -> Iterator[StoredPoint]:
        offset: Any = None
        while True:
            records, offset = self.client.scroll(self.collection, scroll_filter=_NO_SENTINEL, limit=batch,
                                                 offset=offset, with_payload=True, with_vectors=with_vectors)
            for r in records:
                yield _stored(r, with_vectors)
            if offset is None or not records:
                return

    def count(self) -> int:
        return int(self.client.count(self.collection, count_filter=_NO_SENTINEL, exact=True).count)

    def close(self) -> None:
        self.closed = True  # the client is shared and owned by the store


class QdrantServerStore:
    """VectorStore on a Qdrant server/cluster (or qdrant-client local mode in tests)."""

    backend = "qdrant"

    def __init__(self, client: QdrantClient) -> None:
        self.client = client
        self.local = is_local(client)
        #: None = not tried yet, True = server takes weighted RRF, False = plain RRF fallback.
        self.weighted_rrf: bool | None = None
        self._active: set[str] = set()
        self._lock = threading.Lock()
        if self.local:
            log.info("qdrant-client local mode: payload indexes are no-ops (filters scan); test use only")

    def _unregister(self, collection: str) -> None:
        with self._lock:
            self._active.discard(collection)

    # metadata helpers
    def _metadata(self, collection: str) -> dict[str, Any] | None:
        """The collection's metadata ({} when none), or None when it does not exist."""
        if not self.client.collection_exists(collection):
            return None
        try:
            info = self.client.get_collection(collection)
        except (UnexpectedResponse, ValueError) as exc:  # deleted meanwhile
            if isinstance(exc, UnexpectedResponse) and exc.status_code != 404:
                raise
            return None
        return dict(getattr(info.config, "metadata", None) or {})

    def _is_sealed(self, collection: str) -> bool:
        meta = self._metadata(collection)
        if meta is None:
            return False
        if meta.get("sealed") is True:
            return True
        return bool(self.client.retrieve(collection, [SENTINEL_ID], with_payload=False, with_vectors=False))

    def _mark_sealed(self, collection: str, dim: int) -> None:
        self.client.update_collection(collection, metadata={"sealed": True, "sealed_at": time.time()})
        if (self._metadata(collection) or {}).get("sealed") is True:
            return
        log.warning("qdrant server kept no collection metadata: sealing %s with a sentinel point", collection)
        self.client.upsert(collection, wait=True, points=[models.PointStruct(
            id=SENTINEL_ID, vector={DENSE: [1.0] + [0.0] * (dim - 1)},
            payload={"chunk_id": "__sealed__", "__sealed__": True})])

    # building
    def create_version(self, tenant: str, version: int, dim: int) -> ServerVersionWriter:
        name = collection_name(tenant, version)
        if dim < 1:
            raise ValueError(f"invalid dim {dim}")
        if self._metadata(name) is not None:
            if self._is_sealed(name):
                raise FileExistsError(f"version {tenant}/v{version} already exists")
            log.warning("qdrant: dropping unsealed leftover collection %s", name)
            self.client.delete_collection(name)
        self.client.create_collection(
            name,
            vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF),
                                   CJK: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            metadata={"sealed": False, "tenant": tenant, "version": version, "dim": dim,
                      "builder_host": _HOST, "builder_pid": os.getpid(), "started_at": time.time()},
        )
        with self._lock:
            self._active.add(name)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*[Pp]ayload indexes have no effect.*")
                for field in KEYWORD_FIELDS:
                    self.client.create_payload_index(name, field, models.PayloadSchemaType.KEYWORD, wait=True)
                for field in RANGE_FIELDS:
                    self.client.create_payload_index(
                        name, field, models.IntegerIndexParams(type=models.IntegerIndexType.INTEGER,
                                                               lookup=True, range=True), wait=True)
        except BaseException:
            self._unregister(name)
            self.client.delete_collection(name)
            raise
        return ServerVersionWriter(self, tenant, version, dim)

    def _tenant_collections(self, tenant: str) -> dict[int, str]:
        pat = re.compile(rf"^kb_{re.escape(check_tenant(tenant))}_v(\d+)$")
        out: dict[int, str] = {}
        for c in self.client.get_collections().collections:
            m = pat.match(c.name)
            if m:
                out[int(m.group(1))] = c.name
        return out

    def cleanup_incomplete(self, tenant: str, older_than_s: float | None = None) -> list[str]:
        """Delete unsealed collections left by builds that died.

        Removed: builds started on this host whose process is gone (or that belong to this process
        but no writer uses them), and — when ``older_than_s`` is given — builds from any host
        started longer ago than that. Running builds elsewhere are left alone.
        """
        removed: list[str] = []
        now = time.time()
        for name in self._tenant_collections(tenant).values():
            meta = self._metadata(name)
            if meta is None or self._is_sealed(name):
                continue
            host, pid = meta.get("builder_host"), meta.get("builder_pid")
            with self._lock:
                active_here = name in self._active
            dead = host == _HOST and isinstance(pid, int) and (
                (pid == os.getpid() and not active_here) or (pid != os.getpid() and not pid_alive(pid)))
            stale = older_than_s is not None and now - float(meta.get("started_at") or 0) > older_than_s
            unknown = host is None and pid is None  # not ours to reason about: only by age
            if dead or (stale and not active_here) or (unknown and stale):
                self.client.delete_collection(name)
                removed.append(name)
        if removed:
            log.warning("qdrant cleanup tenant=%s removed=%s", tenant, removed)
        return removed

    # reading
    def has_version(self, tenant: str, version: int) -> bool:
        return self._is_sealed(collection_name(tenant, version))

    def open_version(self, tenant: str, version: int) -> ServerVersionReader:
        if not self.has_version(tenant, version):
            raise VersionNotFound(f"tenant {tenant!r} has no sealed version {version}")
        return ServerVersionReader(self, tenant, version)

    def list_versions(self, tenant: str) -> list[int]:
        return sorted(v for v, name in self._tenant_collections(tenant).items() if self._is_sealed(name))

    def drop_version(self, tenant: str, version: int) -> None:
        if self.live_version(tenant) == version:
            raise ValueError(f"version {tenant}/v{version} is live; publish another version first")
        name = collection_name(tenant, version)
        if self._metadata(name) is not None:
            self.client.delete_collection(name)

    # live alias
    def set_live(self, tenant: str, version: int) -> None:
        if not self.has_version(tenant, version):
            raise VersionNotFound(f"tenant {tenant!r} has no sealed version {version}")
        alias = alias_name(tenant)
        ops: list[Any] = []
        if self._alias_target(alias) is not None:
            ops.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias)))
        ops.append(models.CreateAliasOperation(create_alias=models.CreateAlias(
            collection_name=collection_name(tenant, version), alias_name=alias)))
        self.client.update_collection_aliases(change_aliases_operations=ops)
        log.info("qdrant live tenant=%s version=%s", tenant, version)

    def _alias_target(self, alias: str) -> str | None:
        for a in self.client.get_aliases().aliases:
            if a.alias_name == alias:
                return str(a.collection_name)
        return None

    def live_version(self, tenant: str) -> int | None:
        target = self._alias_target(alias_name(tenant))
        if target is None:
            return None
        m = re.match(rf"^kb_{re.escape(tenant)}_v(\d+)$", target)
        return int(m.group(1)) if m else None

    def ping(self) -> bool:
        try:
            self.client.get_collections()
        except Exception:
            return False
        return True

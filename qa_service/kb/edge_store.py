"""Qdrant Edge (``qdrant-edge-py``) store: one shard directory per KB version.

Layout under ``root``::

    {tenant}/v{n}/                  a sealed version: the shard files plus a SEALED marker
    {tenant}/.build-v{n}-{pid}-{r}/ a version being built (never opened, never listed)
    {tenant}/.drop-v{n}-{pid}-{r}/  a version being deleted
    {tenant}/LIVE                   the live version number (replaced atomically)

A version is built with ``wal_enabled=False`` in its build directory; :meth:`EdgeVersionWriter.seal`
optimizes, flushes and closes the shard, writes ``SEALED`` and renames the directory into place
(one atomic ``rename``). Sealed shards have no WAL, so several processes (API workers, the CLI)
can load and query the same version at the same time. A build killed half-way leaves only a
``.build-*`` directory, which :meth:`EdgeStore.cleanup_incomplete` removes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from qa_service.kb.types import CJK, DENSE, SPARSE, Hit, SearchFilter, SparseVec, StoredPoint, hit_from, stored_from

log = logging.getLogger(__name__)

#: Namespace of point ids: ``uuid5(NAMESPACE, chunk_id)``. Never change it (ids would move).
NAMESPACE = uuid.UUID("6f6b2a52-5d0b-4b8e-9a43-6b62c1f0a9d1")
KEYWORD_FIELDS = ("tenant", "visibility", "source_id", "chunk_id", "language", "kind")
RANGE_FIELDS = ("effective", "expiry")  # yyyymmdd ints; effective=0 unknown, expiry=99991231 none
SEALED = "SEALED"
LIVE = "LIVE"
_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_VERSION_RE = re.compile(r"^v(\d+)$")
_WORK_RE = re.compile(r"^\.(build|drop)-v(\d+)-(\d+)-[0-9a-f]+$")


class VersionNotFound(LookupError):
    """The version does not exist or is not sealed."""


def point_id(chunk_id: str) -> str:
    """The store's point id of a chunk (a UUID string; the payload keeps ``chunk_id``)."""
    return str(uuid.uuid5(NAMESPACE, chunk_id))


def check_tenant(tenant: str) -> str:
    """Tenant names become directory and collection names: keep them plain."""
    if not _TENANT_RE.match(tenant):
        raise ValueError(f"invalid tenant name {tenant!r} (letters, digits, '_' and '-', max 64)")
    return tenant


def check_version(version: int) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"invalid version {version!r} (a positive integer)")
    return version


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    _fsync_dir(path.parent)


# --------------------------------------------------------------------------- filters and points


def edge_filter(flt: SearchFilter) -> qe.Filter | None:
    """SearchFilter → Qdrant Edge filter (None when nothing restricts)."""
    must: list[Any] = []
    must_not: list[Any] = []
    if flt.visibility is not None:
        must.append(qe.FieldCondition(key="visibility", match=qe.MatchAny(list(flt.visibility))))
    if flt.valid_on is not None:
        day = float(flt.valid_on)
        must.append(qe.FieldCondition(key="effective", range=qe.RangeFloat(lte=day)))
        must.append(qe.FieldCondition(key="expiry", range=qe.RangeFloat(gte=day)))
    if flt.source_ids is not None:
        must.append(qe.FieldCondition(key="source_id", match=qe.MatchAny(list(flt.source_ids))))
    if flt.exclude_source_ids:
        must_not.append(qe.FieldCondition(key="source_id", match=qe.MatchAny(list(flt.exclude_source_ids))))
    if not must and not must_not:
        return None
    return qe.Filter(must=must or None, must_not=must_not or None)


def matches_nothing(flt: SearchFilter) -> bool:
    """An empty allow-list (``visibility=[]``, ``source_ids=[]``) admits no point."""
    return (flt.visibility is not None and not flt.visibility) or (
        flt.source_ids is not None and not flt.source_ids
    )


def _hit(point: qe.ScoredPoint) -> Hit:
    return hit_from(point.payload, point.id, point.score)


def _stored(record: qe.Record, with_vectors: bool) -> StoredPoint:
    return stored_from(record.payload, record.id, record.vector, with_vectors, qe.SparseVector)


# --------------------------------------------------------------------------- writer


class EdgeVersionWriter:
    """Builds one version in its build directory; see the module docstring."""

    def __init__(self, store: EdgeStore, tenant: str, version: int, dim: int, build_dir: Path) -> None:
        self.store = store
        self.tenant = tenant
        self.version = version
        self.dim = dim
        self.build_dir = build_dir
        self.final_dir = store.version_dir(tenant, version)
        self.count = 0
        self._done = False
        build_dir.mkdir(parents=True)
        try:
            cfg = qe.EdgeConfig(
                vectors={DENSE: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
                sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf),
                                CJK: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
                wal_enabled=False,
            )
            self._shard: qe.EdgeShard | None = qe.EdgeShard.create(str(build_dir), cfg)
            for name in KEYWORD_FIELDS:
                self._shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword))
            for name in RANGE_FIELDS:
                self._shard.update(qe.UpdateOperation.create_field_index(
                    name, qe.IntegerIndexParams(lookup=True, range=True)))
        except BaseException:
            self._shard = None
            shutil.rmtree(build_dir, ignore_errors=True)
            raise

    def __enter__(self) -> EdgeVersionWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._done:
            self.seal()

    def _require_open(self) -> qe.EdgeShard:
        if self._done or self._shard is None:
            raise RuntimeError(f"version {self.tenant}/v{self.version} is no longer being built")
        return self._shard

    def upsert(self, points: Sequence[StoredPoint]) -> None:
        shard = self._require_open()
        if not points:
            return
        batch: list[qe.Point] = []
        for p in points:
            if len(p.dense) != self.dim:
                raise ValueError(f"chunk {p.chunk_id}: dense vector has {len(p.dense)} dims, expected {self.dim}")
            vector: dict[str, qe.NamedVector] = {DENSE: [float(x) for x in p.dense]}
            if p.sparse.indices:
                vector[SPARSE] = qe.SparseVector(list(p.sparse.indices), [float(x) for x in p.sparse.values])
            if p.cjk is not None and p.cjk.indices:
                vector[CJK] = qe.SparseVector(list(p.cjk.indices), [float(x) for x in p.cjk.values])
            payload = dict(p.payload)
            payload["chunk_id"] = p.chunk_id
            batch.append(qe.Point(point_id(p.chunk_id), vector, payload))
        shard.update(qe.UpdateOperation.upsert_points(batch))
        self.count += len(batch)

    def seal(self) -> None:
        """Optimize, flush, close, mark SEALED, rename into place. Then the version is readable."""
        shard = self._require_open()
        try:
            shard.optimize()
            shard.flush()
            points = shard.count(qe.CountRequest(exact=True))
            shard.close()
            self._shard = None
            # The first load of a closed shard rewrites edge_config.json with its resolved defaults;
            # do that here, so that readers (several processes) find files they don't change.
            qe.EdgeShard.load(str(self.build_dir)).close()
            marker = {"tenant": self.tenant, "version": self.version, "dim": self.dim, "points": points,
                      "sealed_at": time.time()}
            _write_atomic(self.build_dir / SEALED, json.dumps(marker))
            if self.final_dir.exists():
                raise FileExistsError(f"version {self.tenant}/v{self.version} already exists")
            self.build_dir.rename(self.final_dir)  # atomic: the version appears complete or not at all
            _fsync_dir(self.final_dir.parent)
        except BaseException:
            self.abort()
            raise
        self._done = True
        self.store._unregister(self.build_dir)
        log.info("edge version sealed tenant=%s version=%s points=%s", self.tenant, self.version, points)

    def abort(self) -> None:
        """Discard the build (idempotent)."""
        if self._shard is not None:
            with contextlib.suppress(Exception):
                self._shard.close()
            self._shard = None
        if not self._done:
            shutil.rmtree(self.build_dir, ignore_errors=True)
            self._done = True
            self.store._unregister(self.build_dir)
            log.info("edge version build aborted tenant=%s version=%s", self.tenant, self.version)


# --------------------------------------------------------------------------- reader


def _config_has_sparse(path: Path, name: str) -> bool:
    """Whether the shard at ``path`` was created with the sparse vector ``name``."""
    try:
        cfg = json.loads((path / "edge_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return name in (cfg.get("sparse_vectors") or {})


class EdgeVersionReader:
    """Queries one sealed version (read-only use of the loaded shard)."""

    def __init__(self, tenant: str, version: int, path: Path) -> None:
        self.tenant = tenant
        self.version = version
        self.path = path
        self._shard: qe.EdgeShard | None = qe.EdgeShard.load(str(path))
        #: Versions built before the Han-bigram retriever have no such vector; they fuse two retrievers.
        self.has_cjk = _config_has_sparse(path, CJK)

    @property
    def closed(self) -> bool:
        return self._shard is None

    def _s(self) -> qe.EdgeShard:
        if self._shard is None:
            raise RuntimeError(f"reader of {self.tenant}/v{self.version} is closed")
        return self._shard

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
        """Dense, BM25 and (for Chinese) Han-bigram BM25 candidates (``prefetch`` each, all filtered)
        fused by weighted RRF; ``weights`` are (dense, bm25[, cjk]). A retriever with weight 0 or an
        empty query vector takes no part."""
        if matches_nothing(flt) or limit <= 0:
            return []
        f = edge_filter(flt)
        prefetch = max(prefetch, limit)
        stages = [qe.Prefetch(limit=prefetch, query=qe.Query.Nearest(list(dense), using=DENSE), filter=f)]
        w = [float(weights[0])]
        if sparse.indices and weights[1] > 0:  # a query of stopwords only has no BM25 side
            stages.append(qe.Prefetch(limit=prefetch, filter=f, query=qe.Query.Nearest(
                qe.SparseVector(list(sparse.indices), list(sparse.values)), using=SPARSE)))
            w.append(float(weights[1]))
        if cjk is not None and cjk.indices and self.has_cjk and len(weights) > 2 and weights[2] > 0:
            stages.append(qe.Prefetch(limit=prefetch, filter=f, query=qe.Query.Nearest(
                qe.SparseVector(list(cjk.indices), list(cjk.values)), using=CJK)))
            w.append(float(weights[2]))
        fusion: Any = qe.Fusion.Rrf(k=rrf_k, weights=w)  # the stub omits Fusion.Rrf from ScoringQueryType
        req = qe.QueryRequest(limit=limit, prefetches=stages, query=fusion, with_payload=True)
        return [_hit(p) for p in self._s().query(req)]

    def dense(self, vector: list[float], flt: SearchFilter, limit: int) -> list[Hit]:
        if matches_nothing(flt) or limit <= 0:
            return []
        req = qe.QueryRequest(limit=limit, query=qe.Query.Nearest(list(vector), using=DENSE),
                              filter=edge_filter(flt), with_payload=True)
        return [_hit(p) for p in self._s().query(req)]

    def sparse(self, vector: SparseVec, flt: SearchFilter, limit: int, using: str = SPARSE) -> list[Hit]:
        """BM25 alone (``using=CJK``: the Han-bigram BM25; nothing on versions without it)."""
        if matches_nothing(flt) or limit <= 0 or not vector.indices or (using == CJK and not self.has_cjk):
            return []
        q = qe.Query.Nearest(qe.SparseVector(list(vector.indices), list(vector.values)), using=using)
        req = qe.QueryRequest(limit=limit, query=q, filter=edge_filter(flt), with_payload=True)
        return [_hit(p) for p in self._s().query(req)]

    def get(self, chunk_ids: Sequence[str], with_vectors: bool = True) -> list[StoredPoint]:
        """The points of these chunks, in the order asked; unknown ids are skipped."""
        if not chunk_ids:
            return []
        records = self._s().retrieve([point_id(c) for c in chunk_ids], with_payload=True,
                                     with_vector=with_vectors)
        by_id = {p.chunk_id: p for p in (_stored(r, with_vectors) for r in records)}
        return [by_id[c] for c in chunk_ids if c in by_id]

    def iter_points(self, with_vectors: bool = False, batch: int = 512) -> Iterator[StoredPoint]:
        shard = self._s()
        offset: qe.PointId | None = None
        while True:
            records, offset = shard.scroll(qe.ScrollRequest(offset=offset, limit=batch, with_payload=True,
                                                            with_vector=with_vectors))
            for r in records:
                yield _stored(r, with_vectors)
            if offset is None or not records:
                return

    def count(self) -> int:
        return self._s().count(qe.CountRequest(exact=True))

    def close(self) -> None:
        if self._shard is not None:
            shard, self._shard = self._shard, None
            shard.close()


# --------------------------------------------------------------------------- store


class EdgeStore:
    """VectorStore on Qdrant Edge shard directories under ``root``."""

    backend = "edge"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._active: set[Path] = set()
        self._lock = threading.Lock()

    # paths
    def tenant_dir(self, tenant: str) -> Path:
        return self.root / check_tenant(tenant)

    def version_dir(self, tenant: str, version: int) -> Path:
        return self.tenant_dir(tenant) / f"v{check_version(version)}"

    def live_path(self, tenant: str) -> Path:
        return self.tenant_dir(tenant) / LIVE

    def _unregister(self, build_dir: Path) -> None:
        with self._lock:
            self._active.discard(build_dir)

    # building
    def create_version(self, tenant: str, version: int, dim: int) -> EdgeVersionWriter:
        if self.version_dir(tenant, version).exists():
            raise FileExistsError(f"version {tenant}/v{version} already exists")
        if dim < 1:
            raise ValueError(f"invalid dim {dim}")
        build = self.tenant_dir(tenant) / f".build-v{version}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        with self._lock:
            self._active.add(build)
        try:
            return EdgeVersionWriter(self, tenant, version, dim, build)
        except BaseException:
            self._unregister(build)
            raise

    def cleanup_incomplete(self, tenant: str) -> list[str]:
        """Remove leftovers of builds that died (SIGKILL, power loss) and of interrupted drops.

        A build directory is removed when its process is gone, or when it belongs to this process
        but no writer of this store is using it. Builds of other live processes are left alone.
        Unsealed ``v{n}`` directories (should not exist) and stale LIVE temp files go too.
        """
        tdir = self.tenant_dir(tenant)
        if not tdir.is_dir():
            return []
        removed: list[str] = []
        me = os.getpid()
        for entry in tdir.iterdir():
            m = _WORK_RE.match(entry.name)
            if m and entry.is_dir():
                pid = int(m.group(3))
                with self._lock:
                    active_here = entry in self._active
                if m.group(1) == "build" and ((pid == me and active_here) or (pid != me and pid_alive(pid))):
                    continue
                if m.group(1) == "drop" and pid != me and pid_alive(pid):
                    continue
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
            elif _VERSION_RE.match(entry.name) and entry.is_dir() and not (entry / SEALED).is_file():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
            elif entry.name.startswith(f".{LIVE}.") and entry.name.endswith(".tmp"):
                parts = entry.name.split(".")
                if len(parts) > 3 and parts[2].isdigit() and not pid_alive(int(parts[2])):
                    entry.unlink(missing_ok=True)
                    removed.append(entry.name)
        if removed:
            log.warning("edge cleanup tenant=%s removed=%s", tenant, removed)
        return removed

    # reading
    def has_version(self, tenant: str, version: int) -> bool:
        return (self.version_dir(tenant, version) / SEALED).is_file()

    def open_version(self, tenant: str, version: int) -> EdgeVersionReader:
        path = self.version_dir(tenant, version)
        if not (path / SEALED).is_file():
            raise VersionNotFound(f"tenant {tenant!r} has no sealed version {version}")
        return EdgeVersionReader(tenant, version, path)

    def list_versions(self, tenant: str) -> list[int]:
        tdir = self.tenant_dir(tenant)
        if not tdir.is_dir():
            return []
        out = []
        for entry in tdir.iterdir():
            m = _VERSION_RE.match(entry.name)
            if m and (entry / SEALED).is_file():
                out.append(int(m.group(1)))
        return sorted(out)

    def version_info(self, tenant: str, version: int) -> dict[str, Any]:
        """The SEALED marker's content (tenant, version, dim, points, sealed_at)."""
        marker = self.version_dir(tenant, version) / SEALED
        if not marker.is_file():
            raise VersionNotFound(f"tenant {tenant!r} has no sealed version {version}")
        data: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
        return data

    def drop_version(self, tenant: str, version: int) -> None:
        """Delete a version (not the live one). Readers that still have it open keep working."""
        if self.live_version(tenant) == version:
            raise ValueError(f"version {tenant}/v{version} is live; publish another version first")
        path = self.version_dir(tenant, version)
        if not path.exists():
            return
        trash = path.with_name(f".drop-v{version}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        path.rename(trash)  # atomic: the version disappears at once, then the files go
        shutil.rmtree(trash, ignore_errors=True)

    # live pointer
    def set_live(self, tenant: str, version: int) -> None:
        if not self.has_version(tenant, version):
            raise VersionNotFound(f"tenant {tenant!r} has no sealed version {version}")
        _write_atomic(self.live_path(tenant), f"{version}\n")
        log.info("edge live tenant=%s version=%s", tenant, version)

    def live_version(self, tenant: str) -> int | None:
        try:
            text = self.live_path(tenant).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else None

    def live_token(self, tenant: str) -> tuple[int, int, int] | None:
        """A cheap change detector for the LIVE pointer: (inode, mtime_ns, size) of the file."""
        try:
            st = self.live_path(tenant).stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def ping(self) -> bool:
        return self.root.is_dir() and os.access(self.root, os.W_OK)

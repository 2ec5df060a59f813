"""KB versions: allocate, choose a parent, list, diff, publish, roll back, garbage-collect, recover orphans.

The vector store holds the versions' points and the live pointer/alias; the database holds each
version's state and manifest. Publish and rollback switch the store pointer atomically first and
then record the new states; on any mismatch the store pointer is the truth (see :func:`reconcile`).
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa_service.audit.trail import record as audit
from qa_service.db.models import IngestJob, KbVersion, utcnow
from qa_service.kb.edge_store import pid_alive
from qa_service.kb.store import VectorStore
from qa_service.kb.types import MAX_VERSION

log = logging.getLogger(__name__)
PUBLISHED = ("live", "previous")


class VersionError(ValueError):
    """A version operation that cannot be done (unknown version, wrong state)."""


class VersionNotFoundError(VersionError):
    """The tenant has no such version (HTTP 404)."""


def check_number(version: int) -> int:
    """A version number the database can hold (1..MAX_VERSION), else :class:`VersionError`."""
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        raise VersionError(f"a version number is an integer from 1 to {MAX_VERSION}, not {version!r}")
    return version


def version_dict(v: KbVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "state": v.state,
        "parent": v.parent_version,
        "sources": v.source_count,
        "chunks": v.chunk_count,
        "embedding_model": v.embedding_model,
        "job_id": v.job_id,
        "created_by": v.created_by,
        "created_at": v.created_at.isoformat() if v.created_at else None,
        "published_at": v.published_at.isoformat() if v.published_at else None,
        "note": v.note,
    }


def list_versions(session: Session, tenant: str) -> list[KbVersion]:
    stmt = select(KbVersion).where(KbVersion.tenant == tenant).order_by(KbVersion.version)
    return list(session.execute(stmt).scalars())


def get_version(session: Session, tenant: str, version: int) -> KbVersion:
    row = session.execute(
        select(KbVersion).where(KbVersion.tenant == tenant, KbVersion.version == check_number(version))
    ).scalar_one_or_none()
    if row is None:
        raise VersionNotFoundError(f"tenant {tenant!r} has no version {version}")
    return row


def live_row(session: Session, tenant: str) -> KbVersion | None:
    return session.execute(
        select(KbVersion).where(KbVersion.tenant == tenant, KbVersion.state == "live")
    ).scalar_one_or_none()


def choose_parent(session: Session, store: VectorStore, tenant: str, requested: int | None = None) -> KbVersion | None:
    """The version a new job builds on: ``requested`` when given (a draft, live or previous version with a
    sealed index), else the newest draft newer than the live version, else the live version (None: first)."""
    if requested is not None:
        row = get_version(session, tenant, requested)
        if row.state not in ("draft", *PUBLISHED):
            raise VersionError(f"version {requested} is {row.state}; a parent is a draft, live or previous version")
        if not store.has_version(tenant, row.version):
            raise VersionError(f"version {requested} has no sealed index in the vector store")
        return row
    live = live_row(session, tenant)
    drafts = session.execute(
        select(KbVersion)
        .where(KbVersion.tenant == tenant, KbVersion.state == "draft",
               KbVersion.version > (live.version if live else 0))
        .order_by(KbVersion.version.desc())
    ).scalars()
    return next((d for d in drafts if store.has_version(tenant, d.version)), live)


def allocate(session: Session, tenant: str, parent: int | None, model: str, job_id: str, actor: str) -> KbVersion:
    """Create the row of a new version in state ``building``."""
    top = session.execute(select(func.max(KbVersion.version)).where(KbVersion.tenant == tenant)).scalar()
    row = KbVersion(
        tenant=tenant,
        version=(top or 0) + 1,
        state="building",
        parent_version=parent,
        job_id=job_id,
        embedding_model=model,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return row


def publish(session: Session, store: VectorStore, tenant: str, version: int, actor: str = "system") -> KbVersion:
    """Make ``version`` live: store pointer switch (atomic), then states, then audit."""
    row = get_version(session, tenant, version)
    if row.state not in ("draft", "previous", "live"):
        raise VersionError(f"version {version} is {row.state}; only draft or previous versions can be published")
    if not store.has_version(tenant, version):
        raise VersionError(f"version {version} has no sealed index in the vector store")
    current = live_row(session, tenant)
    store.set_live(tenant, version)
    if current is not None and current.id != row.id:
        current.state = "previous"
    row.state = "live"
    row.published_at = utcnow()
    audit(session, actor=actor, role="editor", tenant=tenant, action="kb.publish", target=f"v{version}",
          detail={"from": current.version if current else None})
    recheck_curated(session, store, tenant, version, actor)
    log.info("kb publish tenant=%s version=%s from=%s", tenant, version, current.version if current else None)
    return row


def rollback_target(session: Session, store: VectorStore, current: KbVersion) -> KbVersion | None:
    """The version :func:`rollback` would switch to from ``current``: the one published last before it."""
    stmt = (
        select(KbVersion)
        .where(
            KbVersion.tenant == current.tenant,
            KbVersion.state == "previous",
            KbVersion.published_at.is_not(None),
            KbVersion.published_at < (current.published_at or utcnow()),
        )
        .order_by(KbVersion.published_at.desc())
    )
    return next((c for c in session.execute(stmt).scalars() if store.has_version(current.tenant, c.version)), None)


def rollback(session: Session, store: VectorStore, tenant: str, actor: str = "system") -> KbVersion:
    """Switch back to the version that was live before the current one."""
    current = live_row(session, tenant)
    if current is None:
        raise VersionError(f"tenant {tenant!r} has no live version to roll back from")
    target = rollback_target(session, store, current)
    if target is None:
        raise VersionError(f"tenant {tenant!r} has no earlier published version to roll back to")
    store.set_live(tenant, target.version)
    current.state = "previous"
    current.note = f"rolled back to v{target.version}"
    target.state = "live"
    target.published_at = utcnow()
    audit(session, actor=actor, role="editor", tenant=tenant, action="kb.rollback",
          target=f"v{target.version}", detail={"from": current.version})
    recheck_curated(session, store, tenant, target.version, actor)
    log.info("kb rollback tenant=%s from=%s to=%s", tenant, current.version, target.version)
    return target


def publish_and_clean(session: Session, store: VectorStore, tenant: str, version: int, actor: str,
                      keep: int) -> tuple[KbVersion, list[int]]:
    """Publish ``version``, then garbage-collect: the one path of the CLI, the API and the pipeline."""
    row = publish(session, store, tenant, version, actor)
    return row, garbage_collect(session, store, tenant, keep)


def garbage_collect(session: Session, store: VectorStore, tenant: str, keep: int) -> list[int]:
    """Delete published versions beyond the ``keep`` most recently published (live included), never the
    live version nor its rollback target; delete drafts the live version already holds whole; drop the
    index of any failed or discarded version. Returns the versions deleted."""
    rows = list_versions(session, tenant)
    live = next((r for r in rows if r.state == "live"), None)
    published = sorted((r for r in rows if r.state in PUBLISHED),
                       key=lambda r: (r.published_at is not None, r.published_at or utcnow(), r.version), reverse=True)
    kept = {r.id for r in published[: max(keep, 1)]}
    if live is not None:
        kept.add(live.id)
        target = rollback_target(session, store, live)
        if target is not None:
            kept.add(target.id)
    live_items = set(dict(live.manifest or {}).items()) if live is not None else set()
    dropped: list[int] = []
    for row in rows:
        superseded = (row.state == "draft" and live is not None and row.version < live.version
                      and set(dict(row.manifest or {}).items()) <= live_items)
        if (row.state in PUBLISHED and row.id not in kept) or superseded:
            store.drop_version(tenant, row.version)
            row.note = f"deleted by gc ({'draft superseded by live' if superseded else 'older than kept'} " \
                       f"v{live.version if live else '-'})"
            row.state = "deleted"
            dropped.append(row.version)
        elif row.state in ("failed", "discarded"):
            drop_shard(store, row)
    if dropped:
        log.info("kb gc tenant=%s dropped=%s keep=%s", tenant, dropped, keep)
    return dropped


def drop_shard(store: VectorStore, row: KbVersion) -> bool:
    """Drop the sealed index of a version that must never be published (failed/discarded); never the live one."""
    if not store.has_version(row.tenant, row.version) or store.live_version(row.tenant) == row.version:
        return False
    store.drop_version(row.tenant, row.version)
    log.warning("kb dropped shard tenant=%s version=%s state=%s", row.tenant, row.version, row.state)
    return True


def discard(session: Session, store: VectorStore, tenant: str, version: int, note: str) -> KbVersion:
    """End a version that changed nothing (state ``discarded``, its index dropped): no empty draft is left."""
    row = get_version(session, tenant, version)
    row.state = "discarded"
    row.note = note[:500]
    drop_shard(store, row)
    return row


def discard_draft(session: Session, store: VectorStore, tenant: str, version: int, actor: str,
                  role: str = "editor") -> KbVersion:
    """An editor throws a draft away: state ``discarded``, its index dropped, audited ``kb.discard``. Only a
    draft can be discarded (a live or previous version is history; roll back instead)."""
    row = get_version(session, tenant, version)
    if row.state != "draft":
        raise VersionError(f"version {version} is {row.state}; only a draft can be discarded")
    discard(session, store, tenant, version, f"discarded by {actor}")
    audit(session, actor=actor, role=role, tenant=tenant, action="kb.discard", target=f"v{version}",
          detail={"sources": row.source_count, "chunks": row.chunk_count})
    log.info("kb discard tenant=%s version=%s actor=%s", tenant, version, actor)
    return row


def recover_orphans(session: Session, store: VectorStore) -> list[str]:
    """Mark jobs whose process died (e.g. SIGKILL) failed, with their unsealed drafts."""
    host = socket.gethostname()
    failed: list[str] = []
    for job in session.execute(select(IngestJob).where(IngestJob.state == "running")).scalars():
        if job.host == host and job.pid and job.pid != os.getpid() and not pid_alive(job.pid):
            job.state = "failed"
            job.finished_at = utcnow()
            job.errors = [*list(job.errors or []), {"source": None, "error": "process died mid-job (orphaned)"}]
            failed.append(job.id)
            if job.version is not None:
                row = session.execute(
                    select(KbVersion).where(KbVersion.tenant == job.tenant, KbVersion.version == job.version)
                ).scalar_one_or_none()
                if row is not None and row.state == "building":
                    row.state = "failed"
                    row.note = "ingestion process died before the job finished"
                    if drop_shard(store, row):  # killed after the seal: the index must not look publishable
                        row.note += "; its sealed index was dropped"
            cleanup = getattr(store, "cleanup_incomplete", None)
            if cleanup is not None:
                cleanup(job.tenant)
            log.warning("ingest orphan job=%s tenant=%s version=%s marked=failed", job.id, job.tenant, job.version)
    return failed


@dataclass
class Diff:
    v1: int
    v2: int
    sources: dict[str, list[str]]
    chunks: dict[str, list[str]]

    def as_dict(self, limit: int = 200) -> dict[str, Any]:
        return {
            "v1": self.v1,
            "v2": self.v2,
            "sources": {k: v[:limit] for k, v in self.sources.items()},
            "chunks": {k: v[:limit] for k, v in self.chunks.items()},
            "counts": {
                "sources": {k: len(v) for k, v in self.sources.items()},
                "chunks": {k: len(v) for k, v in self.chunks.items()},
            },
        }


def recheck_curated(session: Session, store: VectorStore, tenant: str, version: int, actor: str) -> list[str]:
    """A new live version suspends (and queues for re-review) curated answers whose cited passages it changed."""
    from qa_service.db.models import CuratedAnswer
    from qa_service.review.curated import on_publish
    from qa_service.settings import ReviewSettings

    active = session.scalar(select(func.count()).select_from(CuratedAnswer)
                            .where(CuratedAnswer.tenant == tenant, CuratedAnswer.state == "active"))
    if not active:
        return []
    return on_publish(session, _chunk_digests(store, tenant, version), tenant, version, actor, ReviewSettings())


def index_outdated(store: VectorStore, tenant: str, version: int) -> bool:
    """True when the version's index predates the Han-bigram vector, so rebuilding it is itself a change."""
    if not store.has_version(tenant, version):
        return False
    reader = store.open_version(tenant, version)
    try:
        return not reader.has_cjk
    finally:
        reader.close()


def _chunk_digests(store: VectorStore, tenant: str, version: int) -> dict[str, str]:
    reader = store.open_version(tenant, version)
    try:
        return {p.chunk_id: str(p.payload.get("digest", "")) for p in reader.iter_points(with_vectors=False)}
    finally:
        reader.close()


def diff(session: Session, store: VectorStore, tenant: str, v1: int, v2: int) -> Diff:
    """What ``v2`` changes relative to ``v1``: sources and chunks added, removed, changed."""
    a, b = get_version(session, tenant, v1), get_version(session, tenant, v2)
    for row in (a, b):
        if not store.has_version(tenant, row.version):
            raise VersionError(f"version {row.version} ({row.state}) has no index to compare")
    ma, mb = dict(a.manifest or {}), dict(b.manifest or {})
    sources = {
        "added": sorted(set(mb) - set(ma)),
        "removed": sorted(set(ma) - set(mb)),
        "changed": sorted(k for k in set(ma) & set(mb) if ma[k] != mb[k]),
    }
    ca, cb = _chunk_digests(store, tenant, v1), _chunk_digests(store, tenant, v2)
    chunks = {
        "added": sorted(set(cb) - set(ca)),
        "removed": sorted(set(ca) - set(cb)),
        "changed": sorted(k for k in set(ca) & set(cb) if ca[k] != cb[k]),
    }
    return Diff(v1, v2, sources, chunks)

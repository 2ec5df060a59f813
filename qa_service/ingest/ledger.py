"""The ledger: one row per source per tenant, updated by every job."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_service.db.models import Finding, Source, utcnow
from qa_service.ingest.discover import SourceUnit
from qa_service.ingest.prepare import PreparedSource
from qa_service.place import record_from_payload

if TYPE_CHECKING:
    from qa_service.ingest.pipeline import IngestResult


def _get(session: Session, tenant: str, source_id: str) -> Source | None:
    return session.execute(
        select(Source).where(Source.tenant == tenant, Source.source_id == source_id)
    ).scalar_one_or_none()


def update_ledger(
    session: Session,
    tenant: str,
    job_id: str,
    version: int,
    prepared: list[PreparedSource],
    kept: set[str],
    removed: list[str],
    chunk_counts: Counter[str],
    result: IngestResult,
    refused: list[tuple[SourceUnit, str]] | None = None,
    scopes: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Record processed, kept, removed and refused sources and the job's findings."""
    now = utcnow()
    for prep in prepared:
        m = prep.meta
        row = _get(session, tenant, m.source_id)
        if row is None:
            row = Source(tenant=tenant, source_id=m.source_id, first_seen=now, versions=[])
            session.add(row)
        row.path, row.url, row.doc_type, row.title = m.path, m.url, m.doc_type, m.title
        row.department, row.owner, row.language, row.visibility = m.department, m.owner, m.language, m.visibility
        row.effective_date, row.expiry_date, row.contact = m.effective_date, m.expiry_date, m.contact
        row.scope = m.scope.as_record() if m.scope is not None else None
        row.bytes, row.pages = prep.unit.size, prep.pages
        row.chunk_count = chunk_counts.get(m.source_id, 0)
        row.digest, row.state, row.last_changed, row.last_job_id = prep.unit.digest, "active", now, job_id
        row.versions = [*list(row.versions or []), version]
    for sid in kept:
        row = _get(session, tenant, sid)
        if row is not None:
            if scopes and sid in scopes:  # copied with an editor's correction of where it applies
                row.scope = record_from_payload(scopes[sid])
            row.last_job_id = job_id
            row.state = "active"
            row.versions = [*list(row.versions or []), version]
    for sid in removed:
        row = _get(session, tenant, sid)
        if row is not None:
            row.state, row.last_changed, row.last_job_id = "removed", now, job_id
    for unit, _reason in refused or []:  # recorded without any of its text
        row = _get(session, tenant, unit.source_id)
        if row is None:
            row = Source(tenant=tenant, source_id=unit.source_id, first_seen=now, versions=[], title=unit.source_id,
                         path=str(unit.path), doc_type=unit.doc_type, digest=unit.digest, bytes=unit.size)
            session.add(row)
        row.state, row.last_job_id, row.last_changed = "refused", job_id, now
    for f in result.findings:
        session.add(Finding(tenant=tenant, job_id=job_id, source_id=str(f.get("source")),
                            chunk_id=f.get("chunk_id"), digest=f.get("digest"), kind=str(f.get("kind")),
                            detail=str(f.get("detail"))[:2000]))

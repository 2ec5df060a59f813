"""The ingestion job queue in ``ingest_jobs``: enqueue, claim, heartbeat, cancel, record a stop.

States: ``queued`` → ``running`` → ``succeeded`` | ``partial`` | ``failed`` | ``cancelled`` |
``timed_out`` (a queued job can go straight to ``cancelled``). A claim takes the oldest queued job
of a tenant that has no running job (one job per tenant at a time): on PostgreSQL with
``FOR UPDATE SKIP LOCKED`` and a per-tenant advisory lock, on SQLite with one conditional UPDATE
(SQLite has a single writer, so the statement is atomic). The claiming worker holds a lease it
renews by heartbeat; a cancel request is a column the worker and the job process both read.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, aliased

from qa_service.audit.trail import record as audit
from qa_service.db.models import IngestJob, KbVersion, utcnow
from qa_service.db.session import Database
from qa_service.ingest.pipeline import JOB_END_STATES, IngestError
from qa_service.kb import versions
from qa_service.kb.store import VectorStore
from qa_service.settings import IngestSettings

log = logging.getLogger(__name__)
FINISHED = JOB_END_STATES  # no_changes too: a job that changed nothing has ended, it did not die


class JobNotFound(IngestError):
    """No such job for this tenant."""


class JobFinished(IngestError):
    """The job already ended; it cannot be cancelled."""


@dataclass(frozen=True)
class Control:
    """What a heartbeat tells the worker about its job."""

    cancel_requested: bool
    deadline_at: dt.datetime | None
    state: str


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def job_dict(j: IngestJob) -> dict[str, Any]:
    return {"job_id": j.id, "tenant": j.tenant, "state": j.state, "mode": j.mode, "version": j.version,
            "total": j.total, "done": j.done, "created_by": j.created_by, "publish": j.publish,
            "queued_at": j.queued_at.isoformat() if j.queued_at else None,
            "started_at": j.started_at.isoformat() if j.started_at else None,
            "finished_at": j.finished_at.isoformat() if j.finished_at else None,
            "deadline_at": j.deadline_at.isoformat() if j.deadline_at else None,
            "cancel_requested": j.cancel_requested_at is not None, "worker": j.worker,
            "result": j.result, "errors": j.errors}


def enqueue(session: Session, tenant: str, paths: list[Path], actor: str, publish: bool = False,
            mode: str = "add", total: int = 0, parent: int | None = None) -> IngestJob:
    """Record a queued job; a worker runs it (building on ``parent``, chosen when the job was queued)."""
    now = utcnow()
    job = IngestJob(id=uuid.uuid4().hex[:16], tenant=tenant, state="queued", mode=mode,
                    paths=[str(p) for p in paths], total=total, created_by=actor, publish=publish,
                    queued_at=now, started_at=now, parent_version=parent)
    session.add(job)
    session.flush()
    audit(session, actor=actor, role="editor", tenant=tenant, action="ingest.queued", target=job.id,
          detail={"paths": job.paths, "publish": publish, "total": total, "parent": parent})
    log.info("ingest queued job=%s tenant=%s total=%s publish=%s", job.id, tenant, total, publish)
    return job


def get_job(session: Session, tenant: str, job_id: str) -> IngestJob:
    job = session.get(IngestJob, job_id)
    if job is None or job.tenant != tenant:
        raise JobNotFound(f"tenant {tenant!r} has no ingestion job {job_id!r}")
    return job


def claim(db: Database, worker: str, limits: IngestSettings) -> str | None:
    """Take the oldest queued job of a tenant with nothing running; None when there is none."""
    now = utcnow()
    values = {"state": "running", "worker": worker, "pid": os.getpid(), "host": socket.gethostname(),
              "started_at": now, "heartbeat_at": now,
              "lease_until": now + dt.timedelta(seconds=limits.worker_lease_seconds),
              "deadline_at": now + dt.timedelta(seconds=limits.max_job_seconds)}
    running = aliased(IngestJob)
    tenant_free = ~exists().where(running.tenant == IngestJob.tenant, running.state == "running")
    with db.session() as s:
        if db.dialect == "postgresql":
            return _claim_postgres(s, tenant_free, values)
        pick = (select(IngestJob.id).where(IngestJob.state == "queued", tenant_free)
                .order_by(IngestJob.queued_at, IngestJob.id).limit(1).scalar_subquery())
        job_id = s.execute(update(IngestJob).where(IngestJob.id == pick, IngestJob.state == "queued")
                           .values(**values).returning(IngestJob.id)).scalar_one_or_none()
    if job_id:
        log.info("ingest claimed job=%s worker=%s", job_id, worker)
    return job_id


def _claim_postgres(s: Session, tenant_free: Any, values: dict[str, Any]) -> str | None:
    row = s.execute(select(IngestJob.id, IngestJob.tenant).where(IngestJob.state == "queued", tenant_free)
                    .order_by(IngestJob.queued_at, IngestJob.id).limit(1)
                    .with_for_update(skip_locked=True, of=IngestJob)).first()
    if row is None:
        return None
    job_id, tenant = row
    # claims of one tenant are serialised, so two workers never run the same tenant's jobs at once
    s.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"ingest:{tenant}"))))
    busy = s.scalar(select(func.count()).select_from(IngestJob)
                    .where(IngestJob.tenant == tenant, IngestJob.state == "running"))
    if busy:
        return None
    s.execute(update(IngestJob).where(IngestJob.id == job_id).values(**values))
    log.info("ingest claimed job=%s worker=%s", job_id, values["worker"])
    return str(job_id)


def heartbeat(db: Database, job_id: str, lease_seconds: float) -> Control:
    """Renew the lease; report a cancel request and the deadline."""
    now = utcnow()
    with db.session() as s:
        job = s.get(IngestJob, job_id)
        if job is None:
            return Control(True, None, "missing")
        if job.state == "running":
            job.heartbeat_at = now
            job.lease_until = now + dt.timedelta(seconds=lease_seconds)
        return Control(job.cancel_requested_at is not None, job.deadline_at, job.state)


def request_cancel(session: Session, tenant: str, job_id: str, actor: str) -> IngestJob:
    """Cancel a queued job now; ask the worker to stop a running one (it is stopped within seconds)."""
    job = get_job(session, tenant, job_id)
    now = utcnow()
    took = session.execute(
        update(IngestJob).where(IngestJob.id == job_id, IngestJob.state == "queued")
        .values(state="cancelled", finished_at=now, cancel_requested_at=now, cancel_requested_by=actor,
                errors=[{"source": None, "error": f"cancelled by {actor} before it started"}])
        .returning(IngestJob.id)
    ).scalar_one_or_none()
    session.refresh(job)
    if not took:
        if job.state in FINISHED:
            raise JobFinished(f"job {job_id} already ended ({job.state}); nothing to cancel")
        if job.cancel_requested_at is None:
            job.cancel_requested_at, job.cancel_requested_by = now, actor
    audit(session, actor=actor, role="editor", tenant=tenant, action="ingest.cancel", target=job_id,
          decision=job.state)
    log.info("ingest cancel job=%s tenant=%s state=%s by=%s", job_id, tenant, job.state, actor)
    return job


def cancel_message(session: Session, job_id: str) -> str:
    job = session.get(IngestJob, job_id)
    who = job.cancel_requested_by if job is not None else None
    return f"cancelled by {who or 'an editor'}"


def record_stop(db: Database, store: VectorStore, job_id: str, state: str, message: str) -> None:
    """After the job's process was killed (or died): discard its draft, then record why it ended.

    One transaction sets the job's end state and fails its draft (a version sealed just before the kill is dropped
    too, so nothing of the job remains publishable); nobody sees the job as anything in between (before, an observer
    could read it as ``failed``/"orphaned" for a moment before it became ``timed_out``). Then the store's unfinished
    builds of the tenant are cleaned and other jobs whose process died are recovered.
    """
    with db.session() as s:
        job = s.get(IngestJob, job_id)
        if job is None:
            return
        tenant = job.tenant
        if job.version is not None:
            row = s.execute(select(KbVersion).where(KbVersion.tenant == job.tenant,
                                                    KbVersion.version == job.version)).scalar_one_or_none()
            if row is not None and row.state in ("building", "failed", "draft"):
                if store.has_version(job.tenant, job.version):
                    store.drop_version(job.tenant, job.version)
                row.state = "failed"
                row.note = message[:500]
        job.state = state
        job.finished_at = job.finished_at or utcnow()
        job.lease_until = None
        job.errors = [*list(job.errors or []), {"source": None, "error": message}]
        audit(s, actor="system", role="system", tenant=job.tenant, action=f"ingest.{state}", target=job_id,
              detail={"error": message[:500]})
    cleanup = getattr(store, "cleanup_incomplete", None)
    if cleanup is not None:
        cleanup(tenant)
    with db.session() as s:
        versions.recover_orphans(s, store)
    log.warning("ingest stopped job=%s state=%s reason=%s", job_id, state, message)


def recover_lost(db: Database, store: VectorStore, limits: IngestSettings) -> list[str]:
    """Fail jobs whose worker stopped renewing its lease (a dead worker on another host; on this host
    ``recover_orphans`` sees the dead process), so the tenant's queue moves on."""
    with db.session() as s:
        versions.recover_orphans(s, store)
    cutoff = utcnow()
    with db.session() as s:
        lost = list(s.scalars(select(IngestJob.id).where(
            IngestJob.state == "running", IngestJob.lease_until.is_not(None), IngestJob.lease_until < cutoff,
            IngestJob.host != socket.gethostname())))
    for job_id in lost:
        record_stop(db, store, job_id, "failed",
                    f"the worker stopped renewing its lease for {limits.worker_lease_seconds:g} s (worker lost)")
    return lost

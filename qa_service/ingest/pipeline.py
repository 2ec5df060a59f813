"""Ingestion: loaders → normalise → scan → chunk → diff by digest against the parent version →
embed only new/changed chunks → write the new version (unchanged chunks copied with their
vectors) → ledger → draft version → (publish).

One bad source fails only itself. The live version is never touched until publish; a process
killed mid-job leaves an unsealed build that the next start discards (see kb.versions).
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select

from qa_service.audit.trail import record as audit
from qa_service.db.models import ChunkApproval, IngestJob, Source, utcnow
from qa_service.ingest.build import VersionBuilder
from qa_service.ingest.discover import SourceUnit, count_units, discover
from qa_service.ingest.ledger import update_ledger
from qa_service.ingest.loaders import LoaderError, NotFaqSheet, iter_corpus
from qa_service.ingest.prepare import PreparedSource, SourceRefused, prepare_source
from qa_service.kb import versions
from qa_service.services import Services

log = logging.getLogger(__name__)
Mode = Literal["add", "sync"]
Progress = Callable[[int, int, str], None]
TENANT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class IngestError(ValueError):
    """The job cannot start (bad tenant, missing path)."""


class JobStopped(IngestError):
    """The job was stopped between sources: cancelled, or past its run-time limit (``reason``)."""

    def __init__(self, message: str, reason: str = "cancelled") -> None:
        super().__init__(message)
        self.reason = reason  # cancelled | timed_out


@dataclass
class IngestResult:
    job_id: str
    tenant: str
    version: int | None
    state: str  # succeeded | partial | no_changes | failed
    published: bool = False
    parent: int | None = None
    note: str = ""
    sources: dict[str, int] = field(default_factory=dict)
    chunks: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    errors: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "tenant": self.tenant,
            "version": self.version,
            "state": self.state,
            "published": self.published,
            "parent": self.parent,
            "note": self.note,
            "sources": self.sources,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
            "findings": self.findings[:200],
        }


def validate_tenant(tenant: str) -> str:
    if not TENANT_RE.match(tenant):
        raise IngestError(f"tenant {tenant!r} must be 1-64 chars of a-z, 0-9, '_' or '-'")
    return tenant


def run_ingest(
    services: Services,
    paths: list[Path],
    tenant: str,
    mode: Mode = "add",
    publish: bool = False,
    actor: str = "cli",
    progress: Progress | None = None,
    job_id: str | None = None,
    stop: Callable[[], JobStopped | None] | None = None,
    parent: int | None = None,
) -> IngestResult:
    """Run one ingestion job end to end and return its summary.

    ``job_id`` names a queued job row to run (a worker's); else a new row is made. Between sources
    the job stops (JobStopped, draft discarded) when ``stop`` returns a reason or the run-time limit
    ``ingest.max_job_seconds`` has passed.

    The new version builds on ``parent`` when given, else on the newest draft newer than the live version,
    else on the live version (:func:`versions.choose_parent`). A job that changes nothing relative to its
    parent (every source unchanged or failed) creates no draft: it ends ``no_changes`` or ``failed``.
    """
    validate_tenant(tenant)
    if mode not in ("add", "sync"):
        raise IngestError(f"mode must be 'add' or 'sync', not {mode!r}")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise IngestError(f"path not found: {', '.join(missing)}")
    started = time.perf_counter()
    store, db = services.store, services.db
    model_id = services.dense.model_id
    with db.session() as s:
        versions.recover_orphans(s, store)
    job_id = job_id or uuid.uuid4().hex[:16]
    deadline = started + services.settings.ingest.max_job_seconds
    total = count_units(paths)
    with db.session() as s:
        base = versions.choose_parent(s, store, tenant, parent)
        parent = base.version if base else None
        parent_model = base.embedding_model if base else None
        parent_manifest = dict(base.manifest or {}) if base else {}
        job = _job_row(s, job_id, tenant, mode, paths, total, actor)
        row = versions.allocate(s, tenant, parent, model_id, job_id, actor)
        job.version = row.version
        version = row.version
        approved = {
            a.digest for a in s.execute(
                select(ChunkApproval).where(ChunkApproval.tenant == tenant, ChunkApproval.decision == "approved")
            ).scalars()
        }
        force = set(s.execute(
            select(Source.source_id).where(Source.tenant == tenant, Source.digest == "reprocess")
        ).scalars())
        audit(s, actor=actor, role="editor", tenant=tenant, action="ingest.start", target=job_id,
              detail={"paths": [str(p) for p in paths], "mode": mode, "version": version})
    log.info("ingest start job=%s tenant=%s version=%s parent=%s total=%s mode=%s",
             job_id, tenant, version, parent, total, mode)
    result = IngestResult(job_id=job_id, tenant=tenant, version=version, state="running", parent=parent)
    counts = dict.fromkeys(("added", "updated", "unchanged", "removed", "refused", "failed", "skipped"), 0)
    builder = VersionBuilder(services, tenant, version, parent,
                             reuse_vectors=(parent_model == model_id))
    prepared: list[PreparedSource] = []
    compare = {k: v for k, v in parent_manifest.items() if k not in force}  # approved flags force reprocessing
    unchanged_ids: set[str] = set()
    seen: set[str] = set()
    done = 0
    try:
        for unit in discover(paths, iter_corpus, services.settings.ingest):
            _check_stop(stop, deadline, services.settings.ingest.max_job_seconds)
            done += 1
            if progress:
                progress(done, total, unit.source_id)
            if unit.source_id in seen:
                result.errors.append({"source": unit.source_id, "error": "duplicate source id in this job"})
                counts["failed"] += 1
                continue
            seen.add(unit.source_id)
            outcome = _one_source(services, unit, tenant, compare, parent_model == model_id,
                                  approved, builder, result)
            if outcome == "unchanged":
                unchanged_ids.add(unit.source_id)
            elif isinstance(outcome, PreparedSource):
                prepared.append(outcome)
                counts["updated" if unit.source_id in parent_manifest else "added"] += 1
                continue
            counts[outcome if outcome != "failed_keep" else "failed"] += 1
            if outcome == "failed_keep":
                unchanged_ids.add(unit.source_id)
            if done % 200 == 0:
                _save_progress(services, job_id, done)
        if mode == "add":
            keep = unchanged_ids | (set(parent_manifest) - seen)
        else:
            keep = set(unchanged_ids)
            counts["removed"] = len(set(parent_manifest) - seen)
        builder.flush()
        builder.copy_sources(keep)
        _check_stop(stop, deadline, services.settings.ingest.max_job_seconds)  # a cancel during the last batch
        builder.seal()
    except BaseException as exc:
        builder.abort()
        _fail_job(services, job_id, tenant, version, f"{type(exc).__name__}: {exc}")
        raise
    chunk_counts = builder.chunk_counts
    manifest = {sid: parent_manifest[sid] for sid in keep if sid in parent_manifest}
    manifest.update({p.unit.source_id: p.unit.digest for p in prepared if p.chunks_written > 0 or p.flagged})
    removed_ids = sorted(set(parent_manifest) - seen) if mode == "sync" else []
    result.sources = counts
    result.chunks = {"embedded": builder.embedded, "reused": builder.reused, "copied": builder.copied,
                     "reembedded": builder.reembedded, "flagged": sum(len(p.flagged) for p in prepared)}
    try:
        changed = (manifest != parent_manifest or any(p.chunks_written > 0 or p.flagged for p in prepared)
                   or (parent is not None and versions.index_outdated(store, tenant, parent))
                   or (parent is not None and parent_model != model_id and builder.total_points > 0))
        if changed:
            state = "succeeded" if counts["failed"] == 0 else "partial"
        else:
            state = "failed" if counts["failed"] else "no_changes"
            base_name = f"v{parent}" if parent is not None else "an empty knowledge base"
            result.note = (f"every source failed; no draft created (based on {base_name})" if counts["failed"]
                           else f"no changes relative to {base_name}; no draft created")
        with db.session() as s:
            if changed:
                row = versions.get_version(s, tenant, version)
                row.state = "draft"
                row.manifest = manifest
                row.source_count = len(manifest)
                row.chunk_count = builder.total_points
                update_ledger(s, tenant, job_id, version, prepared, keep, removed_ids, chunk_counts, result,
                              builder.refusals)
            else:  # the allocated number stays as a record; its index goes
                versions.discard(s, store, tenant, version, result.note)
                update_ledger(s, tenant, job_id, version, [], set(), [], chunk_counts, result, builder.refusals)
                result.version = None
            done_job = s.get(IngestJob, job_id)
            if done_job is None:
                raise IngestError(f"job {job_id} vanished from the database")
            done_job.state = state
            done_job.done = done
            done_job.finished_at = utcnow()
            done_job.errors = result.errors
            audit(s, actor=actor, role="editor", tenant=tenant, action="ingest.finish", target=job_id,
                  decision=state, detail={"version": result.version, "parent": parent, "sources": counts,
                                          "chunks": result.chunks})
            if publish and changed:
                versions.publish_and_clean(s, store, tenant, version, actor, services.settings.store.keep_versions)
                result.published = True
            result.seconds = time.perf_counter() - started
            result.state = state
            done_job.result = result.as_dict()
    except BaseException as exc:  # the shard is sealed: record the failure and drop it, or it looks publishable
        _fail_job(services, job_id, tenant, version, f"{type(exc).__name__}: {exc}")
        with db.session() as s:
            versions.drop_shard(store, versions.get_version(s, tenant, version))
        raise
    log.info("ingest done job=%s tenant=%s version=%s parent=%s state=%s sources=%s chunks=%s seconds=%.1f",
             job_id, tenant, result.version, parent, state, counts, result.chunks, result.seconds)
    return result


def _one_source(
    services: Services,
    unit: SourceUnit,
    tenant: str,
    parent_manifest: dict[str, str],
    same_model: bool,
    approved: set[str],
    builder: VersionBuilder,
    result: IngestResult,
) -> str | PreparedSource:
    """Decide and process one source; returns its outcome or the prepared source."""
    if unit.error:
        result.errors.append({"source": unit.source_id, "error": unit.error})
        return unit.error_outcome
    if same_model and parent_manifest.get(unit.source_id) == unit.digest:
        return "unchanged"
    try:
        prep = prepare_source(unit, tenant, services.settings, approved)
    except NotFaqSheet as exc:
        result.findings.append({"source": unit.source_id, "kind": "skipped", "detail": str(exc)})
        return "skipped"
    except SourceRefused as exc:
        result.findings.append({"source": unit.source_id, "kind": "classified", "detail": str(exc)})
        builder.record_refusal(unit, str(exc))
        return "refused"
    except (LoaderError, OSError, ValueError) as exc:
        log.warning("ingest source failed source=%s error=%s", unit.source_id, exc)
        result.errors.append({"source": unit.source_id, "error": str(exc)})
        return "failed_keep" if unit.source_id in parent_manifest else "failed"
    except Exception as exc:  # a loader bug must fail only this source, never the job
        log.exception("ingest source crashed source=%s", unit.source_id)
        result.errors.append({"source": unit.source_id, "error": f"{type(exc).__name__}: {exc}"})
        return "failed_keep" if unit.source_id in parent_manifest else "failed"
    for f in prep.findings:
        result.findings.append({"source": unit.source_id, **f})
    builder.add(prep)
    return prep


def _job_row(s: Any, job_id: str, tenant: str, mode: str, paths: list[Path], total: int, actor: str) -> IngestJob:
    """The job's row, marked running in this process: the queued one a worker claimed, or a new one."""
    job = s.get(IngestJob, job_id)
    if job is None:
        job = IngestJob(id=job_id, tenant=tenant, mode=mode, paths=[str(p) for p in paths], created_by=actor)
        s.add(job)
    job.state, job.total, job.pid, job.host = "running", total, os.getpid(), socket.gethostname()
    s.flush()
    return job


def _check_stop(stop: Callable[[], JobStopped | None] | None, deadline: float, limit: float) -> None:
    if time.perf_counter() > deadline:
        raise JobStopped(f"stopped: the job ran past its run-time limit of {limit:g} s (ingest.max_job_seconds)",
                         "timed_out")
    stopped = stop() if stop is not None else None
    if stopped is not None:
        raise stopped


def _save_progress(services: Services, job_id: str, done: int) -> None:
    with services.db.session() as s:
        job = s.get(IngestJob, job_id)
        if job is not None:
            job.done = done


def _fail_job(services: Services, job_id: str, tenant: str, version: int, error: str) -> None:
    try:
        with services.db.session() as s:
            job = s.get(IngestJob, job_id)
            if job is not None:
                job.state = "failed"
                job.finished_at = utcnow()
                job.errors = [*list(job.errors or []), {"source": None, "error": error}]
            row = versions.get_version(s, tenant, version)
            row.state = "failed"
            row.note = error[:500]
            audit(s, actor="system", role="system", tenant=tenant, action="ingest.failed", target=job_id,
                  detail={"error": error[:500]})
    except Exception:
        log.exception("ingest could not record failure job=%s", job_id)
        raise

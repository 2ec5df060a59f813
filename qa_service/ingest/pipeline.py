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
from qa_service.ingest.outcomes import JOB_END_STATES, Phase, SourceOutcome
from qa_service.ingest.prepare import PreparedSource, SourceRefused, prepare_source
from qa_service.kb import versions
from qa_service.services import Services

log = logging.getLogger(__name__)
__all__ = ["JOB_END_STATES", "IngestJobRun", "IngestResult", "Phase", "SourceOutcome", "run_ingest"]
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
    """Run one ingestion job end to end and return its summary (:class:`IngestJobRun`).

    ``job_id`` names a queued job row to run (a worker's); else a new row is made. Between sources
    the job stops (JobStopped, draft discarded) when ``stop`` returns a reason or the run-time limit
    ``ingest.max_job_seconds`` has passed.

    The new version builds on ``parent`` when given, else on the newest draft newer than the live version,
    else on the live version (:func:`versions.choose_parent`). A job that changes nothing relative to its
    parent (every source unchanged or failed) creates no draft: it ends ``no_changes`` or ``failed``.
    """
    return IngestJobRun(services, paths, tenant, mode, publish=publish, actor=actor, progress=progress,
                        job_id=job_id, stop=stop, parent=parent).run()


class IngestJobRun:
    """One ingestion job: its phases in order over the state they share."""

    def __init__(self, services: Services, paths: list[Path], tenant: str, mode: Mode = "add", *,
                 publish: bool = False, actor: str = "cli", progress: Progress | None = None,
                 job_id: str | None = None, stop: Callable[[], JobStopped | None] | None = None,
                 parent: int | None = None) -> None:
        validate_tenant(tenant)
        if mode not in ("add", "sync"):
            raise IngestError(f"mode must be 'add' or 'sync', not {mode!r}")
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise IngestError(f"path not found: {', '.join(missing)}")
        self.services, self.paths, self.tenant, self.mode = services, paths, tenant, mode
        self.publish, self.actor, self.progress, self.stop = publish, actor, progress, stop
        self.job_id = job_id or uuid.uuid4().hex[:16]
        self.parent = parent
        self.phase = Phase.START
        self.limit = services.settings.ingest.max_job_seconds
        self.counts: dict[str, int] = {o.counted_as: 0 for o in SourceOutcome}
        self.prepared: list[PreparedSource] = []
        self.unchanged: set[str] = set()
        self.seen: set[str] = set()
        self.done = 0

    def run(self) -> IngestResult:
        self.started = time.perf_counter()
        self.deadline = self.started + self.limit
        self._start()
        try:
            self.phase = Phase.SOURCES
            self._sources()
            self.phase = Phase.BUILD
            keep = self._build()
        except BaseException as exc:
            self.builder.abort()
            self._fail(exc)
            raise
        try:
            self.phase = Phase.RECORD
            self._record(keep)
        except BaseException as exc:  # the shard is sealed: record the failure and drop it, or it looks publishable
            self._fail(exc)
            with self.services.db.session() as s:
                versions.drop_shard(self.services.store, versions.get_version(s, self.tenant, self.version))
            raise
        self.phase = Phase.DONE
        r = self.result
        log.info("ingest done job=%s tenant=%s version=%s parent=%s state=%s sources=%s chunks=%s seconds=%.1f",
                 self.job_id, self.tenant, r.version, self.parent, r.state, self.counts, r.chunks, r.seconds)
        return r

    def _fail(self, exc: BaseException) -> None:
        """Record how the job ended: a stop (cancelled, timed out) as itself, anything else as failed in its
        phase. Recording a stop as ``failed`` first would let a worker that reads the row in between take the
        interim state for the end."""
        state = exc.reason if isinstance(exc, JobStopped) else "failed"
        _fail_job(self.services, self.job_id, self.tenant, self.version, f"{type(exc).__name__}: {exc}", state,
                  self.phase)

    def _start(self) -> None:
        services, tenant = self.services, self.tenant
        store, db = services.store, services.db
        self.model_id = services.dense.model_id
        with db.session() as s:
            versions.recover_orphans(s, store)
        self.total = count_units(self.paths)
        with db.session() as s:
            base = versions.choose_parent(s, store, tenant, self.parent)
            self.parent = base.version if base else None
            self.parent_model = base.embedding_model if base else None
            self.parent_manifest: dict[str, str] = dict(base.manifest or {}) if base else {}
            job = _job_row(s, self.job_id, tenant, self.mode, self.paths, self.total, self.actor)
            row = versions.allocate(s, tenant, self.parent, self.model_id, self.job_id, self.actor)
            job.version = row.version
            self.version: int = row.version
            self.approved = {
                a.digest for a in s.execute(
                    select(ChunkApproval).where(ChunkApproval.tenant == tenant, ChunkApproval.decision == "approved")
                ).scalars()
            }
            self.force = set(s.execute(
                select(Source.source_id).where(Source.tenant == tenant, Source.digest == "reprocess")
            ).scalars())
            # an editor's correction of where a source applies: a catalog patch kept in the ledger (issue 22)
            self.overrides: dict[str, dict[str, Any]] = {
                sid: dict(o) for sid, o in s.execute(select(Source.source_id, Source.scope_override).where(
                    Source.tenant == tenant, Source.scope_override.is_not(None))).tuples() if o}
            audit(s, actor=self.actor, role="editor", tenant=tenant, action="ingest.start", target=self.job_id,
                  detail={"paths": [str(p) for p in self.paths], "mode": self.mode, "version": self.version})
        log.info("ingest start job=%s tenant=%s version=%s parent=%s total=%s mode=%s",
                 self.job_id, tenant, self.version, self.parent, self.total, self.mode)
        self.result = IngestResult(job_id=self.job_id, tenant=tenant, version=self.version, state="running",
                                   parent=self.parent)
        self.builder = VersionBuilder(services, tenant, self.version, self.parent,
                                      reuse_vectors=(self.parent_model == self.model_id),
                                      scope_overrides=self.overrides)

    def _sources(self) -> None:
        compare = {k: v for k, v in self.parent_manifest.items() if k not in self.force}  # approved flags reprocess
        for unit in discover(self.paths, iter_corpus, self.services.settings.ingest):
            _check_stop(self.stop, self.deadline, self.limit)
            self.done += 1
            if self.progress:
                self.progress(self.done, self.total, unit.source_id)
            if unit.source_id in self.seen:
                self.result.errors.append({"source": unit.source_id, "error": "duplicate source id in this job"})
                self.counts[SourceOutcome.FAILED] += 1
                continue
            self.seen.add(unit.source_id)
            if unit.source_id in self.overrides:
                unit.meta = {**unit.meta, **self.overrides[unit.source_id]}
            outcome, prep = _one_source(self.services, unit, self.tenant, compare,
                                        self.parent_model == self.model_id, self.approved, self.builder, self.result)
            if prep is not None:
                self.prepared.append(prep)
                outcome = SourceOutcome.UPDATED if unit.source_id in self.parent_manifest else SourceOutcome.ADDED
                self.counts[outcome.counted_as] += 1
                continue
            self.counts[outcome.counted_as] += 1
            if outcome in (SourceOutcome.UNCHANGED, SourceOutcome.FAILED_KEEP):
                self.unchanged.add(unit.source_id)  # its previous chunks stay
            if self.done % 200 == 0:
                _save_progress(self.services, self.job_id, self.done)

    def _build(self) -> set[str]:
        """Copy what is kept from the parent and seal the version; returns the kept source ids."""
        gone = set(self.parent_manifest) - self.seen
        if self.mode == "add":
            keep = self.unchanged | gone
        else:
            keep = set(self.unchanged)
            self.counts[SourceOutcome.REMOVED] = len(gone)
        self.builder.flush()
        self.builder.copy_sources(keep)
        _check_stop(self.stop, self.deadline, self.limit)  # a cancel during the last batch
        self.builder.seal()
        return keep

    def _record(self, keep: set[str]) -> None:
        services, tenant, version, parent = self.services, self.tenant, self.version, self.parent
        store, builder, result, counts = services.store, self.builder, self.result, self.counts
        parent_manifest, prepared = self.parent_manifest, self.prepared
        parent_model, model_id = self.parent_model, self.model_id
        manifest = {sid: parent_manifest[sid] for sid in keep if sid in parent_manifest}
        manifest.update({p.unit.source_id: p.unit.digest for p in prepared if p.chunks_written > 0 or p.flagged})
        removed_ids = sorted(set(parent_manifest) - self.seen) if self.mode == "sync" else []
        result.sources = counts
        result.chunks = {"embedded": builder.embedded, "reused": builder.reused, "copied": builder.copied,
                         "reembedded": builder.reembedded, "flagged": sum(len(p.flagged) for p in prepared)}
        changed = (manifest != parent_manifest or any(p.chunks_written > 0 or p.flagged for p in prepared)
                   or bool(builder.patched)  # an editor's correction of where a copied source applies
                   or (parent is not None and versions.index_outdated(store, tenant, parent))
                   or (parent is not None and parent_model != model_id and builder.total_points > 0))
        if changed:
            state = "succeeded" if counts["failed"] == 0 else "partial"
        else:
            state = "failed" if counts["failed"] else "no_changes"
            base_name = f"v{parent}" if parent is not None else "an empty knowledge base"
            result.note = (f"every source failed; no draft created (based on {base_name})" if counts["failed"]
                           else f"no changes relative to {base_name}; no draft created")
        with services.db.session() as s:
            if changed:
                row = versions.get_version(s, tenant, version)
                row.state = "draft"
                row.manifest = manifest
                row.source_count = len(manifest)
                row.chunk_count = builder.total_points
                update_ledger(s, tenant, self.job_id, version, prepared, keep, removed_ids, builder.chunk_counts,
                              result, builder.refusals, scopes=builder.patched)
            else:  # the allocated number stays as a record; its index goes
                versions.discard(s, store, tenant, version, result.note)
                update_ledger(s, tenant, self.job_id, version, [], set(), [], builder.chunk_counts, result,
                              builder.refusals)
                result.version = None
            done_job = s.get(IngestJob, self.job_id)
            if done_job is None:
                raise IngestError(f"job {self.job_id} vanished from the database")
            done_job.state = state
            done_job.done = self.done
            done_job.finished_at = utcnow()
            done_job.errors = result.errors
            audit(s, actor=self.actor, role="editor", tenant=tenant, action="ingest.finish", target=self.job_id,
                  decision=state, detail={"version": result.version, "parent": parent, "sources": counts,
                                          "chunks": result.chunks})
            if self.publish and changed:
                self.phase = Phase.PUBLISH
                versions.publish_and_clean(s, store, tenant, version, self.actor,
                                           services.settings.store.keep_versions)
                result.published = True
            result.seconds = time.perf_counter() - self.started
            result.state = state
            done_job.result = result.as_dict()


def _one_source(
    services: Services,
    unit: SourceUnit,
    tenant: str,
    parent_manifest: dict[str, str],
    same_model: bool,
    approved: set[str],
    builder: VersionBuilder,
    result: IngestResult,
) -> tuple[SourceOutcome, PreparedSource | None]:
    """Decide and process one source: its outcome, and the prepared source when it was (re)built."""
    if unit.error:
        result.errors.append({"source": unit.source_id, "error": unit.error})
        return SourceOutcome(unit.error_outcome), None
    if same_model and parent_manifest.get(unit.source_id) == unit.digest:
        return SourceOutcome.UNCHANGED, None
    failed = SourceOutcome.FAILED_KEEP if unit.source_id in parent_manifest else SourceOutcome.FAILED
    try:
        prep = prepare_source(unit, tenant, services.settings, approved)
    except NotFaqSheet as exc:
        result.findings.append({"source": unit.source_id, "kind": "skipped", "detail": str(exc)})
        return SourceOutcome.SKIPPED, None
    except SourceRefused as exc:
        result.findings.append({"source": unit.source_id, "kind": "classified", "detail": str(exc)})
        builder.record_refusal(unit, str(exc))
        return SourceOutcome.REFUSED, None
    except (LoaderError, OSError, ValueError) as exc:
        log.warning("ingest source failed source=%s error=%s", unit.source_id, exc)
        result.errors.append({"source": unit.source_id, "error": str(exc)})
        return failed, None
    except Exception as exc:  # a loader bug must fail only this source, never the job
        log.exception("ingest source crashed source=%s", unit.source_id)
        result.errors.append({"source": unit.source_id, "error": f"{type(exc).__name__}: {exc}"})
        return failed, None
    for f in prep.findings:
        result.findings.append({"source": unit.source_id, **f})
    builder.add(prep)
    return SourceOutcome.ADDED, prep


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


def _fail_job(services: Services, job_id: str, tenant: str, version: int, error: str, state: str = "failed",
              phase: Phase | None = None) -> None:
    try:
        with services.db.session() as s:
            job = s.get(IngestJob, job_id)
            if job is not None:
                job.state = state
                job.finished_at = utcnow()
                job.errors = [*list(job.errors or []), {"source": None, "error": error}]
            row = versions.get_version(s, tenant, version)
            row.state = "failed"
            row.note = error[:500]
            audit(s, actor="system", role="system", tenant=tenant, action="ingest.failed", target=job_id,
                  detail={"error": error[:500], "state": state, "phase": phase.value if phase else None})
    except Exception:
        log.exception("ingest could not record failure job=%s", job_id)
        raise

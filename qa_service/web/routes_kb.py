"""Editors: ingestion jobs (upload, progress), versions, diff, publish, rollback. All audited."""

from __future__ import annotations

import logging
import re
import shutil
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi import Path as PathParam
from sqlalchemy import select

from qa_service.db.models import IngestJob
from qa_service.errors import USER_ERRORS
from qa_service.ingest import jobs as job_queue
from qa_service.kb import versions
from qa_service.users.accounts import Identity
from qa_service.web.auth import require
from qa_service.web.upload_catalog import UploadMetaError, parse_form, write_catalog

router = APIRouter(tags=["knowledge base"])
log = logging.getLogger(__name__)
SAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff]+")
_RANGE = f"a KB version number, 1 to {versions.MAX_VERSION}"
VersionPath = Annotated[int, PathParam(ge=1, le=versions.MAX_VERSION, description=_RANGE)]
VersionQuery = Annotated[int, Query(ge=1, le=versions.MAX_VERSION, description=_RANGE)]
ParentForm = Annotated[int | None, Form(ge=1, le=versions.MAX_VERSION,
                                        description=f"{_RANGE}; default: the newest draft newer than live, "
                                                    "else the live version")]


def _services(request: Request) -> Any:
    return request.app.state.services


def _http_error(exc: Exception) -> HTTPException:
    """Unknown version → 404; any other refused operation (wrong state, no index) → 409."""
    return HTTPException(status_code=404 if isinstance(exc, versions.VersionNotFoundError) else 409,
                         detail=str(exc))



@router.get("/kb/{tenant}/versions")
def list_versions(tenant: str, request: Request, who: Identity = Depends(require("kb"))) -> Any:
    services = _services(request)
    with services.db.session() as s:
        versions.recover_orphans(s, services.store)
        return [versions.version_dict(v) for v in versions.list_versions(s, tenant)]


@router.get("/kb/{tenant}/diff")
def diff(tenant: str, v1: VersionQuery, v2: VersionQuery, request: Request,
         who: Identity = Depends(require("kb"))) -> Any:
    services = _services(request)
    try:
        with services.db.session() as s:
            return versions.diff(s, services.store, tenant, v1, v2).as_dict()
    except USER_ERRORS as exc:
        raise _http_error(exc) from exc


@router.post("/kb/{tenant}/versions/{version}/publish")
def publish(tenant: str, version: VersionPath, request: Request, who: Identity = Depends(require("kb"))) -> Any:
    services = _services(request)
    try:
        with services.db.session() as s:
            row, _ = versions.publish_and_clean(s, services.store, tenant, version, who.name,
                                                services.settings.store.keep_versions)
            return versions.version_dict(row)
    except USER_ERRORS as exc:
        raise _http_error(exc) from exc


@router.post("/kb/{tenant}/rollback")
def rollback(tenant: str, request: Request, who: Identity = Depends(require("kb"))) -> Any:
    services = _services(request)
    try:
        with services.db.session() as s:
            return versions.version_dict(versions.rollback(s, services.store, tenant, who.name))
    except USER_ERRORS as exc:
        raise _http_error(exc) from exc


@router.get("/kb/{tenant}/jobs")
def jobs(tenant: str, request: Request, who: Identity = Depends(require("kb"))) -> Any:
    with _services(request).db.session() as s:
        rows = s.scalars(select(IngestJob).where(IngestJob.tenant == tenant)
                         .order_by(IngestJob.started_at.desc()).limit(20))
        return [job_queue.job_dict(j) for j in rows]


@router.get("/kb/{tenant}/jobs/{job_id}")
def job_status(tenant: str, job_id: str, request: Request, who: Identity = Depends(require("kb"))) -> Any:
    """One job: state (queued, running, succeeded, partial, failed, cancelled, timed_out), done/total, errors."""
    with _services(request).db.session() as s:
        try:
            return job_queue.job_dict(job_queue.get_job(s, tenant, job_id))
        except job_queue.JobNotFound as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc


@router.post("/kb/{tenant}/jobs/{job_id}/cancel", status_code=202)
def cancel_job(tenant: str, job_id: str, request: Request, who: Identity = Depends(require("kb"))) -> Any:
    """Cancel a queued job at once, or stop a running one (its draft is discarded); 409 when it already ended."""
    with _services(request).db.session() as s:
        try:
            return job_queue.job_dict(job_queue.request_cancel(s, tenant, job_id, who.name))
        except job_queue.JobNotFound as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        except job_queue.JobFinished as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from exc


@router.post("/kb/{tenant}/ingest", status_code=202)
def ingest(tenant: str, request: Request, files: list[UploadFile] = File(...), publish: bool = Form(False),
           parent: ParentForm = None,
           meta: str | None = Form(None, max_length=200_000,
                                   description="JSON {file name: {title, url, visibility, effective_date, "
                                               "expiry_date, department}}; written into the upload's catalog.yaml"),
           who: Identity = Depends(require("kb"))) -> Any:
    """Upload sources (and optionally a catalog.yaml); the job is queued for a worker — follow it in /jobs/{id}.

    ``meta`` gives per-file metadata typed in the console; it wins over an uploaded catalog.yaml's entry.

    The new version builds on ``parent`` (default: the newest draft newer than live, else live); the response
    and the job's result name the parent chosen."""
    from qa_service.ingest.discover import count_units
    from qa_service.ingest.pipeline import validate_tenant

    services = _services(request)
    try:
        validate_tenant(tenant)
    except USER_ERRORS as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    try:
        with services.db.session() as s:
            base = versions.choose_parent(s, services.store, tenant, parent)
            parent = base.version if base else None
    except USER_ERRORS as exc:
        raise _http_error(exc) from exc
    cfg = services.settings.ingest
    if len(files) > cfg.max_files_per_job:
        raise HTTPException(status_code=413, detail=f"{len(files)} files; one job takes at most "
                                                    f"{cfg.max_files_per_job} (ingest.max_files_per_job)")
    limit = cfg.max_file_mb * 1024 * 1024
    total_bytes = 0
    upload = services.settings.data_dir / "uploads" / tenant / uuid.uuid4().hex[:12]
    upload.mkdir(parents=True)
    names = []
    stored: dict[str, str] = {}
    try:
        for f in files:
            name = SAFE_NAME.sub("_", Path(f.filename or "upload").name).strip("._") or "upload"
            stored[Path(f.filename or "upload").name] = name
            with (upload / name).open("wb") as out:
                shutil.copyfileobj(f.file, out, length=1024 * 1024)
            if (upload / name).stat().st_size > limit:
                raise HTTPException(status_code=413, detail=f"{name} is larger than {limit // 2**20} MB")
            total_bytes += (upload / name).stat().st_size
            if total_bytes > cfg.max_job_mb * 1024 * 1024:
                raise HTTPException(status_code=413, detail=f"the upload is larger than {cfg.max_job_mb} MB in all "
                                                            "(ingest.max_job_mb)")
            names.append(name)
        written = write_catalog(upload, parse_form(meta, stored), stored)
    except UploadMetaError as exc:
        shutil.rmtree(upload, ignore_errors=True)
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    except HTTPException:
        shutil.rmtree(upload, ignore_errors=True)
        raise
    if written is not None:
        log.info("upload catalog tenant=%s upload=%s files=%s", tenant, upload.name, len(stored))
    with services.db.session() as s:
        job = job_queue.enqueue(s, tenant, [upload], who.name, publish=publish, total=count_units([upload]),
                                parent=parent)
    return {"job_id": job.id, "state": job.state, "tenant": tenant, "upload": upload.name, "files": names,
            "publish": publish, "parent": parent}

"""Editors: ingestion jobs (upload, progress), versions, diff, publish, rollback. All audited."""

from __future__ import annotations

import logging
import re
import shutil
import threading
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi import Path as PathParam
from sqlalchemy import select

from qa_service.db.models import IngestJob
from qa_service.errors import USER_ERRORS
from qa_service.kb import versions
from qa_service.users.accounts import Identity
from qa_service.web.auth import require

router = APIRouter(tags=["knowledge base"])
log = logging.getLogger(__name__)
SAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff]+")
_busy: dict[str, threading.Thread] = {}
_busy_lock = threading.Lock()
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


def _job_dict(j: IngestJob) -> dict[str, Any]:
    return {"job_id": j.id, "tenant": j.tenant, "state": j.state, "mode": j.mode, "version": j.version,
            "total": j.total, "done": j.done, "created_by": j.created_by, "started_at": j.started_at.isoformat(),
            "finished_at": j.finished_at.isoformat() if j.finished_at else None, "result": j.result,
            "errors": j.errors}


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
        return [_job_dict(j) for j in rows]


@router.post("/kb/{tenant}/ingest", status_code=202)
def ingest(tenant: str, request: Request, files: list[UploadFile] = File(...), publish: bool = Form(False),
           parent: ParentForm = None, who: Identity = Depends(require("kb"))) -> Any:
    """Upload sources (and optionally a catalog.yaml); the job runs in the background — follow it in /jobs.

    The new version builds on ``parent`` (default: the newest draft newer than live, else live); the response
    and the job's result name the parent chosen."""
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
    limit = services.settings.ingest.max_file_mb * 1024 * 1024
    upload = services.settings.data_dir / "uploads" / tenant / uuid.uuid4().hex[:12]
    upload.mkdir(parents=True)
    names = []
    try:
        for f in files:
            name = SAFE_NAME.sub("_", Path(f.filename or "upload").name).strip("._") or "upload"
            with (upload / name).open("wb") as out:
                shutil.copyfileobj(f.file, out, length=1024 * 1024)
            if (upload / name).stat().st_size > limit:
                raise HTTPException(status_code=413, detail=f"{name} is larger than {limit // 2**20} MB")
            names.append(name)
    except HTTPException:
        shutil.rmtree(upload, ignore_errors=True)
        raise
    with _busy_lock:
        running = _busy.get(tenant)
        if running is not None and running.is_alive():
            shutil.rmtree(upload, ignore_errors=True)
            raise HTTPException(status_code=409, detail=f"an ingestion job for {tenant!r} is already running")
        thread = threading.Thread(target=_run, args=(services, upload, tenant, publish, who.name, parent),
                                  daemon=True, name=f"ingest-{tenant}")
        _busy[tenant] = thread
        thread.start()
    return {"tenant": tenant, "upload": upload.name, "files": names, "publish": publish, "parent": parent}


def _run(services: Any, folder: Path, tenant: str, publish: bool, actor: str, parent: int | None) -> None:
    from qa_service.ingest.pipeline import run_ingest

    try:
        result = run_ingest(services, [folder], tenant, publish=publish, actor=actor, parent=parent)
        log.info("upload ingest tenant=%s job=%s state=%s", tenant, result.job_id, result.state)
    except Exception:  # the job row records the failure; the thread must not die silently
        log.exception("upload ingest failed tenant=%s folder=%s", tenant, folder)

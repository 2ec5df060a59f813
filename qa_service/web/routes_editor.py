"""The editor console's knowledge-base views and actions: a version's documents, a readable diff, questions
asked against a draft before it is published, and discarding a draft. Role checks and audit as in routes_kb."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from qa_service.audit.trail import record
from qa_service.errors import USER_ERRORS
from qa_service.kb import contents, versions
from qa_service.kb.preview import ask_version
from qa_service.kb.scope_edit import set_scope_override
from qa_service.users.accounts import Identity
from qa_service.web.auth import require
from qa_service.web.routes_kb import _RANGE, VersionPath, _http_error, _services

router = APIRouter(tags=["knowledge base"])
log = logging.getLogger(__name__)
VersionQuery = Annotated[int, Query(ge=1, le=versions.MAX_VERSION, description=_RANGE)]


class ScopeBody(BaseModel):
    """A correction of where a source applies; an empty string drops the correction of that field."""

    jurisdiction: str | None = Field(None, max_length=200,
                                     description="national, 辽宁省铁岭市, 211200, Riverton > Northgate")
    office: str | None = Field(None, max_length=200)
    issue_date: str | None = Field(None, max_length=20)
    effective_date: str | None = Field(None, max_length=20)
    expiry_date: str | None = Field(None, max_length=20)


class PreviewBody(BaseModel):
    question: str = Field(..., min_length=1, max_length=2000)
    channel: Literal["citizen", "staff"] = Field("citizen", description="citizen: what the public would see.")
    lang: Literal["zh", "en"] | None = None


@router.get("/kb/{tenant}/versions/{version}/sources")
def version_sources(tenant: str, version: VersionPath, request: Request,
                    who: Identity = Depends(require("kb"))) -> Any:
    """The documents in ``version`` with title, URL, type, visibility, effective and expiry dates."""
    try:
        with _services(request).db.session() as s:
            return contents.documents(s, tenant, version)
    except USER_ERRORS as exc:
        raise _http_error(exc) from exc


@router.put("/kb/{tenant}/sources/{source_id:path}/scope")
def edit_scope(tenant: str, source_id: str, body: ScopeBody, request: Request,
               who: Identity = Depends(require("kb"))) -> Any:
    """Correct where a source applies (jurisdiction, office, issue/effective/expiry dates). Kept in the ledger
    and applied to the next version an ingestion job builds (qa_service/kb/scope_edit.py); audited as
    ``kb.scope_edit``. 409 for an unknown source or an unreadable value."""
    fields = body.model_dump(exclude_unset=True)
    try:
        with _services(request).db.session() as s:
            row = set_scope_override(s, tenant, source_id, fields, who.name, who.role)
            return contents.source_dict(source_id, row)
    except USER_ERRORS as exc:
        raise _http_error(exc) from exc


@router.get("/kb/{tenant}/changes")
def changes(tenant: str, v1: VersionQuery, v2: VersionQuery, request: Request,
            who: Identity = Depends(require("kb"))) -> Any:
    """Documents added, removed and changed from v1 to v2, with each changed document's passages as text."""
    services = _services(request)
    try:
        with services.db.session() as s:
            return contents.readable_diff(s, services.store, tenant, v1, v2)
    except USER_ERRORS as exc:
        raise _http_error(exc) from exc


@router.post("/kb/{tenant}/versions/{version}/ask")
async def ask_draft(tenant: str, version: VersionPath, body: PreviewBody, request: Request,
                    who: Identity = Depends(require("kb"))) -> Any:
    """Answer a question from ``version`` (a draft, or any version with an index) without publishing it;
    no review item or answer record is made. Audited as ``kb.preview``."""
    services = _services(request)

    def work() -> dict[str, Any]:
        with services.db.session() as s:
            row = versions.get_version(s, tenant, version)
            if not services.store.has_version(tenant, version):
                raise versions.VersionError(f"version {version} ({row.state}) has no index to ask")
        out = ask_version(services, tenant, version, body.question, body.channel, body.lang)
        with services.db.session() as s:
            record(s, actor=who.name, role=who.role, tenant=tenant, action="kb.preview", target=f"v{version}",
                   decision=out["decision"], reasons=list(out["risk"]["reasons"]), trace_id=out["trace_id"],
                   detail={"channel": body.channel})
        return out

    try:
        return await run_in_threadpool(work)
    except USER_ERRORS as exc:
        raise _http_error(exc) from exc


@router.post("/kb/{tenant}/versions/{version}/discard")
def discard(tenant: str, version: VersionPath, request: Request, who: Identity = Depends(require("kb"))) -> Any:
    """Throw a draft away (its index is dropped); audited as ``kb.discard``. 409 for any other state."""
    services = _services(request)
    try:
        with services.db.session() as s:
            return versions.version_dict(versions.discard_draft(s, services.store, tenant, version, who.name,
                                                                who.role))
    except USER_ERRORS as exc:
        raise _http_error(exc) from exc

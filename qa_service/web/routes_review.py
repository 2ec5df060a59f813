"""Staff: the review queue, curated answers, feedback figures. Citizens: ticket status and feedback."""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from qa_service.review import curated as cur
from qa_service.review import feedback as fb
from qa_service.review import queue
from qa_service.review.tickets import ticket_status
from qa_service.users.accounts import Identity
from qa_service.web.auth import require
from qa_service.web.ratelimit import make_limiter

router = APIRouter(tags=["review"])
log = logging.getLogger(__name__)


class ClaimBody(BaseModel):
    item_id: str | None = Field(None, description="Claim this item; default: the most urgent one.")


class ResolveBody(BaseModel):
    action: Literal["approve", "edit", "reject", "escalate"]
    answer: str | None = Field(None, max_length=8000, description="edit: the corrected answer.")
    note: str | None = Field(None, max_length=2000)
    save_curated: bool = Field(False, description="approve/edit: reuse this answer for matching questions.")
    question_variants: list[str] = Field(default_factory=list, description="More ways people ask it.")


class FeedbackBody(BaseModel):
    trace_id: str = Field(..., max_length=40)
    helpful: bool
    reasons: list[str] = Field(default_factory=list)
    comment: str | None = Field(None, max_length=2000)


class CuratedBody(BaseModel):
    questions: list[str] = Field(..., min_length=1)
    answer: str = Field(..., min_length=1, max_length=8000)
    lang: Literal["zh", "en"] = "zh"
    citations: list[dict[str, Any]] = Field(default_factory=list)


def _services(request: Request) -> Any:
    return request.app.state.services


def _embedding(services: Any) -> dict[str, Any]:
    """What curated saves need to embed their variants once, at save."""
    dense = services.dense
    return {"cfg": services.settings.review, "encode": dense.encode_queries, "model_id": dense.model_id}


@router.get("/review/{tenant}/items")
def list_items(tenant: str, request: Request, state: str | None = None,
               who: Identity = Depends(require("review"))) -> list[dict[str, Any]]:
    states = tuple(state.split(",")) if state else None
    with _services(request).db.session() as s:
        return [queue.item_dict(i) for i in queue.list_items(s, tenant, states)]


@router.post("/review/{tenant}/claim")
def claim(tenant: str, body: ClaimBody, request: Request, who: Identity = Depends(require("review"))) -> Any:
    services = _services(request)
    with services.db.session() as s:
        item = queue.claim(s, services.settings.review, tenant, who, body.item_id)
        if item is None:
            raise HTTPException(status_code=404, detail="nothing to claim")
        return queue.item_dict(item)


@router.post("/review/{tenant}/items/{item_id}")
def resolve(tenant: str, item_id: str, body: ResolveBody, request: Request,
            who: Identity = Depends(require("review"))) -> Any:
    services = _services(request)
    try:
        with services.db.session() as s:
            queue.get_item(s, item_id, tenant)
            item = queue.resolve(s, item_id, who, body.action, answer=body.answer, note=body.note)
            if body.save_curated and body.action in ("approve", "edit"):
                if not who.may("curated", tenant):
                    raise HTTPException(status_code=403, detail="saving curated answers needs the editor role")
                cur.save_reviewed(s, item, who, body.question_variants, **_embedding(services))
            return queue.item_dict(item)
    except cur.CuratedLimitError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    except (queue.ReviewError, cur.CuratedError) as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc


@router.get("/curated/{tenant}")
def list_curated(tenant: str, request: Request, who: Identity = Depends(require("review"))) -> Any:
    with _services(request).db.session() as s:
        return [cur.curated_dict(r) for r in cur.list_curated(s, tenant)]


@router.post("/curated/{tenant}", status_code=201)
def add_curated(tenant: str, body: CuratedBody, request: Request, who: Identity = Depends(require("curated"))) -> Any:
    services = _services(request)
    try:
        with services.db.session() as s:
            row = cur.add(s, tenant=tenant, questions=body.questions, answer=body.answer, citations=body.citations,
                          lang=body.lang, actor=who.name, role=who.role, **_embedding(services))
            return cur.curated_dict(row)
    except cur.CuratedError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


@router.post("/curated/{tenant}/{curated_id}/suspend")
def suspend_curated(tenant: str, curated_id: str, request: Request,
                    who: Identity = Depends(require("curated"))) -> Any:
    try:
        with _services(request).db.session() as s:
            return cur.curated_dict(cur.suspend(s, curated_id, "suspended by staff", who.name, who.role,
                                                tenant=tenant))
    except cur.CuratedError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


@router.get("/feedback/{tenant}/figures")
def feedback_figures(tenant: str, request: Request, who: Identity = Depends(require("review"))) -> Any:
    with _services(request).db.session() as s:
        return fb.figures(s, tenant)


@router.post("/feedback", status_code=201)
async def feedback(body: FeedbackBody, request: Request) -> Any:
    """One verdict per answer per client (409 on a repeat), at most ``review.feedback_per_minute`` posts per
    client (429). The client address is kept only as a salted hash."""
    services = _services(request)
    cfg = services.settings.review
    address = request.client.host if request.client else "unknown"

    def work() -> Any:
        client = fb.client_hash(address, fb.load_salt(cfg, services.settings.data_dir))
        limited = _feedback_limited(request, client)
        if limited is not None:
            return limited
        with services.db.session() as s:
            row = fb.submit(s, cfg, body.trace_id, body.helpful, body.reasons, body.comment, client=client)
            return {"id": row.id, "queued_for_review": not row.helpful}

    try:
        return await run_in_threadpool(work)
    except fb.DuplicateFeedback as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    except fb.FeedbackError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


def _feedback_limited(request: Request, client: str) -> JSONResponse | None:
    """Counts on the app's limiter under a key of its own (``feedback:<client hash>``), against its own limit; with
    citizen question limits off, on a limiter of its own."""
    services = _services(request)
    limit = services.settings.review.feedback_per_minute
    if limit <= 0:
        return None
    limiter = request.app.state.limiter
    if limiter is None:
        limiter = getattr(request.app.state, "feedback_limiter", None)
        if limiter is None:
            limiter = request.app.state.feedback_limiter = make_limiter(limit, services.settings.server.redis_url)
    count, reset = limiter.hit(f"feedback:{client}")
    if count <= limit:
        return None
    if count == limit + 1:
        log.info("feedback rate limited limit_per_minute=%s", limit)
    return JSONResponse({"detail": f"too many feedback posts: at most {limit} a minute; retry in {reset} s"},
                        status_code=429, headers={"Retry-After": str(reset)})


@router.get("/tickets/{ticket}")
def ticket(ticket: str, request: Request, lang: Literal["zh", "en"] | None = None) -> Any:
    with _services(request).db.session() as s:
        out = ticket_status(s, ticket, lang)
    if out is None:
        raise HTTPException(status_code=404, detail="no such ticket")
    return out


@router.get("/me")
def me(request: Request) -> Any:
    """Who the token belongs to (the console uses it to pick tabs and the tenant)."""
    from qa_service.users.accounts import PERMISSIONS
    from qa_service.web.auth import identity_of

    who = identity_of(request)
    if who is None:
        raise HTTPException(status_code=401, detail="sign in: Authorization: Bearer <token>")
    return {"name": who.name, "role": who.role, "tenant": who.tenant,
            "permissions": sorted(PERMISSIONS.get(who.role, set()))}

"""The staff panel's reads and tools: the filtered, grouped queue; one item with its conversation; a search
of the live knowledge for passages to cite; editing curated answers. Role checks as in routes_review."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from qa_service.kb.search import hit_dict, search, visibility_for
from qa_service.review import curated as cur
from qa_service.review import queue, triage
from qa_service.users.accounts import Identity
from qa_service.web.auth import require

router = APIRouter(tags=["review"])
OPEN = ("pending", "claimed", "escalated")


class CuratedEdit(BaseModel):
    answer: str | None = Field(None, max_length=8000, description="The new answer text.")
    questions: list[str] | None = Field(None, description="All question variants (replaces the list).")
    activate: bool = Field(False, description="Put a suspended answer back in use.")


def _services(request: Request) -> Any:
    return request.app.state.services


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v for v in (value or "").split(",") if v)


@router.get("/review/{tenant}/queue")
def queue_view(tenant: str, request: Request, kind: str | None = None, risk: str | None = None,
               min_age_hours: Annotated[float | None, Query(ge=0, le=24 * 365)] = None,
               sla: Literal["overdue", "due_soon", "on_time"] | None = None, state: str | None = None,
               who: Identity = Depends(require("review"))) -> dict[str, Any]:
    """Open items (or ``state``) filtered by kind, risk, age and SLA, most urgent first, with the groups of
    identical questions among them (``groups``: key → item ids)."""
    try:
        flt = triage.QueueFilter(kinds=_csv(kind), risks=_csv(risk), min_age_hours=min_age_hours, sla=sla)
    except triage.FilterError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    with _services(request).db.session() as s:
        items = triage.apply(queue.list_items(s, tenant, _csv(state) or OPEN, limit=500), flt)
        out = [{**queue.item_dict(i), "group": triage.group_key(i.question)} for i in items]
    return {"items": out, "groups": triage.groups(items), "total": len(out)}


@router.get("/review/{tenant}/items/{item_id}")
def item_view(tenant: str, item_id: str, request: Request, who: Identity = Depends(require("review"))) -> Any:
    """One item, with the earlier turns of its conversation and the open items asking the same question."""
    with _services(request).db.session() as s:
        try:
            item = queue.get_item(s, item_id, tenant)
        except queue.ReviewError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        key = triage.group_key(item.question)
        same = [i.id for i in queue.list_items(s, tenant, OPEN, limit=500)
                if i.id != item.id and triage.group_key(i.question) == key]
        return {**queue.item_dict(item), "conversation": triage.conversation(s, item), "same_question": same}


@router.get("/review/{tenant}/passages")
def passages(tenant: str, request: Request, q: Annotated[str, Query(min_length=1, max_length=500)],
             k: Annotated[int, Query(ge=1, le=20)] = 8, who: Identity = Depends(require("review"))) -> Any:
    """Search the live version (public and internal, as on the staff channel) for passages to cite."""
    services = _services(request)
    result = search(services, tenant, q, k=k, visibility=visibility_for("staff"))
    return {"version": result.version,
            "hits": [{**hit_dict(h), "url": h.payload.get("url"), "digest": h.payload.get("digest")}
                     for h in result.hits]}


@router.patch("/curated/{tenant}/{curated_id}")
def edit_curated(tenant: str, curated_id: str, body: CuratedEdit, request: Request,
                 who: Identity = Depends(require("curated"))) -> Any:
    """Edit a curated answer's text or question variants (re-embedded now), or reinstate a suspended one."""
    services = _services(request)
    try:
        with services.db.session() as s:
            row = cur.edit(s, curated_id, tenant=tenant, actor=who.name, role=who.role, answer=body.answer,
                             questions=body.questions, activate=body.activate, cfg=services.settings.review,
                             encode=services.dense.encode_queries, model_id=services.dense.model_id)
            return cur.curated_dict(row)
    except cur.CuratedLimitError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    except cur.CuratedError as exc:
        status = 404 if str(exc).startswith("no curated") else 422
        raise HTTPException(status_code=status, detail=str(exc)) from exc

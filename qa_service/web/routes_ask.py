"""Citizen and staff questions: POST /api/v1/ask (JSON or Server-Sent Events)."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from qa_service.answer.service import ask
from qa_service.answer.statuses import ERROR_INTERNAL, RATE_LIMITED, canned
from qa_service.audit.trail import record
from qa_service.plaintext import plain_text
from qa_service.text import is_chinese
from qa_service.web.auth import identity_of, known_tenant
from qa_service.web.conversations import ConversationStore
from qa_service.web.ratelimit import citizen_keys, refused
from qa_service.web.schemas import AnswerResponse, AskRequest

router = APIRouter(tags=["ask"])
log = logging.getLogger(__name__)


@router.post("/ask", response_model=AnswerResponse, response_model_exclude_none=True)
async def ask_route(body: AskRequest, request: Request) -> Any:
    services = request.app.state.services
    tenant = body.tenant if body.tenant is not None else services.settings.server.default_tenant
    await run_in_threadpool(known_tenant, request, tenant)  # 422 malformed, 404 unknown: before anything is stored
    if body.channel == "staff":  # internal knowledge: signed-in staff of this tenant only
        who = await run_in_threadpool(identity_of, request)
        if who is None:
            raise HTTPException(status_code=401, detail="the staff channel needs a staff token",
                                headers={"WWW-Authenticate": "Bearer"})
        if not who.may("ask_staff", tenant):
            raise HTTPException(status_code=403, detail=f"{who.name!r} may not use the staff channel of {tenant!r}")
    limited = await run_in_threadpool(_rate_limited, request, tenant, body)
    if limited is not None:
        return limited
    convs: ConversationStore = request.app.state.conversations
    conversation = body.conversation_id
    history = await run_in_threadpool(convs.history, tenant, conversation) if conversation else []
    metrics = request.app.state.metrics

    def answer(on_sentence: Callable[[str], None] | None = None) -> dict[str, Any]:
        try:
            ctx, out = ask(services, body.question, tenant, body.channel, body.lang, None, body.conversation_id,
                           history, on_sentence=on_sentence)
        except Exception:
            log.exception("ask failed tenant=%s", tenant)
            return _internal_error(body.lang or "en")
        if conversation and not str(out["decision"]).startswith("blocked_"):  # a refused question is not kept
            convs.append(tenant, conversation, ctx.question)  # redacted by the input guard
        metrics.observe_answer(out["decision"], out["risk"]["level"], out["timings_ms"], out["risk"]["reasons"])
        return out

    if not body.stream:
        return await run_in_threadpool(answer)
    return StreamingResponse(_live_sse(answer), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _internal_error(lang: str) -> dict[str, Any]:
    return {"decision": ERROR_INTERNAL, "answer": canned(ERROR_INTERNAL, lang), "citations": [],
            "risk": {"level": "high", "reasons": ["internal_error"]}, "ai_generated": True,
            "kb_version": None, "trace_id": "", "lang": lang, "generator": "", "timings_ms": {}}


def _live_sse(answer: Callable[[Callable[[str], None] | None], dict[str, Any]]) -> Iterator[str]:
    """Checked sentences as ``draft`` events while a generating model streams them, then meta → delta (the final
    answer, sentence by sentence) → citations → done. The final events are the authority: a client replaces the
    draft text with them (a held answer replaces it with the held message)."""
    events: queue.Queue[tuple[str, Any]] = queue.Queue()

    def work() -> None:
        try:
            events.put(("final", answer(lambda text: events.put(("draft", plain_text(text))))))
        except BaseException:  # never leave the stream waiting (answer() already maps errors to a status)
            log.exception("ask stream failed")
            events.put(("final", _internal_error("en")))

    worker = threading.Thread(target=work, name="ask-stream", daemon=True)
    worker.start()
    while True:
        kind, payload = events.get()
        if kind == "draft":
            yield f"event: draft\ndata: {json.dumps({'text': payload}, ensure_ascii=False)}\n\n"
            continue
        yield from _sse(payload)
        return


def _rate_limited(request: Request, tenant: str, body: AskRequest) -> JSONResponse | None:
    """Citizen questions are limited per client address and tenant, and per client address across tenants; the
    first refusal in a window is audited (the address itself is not stored)."""
    limiter = request.app.state.limiter
    if limiter is None or body.channel != "citizen":
        return None
    client = request.client.host if request.client else "unknown"
    counts, reset = limiter.hit_many(citizen_keys(client, tenant))
    over, first = refused(limiter, counts)
    if not over:
        return None
    lang = body.lang or ("zh" if is_chinese(body.question) else "en")
    if first:
        services = request.app.state.services
        with services.db.session() as s:
            record(s, actor="anonymous", role="citizen", action="ask.refused", tenant=tenant,
                   decision=RATE_LIMITED, reasons=["rate_limit"],
                   detail={"limit_per_minute": limiter.limit, "total_limit_per_minute": limiter.total_limit})
        log.info("rate limited tenant=%s limit=%s total_limit=%s", tenant, limiter.limit, limiter.total_limit)
    request.app.state.metrics.observe_answer(RATE_LIMITED, "low", {})
    return JSONResponse({"decision": RATE_LIMITED, "answer": canned(RATE_LIMITED, lang),
                         "message": canned(RATE_LIMITED, lang), "citations": [],
                         "risk": {"level": "low", "reasons": ["rate_limit"]}, "ai_generated": True,
                         "kb_version": None, "trace_id": "", "lang": lang, "generator": "", "timings_ms": {}},
                        status_code=429, headers={"Retry-After": str(reset)})


def _sse(out: dict[str, Any]) -> Iterator[str]:
    """meta → one delta per sentence → citations → done (the answer is checked before it streams)."""
    meta = {k: out[k] for k in ("decision", "risk", "ai_generated", "kb_version", "trace_id", "lang")}
    yield f"event: meta\ndata: {json.dumps(meta, ensure_ascii=False)}\n\n"
    for part in _parts(out["answer"]):
        yield f"event: delta\ndata: {json.dumps({'text': part}, ensure_ascii=False)}\n\n"
    yield f"event: citations\ndata: {json.dumps(out['citations'], ensure_ascii=False)}\n\n"
    yield f"event: done\ndata: {json.dumps(out, ensure_ascii=False)}\n\n"


def _parts(text: str) -> list[str]:
    import re

    return [p for p in re.split(r"(?<=\])(?=\S)|(?<=\]) +", text) if p] or [text]

"""The answer JSON the CLI and the API return: text only (issue 14 item 11).

Titles, headings, snippets and the answer come from sources and staff; they leave the service as plain text
(tags and entity-encoded tags removed, entities decoded), and a citation URL only when it is http(s)."""

from __future__ import annotations

from typing import Any

from qa_service.answer.context import AnswerContext
from qa_service.answer.statuses import ANSWERED, ANSWERED_CURATED, HELD_FOR_REVIEW
from qa_service.plaintext import plain_text

SNIPPET_CHARS = 300


def _web_url(url: str | None) -> str | None:
    """Only http(s) links leave the service (a javascript: or data: URL from a catalog is not a citation)."""
    if not url:
        return None
    clean = url.strip()
    return clean if clean.lower().startswith(("http://", "https://")) and "<" not in clean else None


def citations(ctx: AnswerContext) -> list[dict[str, Any]]:
    used = {n for s in ctx.sentences for n in s.cites}
    out = []
    for p in ctx.passages:
        if p.n in used:
            out.append({"n": p.n, "chunk_id": p.chunk_id, "source_id": p.source_id, "title": plain_text(p.title),
                        "url": _web_url(p.url), "heading": plain_text(p.heading), "page": p.page,
                        "digest": p.digest, "snippet": plain_text(p.text)[:SNIPPET_CHARS]})
    return out


def ai_generated(ctx: AnswerContext) -> bool:
    """A curated answer staff wrote (or edited) is theirs, not the AI's; a curated answer that is an AI draft
    staff approved unchanged, and every other answer, is AI-generated. One label, never both."""
    return not (ctx.status == ANSWERED_CURATED and ctx.curated_by_staff)


def to_response(ctx: AnswerContext) -> dict[str, Any]:
    """Citizens see an answer only when it is shown; staff also see held drafts."""
    show = ctx.status in (ANSWERED, ANSWERED_CURATED) or (ctx.status == HELD_FOR_REVIEW and ctx.channel == "staff")
    out: dict[str, Any] = {
        "decision": ctx.status,
        "answer": plain_text(ctx.answer_text) if show else ctx.message,
        "message": ctx.message or None,
        "citations": citations(ctx) if show else [],
        "risk": {"level": ctx.risk_level, "reasons": list(ctx.risk_reasons)},
        "ai_generated": ai_generated(ctx),
        "kb_version": ctx.kb_version,
        "trace_id": ctx.trace_id,
        "lang": ctx.lang,
        "generator": ctx.generator,
        "timings_ms": dict(ctx.timings_ms),
    }
    if ctx.risk_level == "medium" and ctx.status == ANSWERED:
        out["warning"] = ("此答复由人工智能生成，可能不完整，请以官方文件为准。" if ctx.lang == "zh"
                          else "This AI-generated answer may be incomplete; check the official sources cited.")
    if ctx.ticket:
        out["ticket"] = ctx.ticket
    if ctx.qid is not None:
        out = {"qid": ctx.qid, **out}
    return out

"""What a citizen sees when checking a ticket: still pending, the reviewed answer, or a rejection with the
department's contact data (phone, address, opening hours, the 12345 hotline) from the tenant registry.

The ticket route is anonymous: whoever holds a ticket number sees this, so nothing staff-only leaves here. An
answer held from the staff channel, or one resting on an internal passage, is not shown (only that staff
answered it, and whom to contact); citations are only ever the public ones.

``message`` is the whole text (reason and contact in one sentence); ``reason`` and ``contact`` are the same
parts separately, for a client that lays the contact data out itself (the widget)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_service import tenants
from qa_service.db.models import AnswerRecord, ReviewItem, Source
from qa_service.review.queue import visibility_of
from qa_service.text import is_chinese as is_cjk

PENDING = {"zh": "工作人员正在核实您的问题，请稍后再查看。",
           "en": "A member of staff is still checking your question. Please check back later."}
REJECTED = {"zh": "工作人员核实后认为无法通过在线方式可靠答复这个问题。{contact}",
            "en": "After checking, staff could not answer this question reliably online. {contact}"}
STAFF_ONLY = {"zh": "该编号的答复仅供工作人员内部使用，无法在此显示。{contact}",
              "en": "The answer to this ticket is for staff use only and cannot be shown here. {contact}"}
FALLBACK_CONTACT = {"zh": "12345政务服务热线", "en": "the 12345 public service hotline"}
LABELS = {"zh": {"lead": "请联系：", "phone": "电话", "address": "地址", "hours": "办公时间", "sep": "；",
                 "hotline": "也可拨打{hotline}政务服务热线。"},
          "en": {"lead": "Please contact: ", "phone": "phone", "address": "address", "hours": "opening hours",
                 "sep": "; ", "hotline": "You can also call the {hotline} public service hotline."}}
CITATION_KEYS = ("n", "chunk_id", "source_id", "title", "url", "heading")


def in_lang(value: str | None, lang: str) -> str | None:
    """One side of a bilingual registry value written "中文 / English" (as the sample catalogs do)."""
    if not value:
        return None
    parts = [p.strip() for p in value.split(" / ")]
    if len(parts) == 2 and is_cjk(parts[0]) != is_cjk(parts[1]):
        return parts[0] if is_cjk(parts[0]) == (lang == "zh") else parts[1]
    return value


def department(session: Session, tenant: str, source_ids: list[str]) -> tuple[str | None, str | None]:
    """(department, contact line) of the cited sources, else the tenant's most common one with a contact line."""
    rows = session.execute(select(Source.source_id, Source.department, Source.contact)
                           .where(Source.tenant == tenant, Source.state == "active")).all()
    wanted = set(source_ids)
    cited = [(d, c) for sid, d, c in rows if sid in wanted and (c or d)]
    pool = cited or [(d, c) for _, d, c in rows if c]
    if not pool:
        return None, None
    (dept, contact), _ = Counter(pool).most_common(1)[0]
    return dept, contact


def contact_for(session: Session, tenant: str, source_ids: list[str], lang: str) -> dict[str, Any]:
    """Whom a citizen should contact: the cited department and the tenant's phone, address, hours, hotline."""
    key = "zh" if lang == "zh" else "en"
    info = tenants.find(session, tenant)
    dept, line = department(session, tenant, source_ids)
    name = in_lang(info.name_zh if key == "zh" else info.name_en, key) if info else None
    return {"department": dept, "contact": line, "name": name or (info.name_en or info.name_zh if info else None),
            "phone": in_lang(info.phone, key) if info else None,
            "address": in_lang(info.address, key) if info else None,
            "hours": in_lang(info.hours, key) if info else None,
            "hotline": info.hotline if info else tenants.DEFAULT_HOTLINE}


def contact_text(contact: dict[str, Any], lang: str) -> str:
    """The contact as one sentence for the message (the widget also shows the fields one per line)."""
    key = "zh" if lang == "zh" else "en"
    t = LABELS[key]
    who: list[str] = []
    for x in (contact.get("department"), contact.get("contact"), contact.get("name")):
        if x and x not in who:
            who.append(str(x))
    parts = [who[0] + (("（" + "，".join(who[1:]) + "）") if key == "zh" else (" (" + ", ".join(who[1:]) + ")"))
             if who[1:] else who[0]] if who else []
    parts += [f"{t[k]}{'：' if key == 'zh' else ' '}{contact[k]}" for k in ("phone", "address", "hours")
              if contact.get(k)]
    end = "。" if key == "zh" else "."
    if not parts:
        return t["lead"] + FALLBACK_CONTACT[key] + end
    hotline = t["hotline"].format(hotline=contact.get("hotline") or tenants.DEFAULT_HOTLINE)
    return t["lead"] + t["sep"].join(parts) + end + ("" if key == "zh" else " ") + hotline


def _staff_only(session: Session, item: ReviewItem) -> bool:
    """Held from the staff channel, or resting on a passage citizens may not read."""
    if item.trace_id:
        channel = session.scalar(select(AnswerRecord.channel).where(AnswerRecord.trace_id == item.trace_id))
        if channel is not None and channel != "citizen":
            return True
    cited = [c for c in (item.final_citations or item.citations or []) if c.get("cited", True)]
    return any(visibility_of(c) != "public" for c in cited)


def ticket_status(session: Session, ticket: str, lang: str | None = None) -> dict[str, Any] | None:
    item = session.scalar(select(ReviewItem).where(ReviewItem.ticket == ticket))
    if item is None:
        return None
    lang = lang or item.lang
    key = "zh" if lang == "zh" else "en"
    out: dict[str, Any] = {"ticket": ticket, "state": item.state, "tenant": item.tenant, "lang": lang}
    source_ids = [str(c.get("source_id")) for c in item.citations if visibility_of(c) == "public"]
    if item.state in ("approved", "edited") and _staff_only(session, item):
        contact = contact_for(session, item.tenant, source_ids, lang)
        out.update(status="staff_only", message=STAFF_ONLY[key].format(contact=contact_text(contact, lang)),
                   reason=STAFF_ONLY[key].format(contact="").strip(), contact=contact)
    elif item.state in ("approved", "edited"):
        cites = [{k: c.get(k) for k in CITATION_KEYS}
                 | {"snippet": str(c.get("text") or c.get("snippet") or "")[:300]}
                 for c in item.final_citations if c.get("cited", True) and visibility_of(c) == "public"]
        out.update(status="answered", answer=item.final_answer, citations=cites, reviewed_by_staff=True,
                   ai_generated=item.state == "approved",
                   resolved_at=item.resolved_at.isoformat() if item.resolved_at else None)
    elif item.state == "rejected":
        contact = contact_for(session, item.tenant, source_ids, lang)
        out.update(status="rejected", message=REJECTED[key].format(contact=contact_text(contact, lang)),
                   reason=REJECTED[key].format(contact="").strip(), contact=contact)
    else:
        out.update(status="pending", message=PENDING[key])
    return out

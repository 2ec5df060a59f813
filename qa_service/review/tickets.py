"""What a citizen sees when checking a ticket: still pending, the reviewed answer, or a rejection with the
department's contact details from the knowledge metadata."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_service.db.models import ReviewItem, Source

PENDING = {"zh": "工作人员正在核实您的问题，请稍后再查看。",
           "en": "A member of staff is still checking your question. Please check back later."}
REJECTED = {"zh": "工作人员核实后认为无法通过在线方式可靠答复这个问题。请联系：{contact}",
            "en": "After checking, staff could not answer this question reliably online. "
                  "Please contact: {contact}"}
FALLBACK_CONTACT = {"zh": "12345政务服务热线", "en": "the 12345 public service hotline"}


def department_contact(session: Session, tenant: str, source_ids: list[str], lang: str) -> str:
    """The contact of the cited sources' department, else the tenant's most common one, else the hotline."""
    rows = session.execute(select(Source.source_id, Source.department, Source.contact)
                           .where(Source.tenant == tenant, Source.state == "active")).all()
    cited = [(d, c) for sid, d, c in rows if sid in set(source_ids) and (c or d)]
    pool = cited or [(d, c) for _, d, c in rows if c]
    if not pool:
        return FALLBACK_CONTACT["zh" if lang == "zh" else "en"]
    (dept, contact), _ = Counter(pool).most_common(1)[0]
    return " ".join(x for x in (dept, contact) if x)


def ticket_status(session: Session, ticket: str, lang: str | None = None) -> dict[str, Any] | None:
    item = session.scalar(select(ReviewItem).where(ReviewItem.ticket == ticket))
    if item is None:
        return None
    lang = lang or item.lang
    key = "zh" if lang == "zh" else "en"
    out: dict[str, Any] = {"ticket": ticket, "state": item.state, "tenant": item.tenant, "lang": lang}
    if item.state in ("approved", "edited"):
        cites = [{k: c.get(k) for k in ("n", "chunk_id", "source_id", "title", "url", "heading")}
                 | {"snippet": str(c.get("text") or c.get("snippet") or "")[:300]}
                 for c in item.final_citations if c.get("cited", True)]
        out.update(status="answered", answer=item.final_answer, citations=cites, reviewed_by_staff=True,
                   ai_generated=item.state == "approved",
                   resolved_at=item.resolved_at.isoformat() if item.resolved_at else None)
    elif item.state == "rejected":
        contact = department_contact(session, item.tenant, [str(c.get("source_id")) for c in item.citations], lang)
        out.update(status="rejected", message=REJECTED[key].format(contact=contact))
    else:
        out.update(status="pending", message=PENDING[key])
    return out

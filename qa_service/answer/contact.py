"""The message of a question declined for want of a draft worth reviewing: the canned "our guidance does not cover
this" and whom to contact instead — the tenant's department, phone, address, hours and hotline from the tenant
registry (qa_service/tenants.py TenantInfo, worded as on a rejected ticket: qa_service/review/tickets.py)."""

from __future__ import annotations

from qa_service.answer.context import AnswerContext
from qa_service.answer.statuses import NO_CONTENT, canned
from qa_service.services import Services

_LEAD = {"zh": "抱歉，现有的官方资料中没有找到可以可靠答复您问题的内容。",
         "en": "Sorry, our official guidance does not answer this question reliably."}


def decline_message(services: Services, ctx: AnswerContext) -> str:
    """The lead sentence and the tenant's contact line (the canned message when the tenant is not registered)."""
    from qa_service.review.tickets import contact_for, contact_text

    key = "zh" if ctx.lang == "zh" else "en"
    with services.db.session() as s:
        contact = contact_for(s, ctx.tenant, [], key)
    if not any(contact.get(k) for k in ("department", "contact", "name", "phone")):
        return canned(NO_CONTENT, key)
    return _LEAD[key] + ("" if key == "zh" else " ") + contact_text(contact, key)

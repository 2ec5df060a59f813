"""The closed status vocabulary and each status's canned citizen message (zh, en)."""

from __future__ import annotations

from typing import Final

ANSWERED: Final = "answered"
ANSWERED_CURATED: Final = "answered_curated"
HELD_FOR_REVIEW: Final = "held_for_review"
NO_CONTENT: Final = "unanswerable_no_content"
CANNOT_ANSWER: Final = "unanswerable_cannot_answer"
BLOCKED_INJECTION: Final = "blocked_injection"
BLOCKED_CLASSIFIED: Final = "blocked_classified"
BLOCKED_HARMFUL: Final = "blocked_harmful"
OUT_OF_SCOPE: Final = "out_of_scope"
RATE_LIMITED: Final = "rate_limited"
ERROR_LLM_UNAVAILABLE: Final = "error_llm_unavailable"
ERROR_INVALID_INPUT: Final = "error_invalid_input"
ERROR_NO_KNOWLEDGE_BASE: Final = "error_no_knowledge_base"
ERROR_INTERNAL: Final = "error_internal"

MESSAGES: Final[dict[str, dict[str, str]]] = {
    ANSWERED: {"zh": "", "en": ""},
    ANSWERED_CURATED: {"zh": "", "en": ""},
    HELD_FOR_REVIEW: {
        "zh": "这个问题需要工作人员核实后再答复。请保存您的查询编号，稍后查看答复。",
        "en": "A member of staff needs to check this answer before we can give it. Keep your ticket number "
              "and check back later.",
    },
    NO_CONTENT: {
        "zh": "抱歉，现有的官方资料中没有找到与您的问题相关的内容。请拨打12345政务服务热线或到服务大厅咨询。",
        "en": "Sorry, our official guidance does not cover this question. Please call the 12345 service "
              "hotline or visit a service hall.",
    },
    CANNOT_ANSWER: {
        "zh": "抱歉，根据现有官方资料无法可靠地回答这个问题。请拨打12345政务服务热线或到服务大厅咨询。",
        "en": "Sorry, we cannot answer this reliably from our official guidance. Please call the 12345 "
              "service hotline or visit a service hall.",
    },
    BLOCKED_INJECTION: {
        "zh": "抱歉，这个请求无法处理。请直接描述您想办理或咨询的政务服务事项，或拨打12345政务服务热线。",
        "en": "Sorry, we cannot process this request. Please ask about the public service you need, or call the "
              "12345 service hotline.",
    },
    BLOCKED_CLASSIFIED: {
        "zh": "请勿在此提交涉密信息。该请求未被处理，也未被保存。如需咨询请拨打12345政务服务热线。",
        "en": "Please do not submit classified information here. This request was not processed or stored. "
              "For help, call the 12345 service hotline.",
    },
    BLOCKED_HARMFUL: {
        "zh": "抱歉，这个请求无法提供帮助。如遇紧急情况请拨打110或120；政务服务咨询请拨打12345。",
        "en": "Sorry, we cannot help with this request. In an emergency call the emergency services; for public "
              "services call the 12345 hotline.",
    },
    OUT_OF_SCOPE: {
        "zh": "这个问题不在本平台的政务服务范围内。请通过12345热线咨询相关部门。",
        "en": "This question is outside the public services covered here. Please contact the 12345 "
              "hotline for the right department.",
    },
    RATE_LIMITED: {
        "zh": "请求过于频繁，请稍后再试。",
        "en": "Too many requests. Please try again in a moment.",
    },
    ERROR_LLM_UNAVAILABLE: {
        "zh": "答复服务暂时不可用，请稍后再试，或拨打12345政务服务热线。",
        "en": "The answer service is temporarily unavailable. Please try again later or call the 12345 hotline.",
    },
    ERROR_INVALID_INPUT: {
        "zh": "问题为空或过长，请用简短的文字描述您的问题。",
        "en": "The question is empty or too long. Please describe your question briefly.",
    },
    ERROR_NO_KNOWLEDGE_BASE: {
        "zh": "该部门的知识库尚未发布，暂时无法答复。",
        "en": "This department has not published its knowledge base yet.",
    },
    ERROR_INTERNAL: {
        "zh": "系统出现错误，请稍后再试。",
        "en": "Something went wrong on our side. Please try again later.",
    },
}

ALL_STATUSES: Final = frozenset(MESSAGES)
SHOWN_STATUSES: Final = frozenset({ANSWERED, ANSWERED_CURATED})


def canned(status: str, lang: str) -> str:
    """The citizen message for a status in ``lang`` (zh or en; anything else falls back to en)."""
    return MESSAGES[status]["zh" if lang == "zh" else "en"]

"""Request and response models of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class AskRequest(BaseModel):
    question: str = Field(..., description="The citizen's or staff member's question.", max_length=20000)
    tenant: str | None = Field(None, description="Tenant (department); default: the deployment's default tenant.")
    channel: Literal["citizen", "staff"] = Field("citizen", description="citizen: public knowledge only.")
    lang: Literal["zh", "en"] | None = Field(None, description="Answer language; default: detected.")
    conversation_id: str | None = Field(None, description="Follow-ups in one conversation share this id.",
                                        max_length=64)
    stream: bool = Field(False, description="Server-Sent Events instead of one JSON body.")


class Citation(BaseModel):
    n: int
    chunk_id: str
    source_id: str
    title: str
    url: str | None = None
    heading: str | None = None
    page: int | None = None
    digest: str | None = None
    snippet: str


class Risk(BaseModel):
    level: Literal["low", "medium", "high"]
    reasons: list[str]


class AnswerResponse(BaseModel):
    qid: str | None = None
    decision: str = Field(..., description="Machine-readable status from the closed vocabulary.")
    answer: str
    message: str | None = None
    warning: str | None = None
    ticket: str | None = None
    citations: list[Citation]
    risk: Risk
    ai_generated: bool = True
    kb_version: int | None
    trace_id: str
    lang: str
    generator: str
    timings_ms: dict[str, Any]

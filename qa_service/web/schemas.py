"""Request and response models of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class AskRequest(BaseModel):
    """Unknown fields are refused (422), so a misspelt ``tenat`` does not silently fall back to the default.
    The tenant is checked (pattern and existence) by web.auth.known_tenant, the one place for every route."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., description="The citizen's or staff member's question.", max_length=20000)
    tenant: str | None = Field(None, description="Tenant (department): a registered tenant name "
                                                 "(a-z, 0-9, '_', '-'; at most 64); default: the deployment's default "
                                                 "tenant.")
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

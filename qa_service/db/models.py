"""Relational records: KB versions, the source ledger, ingestion jobs, findings, answers, audit.

Every record carries a tenant. Schema changes go through Alembic (qa_service/db/migrations).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class KbVersion(Base):
    """One immutable snapshot of a tenant's knowledge base."""

    __tablename__ = "kb_versions"
    __table_args__ = (Index("ix_kb_versions_tenant_version", "tenant", "version", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # building|draft|live|previous|failed|deleted
    parent_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    embedding_model: Mapped[str] = mapped_column(String(200))
    source_count: Mapped[int] = mapped_column(Integer, default=0)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {source_id: digest}
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class Source(Base):
    """The ledger: where every piece of knowledge came from."""

    __tablename__ = "sources"
    __table_args__ = (Index("ix_sources_tenant_source", "tenant", "source_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(String(300))
    path: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    doc_type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(String(200), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    effective_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    expiry_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    digest: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="active")  # active|removed|refused|failed
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_changed: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_job_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    versions: Mapped[list[Any]] = mapped_column(JSON, default=list)  # version numbers it went into
    contact: Mapped[str | None] = mapped_column(Text, nullable=True)
    # where it applies (qa_service/place.py DocScope as stored: place, level, path, adcode, office, issue_date,
    # detected); and an editor's correction of it, applied from the next ingestion on
    scope: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    scope_override: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class IngestJob(Base):
    """One ingestion job. Uploads are queued here and run by a worker process (qa_service.ingest.worker)."""

    __tablename__ = "ingest_jobs"
    __table_args__ = (Index("ix_ingest_jobs_state_queued", "state", "queued_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16))  # queued|running|succeeded|partial|failed|cancelled|timed_out
    mode: Mapped[str] = mapped_column(String(8))
    paths: Mapped[list[Any]] = mapped_column(JSON, default=list)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str | None] = mapped_column(String(200), nullable=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{source, error}]
    publish: Mapped[bool] = mapped_column(default=False)  # publish the draft when the job succeeds
    parent_version: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the version the job builds on
    queued_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)  # host:pid of the claiming worker
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    deadline_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)  # run-time limit
    cancel_requested_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    cancel_requested_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


class Finding(Base):
    """Something a scan found: refused classified source, flagged chunk, PII in a public source."""

    __tablename__ = "ingest_findings"
    __table_args__ = (Index("ix_findings_tenant_kind", "tenant", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str] = mapped_column(String(40), ForeignKey("ingest_jobs.id"))
    source_id: Mapped[str] = mapped_column(String(300))
    chunk_id: Mapped[str | None] = mapped_column(String(320), nullable=True)
    digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(24))  # classified|injection|pii|hidden_text|unicode|extraction
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ChunkApproval(Base):
    """An editor's decision on a flagged chunk, keyed by content digest."""

    __tablename__ = "chunk_approvals"
    __table_args__ = (Index("ix_chunk_approvals", "tenant", "digest", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    chunk_id: Mapped[str] = mapped_column(String(320))
    decision: Mapped[str] = mapped_column(String(16))  # approved|rejected
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AnswerRecord(Base):
    """Every answer, reproducible: redacted question, status, risk, citations and passage snapshots."""

    __tablename__ = "answers"
    __table_args__ = (Index("ix_answers_tenant_created", "tenant", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trace_id: Mapped[str] = mapped_column(String(40), unique=True)
    tenant: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    conversation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    question: Mapped[str] = mapped_column(Text)  # redacted
    standalone_question: Mapped[str | None] = mapped_column(Text, nullable=True)
    lang: Mapped[str] = mapped_column(String(8))
    decision: Mapped[str] = mapped_column(String(40))
    answer: Mapped[str] = mapped_column(Text)
    risk_level: Mapped[str] = mapped_column(String(8))
    risk_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    citations: Mapped[list[Any]] = mapped_column(JSON, default=list)
    passages: Mapped[list[Any]] = mapped_column(JSON, default=list)  # snapshots shown to the generator
    removed_sentences: Mapped[list[Any]] = mapped_column(JSON, default=list)
    kb_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    generator: Mapped[str] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    prompt_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    llm_endpoint: Mapped[str | None] = mapped_column(String(500), nullable=True)  # which server said it
    retrieval_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    timings_ms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    raw_output: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuditEvent(Base):
    """Append-only, hash-chained audit trail. No unredacted personal data.

    ``key_id`` names the HMAC key a row is signed with; NULL marks a row written before the chain was keyed
    (plain sha256). No two signed rows may share a predecessor: the unique index makes a fork fail to commit.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_keyed_prev_hash", "prev_hash", unique=True,
                            sqlite_where=text("key_id IS NOT NULL"), postgresql_where=text("key_id IS NOT NULL")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    tenant: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(400), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    trace_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)


class User(Base):
    """A staff member, editor, admin or auditor. Only a hash of the API token is stored."""

    __tablename__ = "users"
    __table_args__ = (Index("ix_users_token_hash", "token_hash", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # staff | editor | admin | auditor
    tenant: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None = every tenant (admin, auditor)
    token_hash: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ReviewItem(Base):
    """An answer a person must look at: held (high risk), sampled (medium), not-helpful feedback, an
    escalation, or a curated answer whose cited passage changed. ``ticket`` is the citizen's handle."""

    __tablename__ = "review_items"
    __table_args__ = (Index("ix_review_tenant_state", "tenant", "state", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # held | sampled | feedback | escalation | recheck
    state: Mapped[str] = mapped_column(String(16), default="pending")
    # pending | claimed | approved | edited | rejected | escalated
    ticket: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    trace_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    question: Mapped[str] = mapped_column(Text)  # redacted
    draft_answer: Mapped[str] = mapped_column(Text, default="")
    citations: Mapped[list[Any]] = mapped_column(JSON, default=list)  # with the passage text as shown
    risk_level: Mapped[str] = mapped_column(String(8), default="high")
    risk_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    assignee: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    sla_due: Mapped[dt.datetime] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    final_answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    final_citations: Mapped[list[Any]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    curated_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # feedback items: how many not-helpful verdicts this open item gathers; "feedback:<trace id>" while open
    # (unique, so concurrent feedback on one answer cannot open a second item), NULL once resolved
    feedback_count: Mapped[int] = mapped_column(Integer, default=0)
    dedup_key: Mapped[str | None] = mapped_column(String(80), nullable=True, unique=True)


class CuratedAnswer(Base):
    """A staff-approved answer reused for matching questions of the same tenant."""

    __tablename__ = "curated_answers"
    __table_args__ = (Index("ix_curated_tenant_state", "tenant", "state"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="active")  # active | suspended | retired
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    questions: Mapped[list[Any]] = mapped_column(JSON, default=list)  # question variants (redacted)
    answer: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{n, chunk_id, digest, source_id, ...}]
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    suspended_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    review_item: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # "public" only when every cited passage is public; anything else (internal, unknown) is staff-only
    visibility: Mapped[str] = mapped_column(String(16), default="internal")
    # the question variants embedded once at save: float32 rows in ``questions`` order, and the model that made them
    vectors: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    vector_model: Mapped[str | None] = mapped_column(String(200), nullable=True)


class Feedback(Base):
    """A citizen's or staff member's verdict on one answer; the comment is redacted like questions."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_trace_client", "trace_id", "client_hash", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    trace_id: Mapped[str] = mapped_column(String(40), index=True)
    helpful: Mapped[bool] = mapped_column()
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # salted hash of the client address (never the address): one verdict per answer per client
    client_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Tenant(Base):
    """A department (tenant) the deployment serves, with the contact data citizens are pointed to.

    Registered by bootstrap (from the sample catalogs), by `qa ingest` into a new tenant and by `qa tenants add`;
    an inactive tenant is refused like an unknown one."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str | None] = mapped_column(String(200), nullable=True)
    name_en: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    address: Mapped[str | None] = mapped_column(Text, nullable=True)
    hours: Mapped[str | None] = mapped_column(Text, nullable=True)
    hotline: Mapped[str] = mapped_column(String(32), default="12345")
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ConversationTurn(Base):
    """One earlier question of a conversation (redacted, as stored answers are), shared by every API worker.

    A conversation is forgotten ``server.conversation_ttl_minutes`` after its last turn and keeps its last
    ``server.conversation_max_turns`` turns (qa_service/web/conversations.py; Redis holds them instead when
    ``server.redis_url`` is set)."""

    __tablename__ = "conversation_turns"
    __table_args__ = (Index("ix_conversation_turns_conv", "tenant", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class RateCount(Base):
    """Citizen rate-limit counts of one window, shared by every API worker when there is no Redis."""

    __tablename__ = "rate_counts"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # minutes since the epoch
    count: Mapped[int] = mapped_column(Integer, default=0)

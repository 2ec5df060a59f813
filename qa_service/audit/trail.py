"""The append-only, hash-chained audit trail.

Each row's ``hash`` = sha256(prev_hash + canonical JSON of the row's fields). ``verify`` recomputes
the chain and names the first row that does not match.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from qa_service.db.models import AuditEvent, utcnow

log = logging.getLogger(__name__)
GENESIS = "0" * 64
_FIELDS = ("at", "actor", "role", "tenant", "action", "target", "decision", "reasons", "trace_id", "detail")


def _canonical(row: AuditEvent) -> str:
    data: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(row, name)
        if isinstance(value, dt.datetime):
            value = value.replace(microsecond=value.microsecond).isoformat(timespec="microseconds")
        data[name] = value
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def row_hash(prev_hash: str, row: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + _canonical(row)).encode("utf-8")).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    role: str,
    action: str,
    tenant: str | None = None,
    target: str | None = None,
    decision: str | None = None,
    reasons: list[str] | None = None,
    trace_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction (serialised per database)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7301)"))
    last = session.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar()
    row = AuditEvent(
        at=utcnow(),
        actor=actor,
        role=role,
        tenant=tenant,
        action=action,
        target=target,
        decision=decision,
        reasons=list(reasons or []),
        trace_id=trace_id,
        detail=dict(detail or {}),
        prev_hash=last or GENESIS,
    )
    row.hash = row_hash(row.prev_hash, row)
    session.add(row)
    session.flush()
    log.info("audit action=%s actor=%s tenant=%s target=%s", action, actor, tenant, target)
    return row


@dataclass
class VerifyResult:
    ok: bool
    rows: int
    bad_id: int | None = None
    problem: str | None = None


def verify(session: Session) -> VerifyResult:
    """Recompute the chain; report the first row whose link or hash is wrong."""
    prev = GENESIS
    count = 0
    for row in session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
        count += 1
        if row.prev_hash != prev:
            return VerifyResult(False, count, row.id, "prev_hash does not match the previous row (row deleted?)")
        if row_hash(prev, row) != row.hash:
            return VerifyResult(False, count, row.id, "content does not match its hash (row changed)")
        prev = row.hash
    return VerifyResult(True, count)

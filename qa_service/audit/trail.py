"""The append-only, keyed, hash-chained audit trail.

Each row's ``hash`` = HMAC-SHA256(key, prev_hash + canonical JSON of the row's fields and key id), the key
kept outside the database (qa_service/audit/keys.py). Rows written before the chain was keyed have no key
id and ``hash`` = sha256(prev_hash + canonical JSON); they are verified as such, never re-signed, and an
unkeyed row after a keyed one is a break. Appends are serialised (one writer per database, see
:func:`qa_service.db.session.begin_serial_write`), so no two rows share a predecessor. ``verify`` lists
every break, and checks the heads exported to a file outside the database (qa_service/audit/heads.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_service.audit.keys import AuditKeyError, AuditKeys
from qa_service.db.models import AuditEvent, utcnow
from qa_service.db.session import begin_serial_write

log = logging.getLogger(__name__)
GENESIS = "0" * 64
APPEND_LOCK = 7301  # PostgreSQL advisory lock key of the chain
_FIELDS = ("at", "actor", "role", "tenant", "action", "target", "decision", "reasons", "trace_id", "detail")


def _canonical(row: AuditEvent, keyed: bool) -> str:
    data: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(row, name)
        if isinstance(value, dt.datetime):
            value = value.isoformat(timespec="microseconds")
        data[name] = value
    if keyed:
        data["key_id"] = row.key_id
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def row_hash(prev_hash: str, row: AuditEvent, key: bytes | None = None) -> str:
    """HMAC-SHA256 with ``key``; without one, the unkeyed sha256 of rows written before keys existed."""
    if key is None:
        return hashlib.sha256((prev_hash + _canonical(row, False)).encode("utf-8")).hexdigest()
    return hmac.new(key, (prev_hash + _canonical(row, True)).encode("utf-8"), hashlib.sha256).hexdigest()


def session_keys(session: Session) -> AuditKeys:
    keys = session.info.get("audit_keys")
    if not isinstance(keys, AuditKeys):
        raise AuditKeyError("this session carries no audit keys: open it with Database.session()")
    return keys


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
    """Append one signed event in the caller's transaction, which becomes the chain's only writer until it ends."""
    kid, key = session_keys(session).signing()
    begin_serial_write(session, APPEND_LOCK)
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
        key_id=kid,
    )
    row.hash = row_hash(row.prev_hash, row, key)
    session.add(row)
    session.flush()
    log.info("audit action=%s actor=%s tenant=%s target=%s", action, actor, tenant, target)
    return row


@dataclass(frozen=True)
class Break:
    row_id: int | None  # None: a problem of the heads file itself
    problem: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.row_id, "problem": self.problem}


@dataclass
class VerifyResult:
    rows: int
    breaks: list[Break] = field(default_factory=list)
    keyed: int = 0
    unkeyed: int = 0
    heads_checked: int = 0
    head: dict[str, Any] | None = None  # the newest row: id, hash, key_id

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def bad_id(self) -> int | None:
        return self.breaks[0].row_id if self.breaks else None

    @property
    def problem(self) -> str | None:
        return self.breaks[0].problem if self.breaks else None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "rows": self.rows, "keyed": self.keyed, "unkeyed": self.unkeyed,
                "heads_checked": self.heads_checked, "head": self.head, "bad_id": self.bad_id,
                "problem": self.problem, "breaks": [b.as_dict() for b in self.breaks]}


def _check_rows(rows: Iterable[AuditEvent], keys: AuditKeys, res: VerifyResult) -> dict[int, tuple[str, int]]:
    """Every row: its link to the row before (as stored) and its own hash. Returns id -> (hash, rows so far)."""
    prev, prev_id = GENESIS, None
    seen: dict[str, int] = {}  # hash -> row id, to name the row a fork points at
    index: dict[int, tuple[str, int]] = {}
    for row in rows:
        res.rows += 1
        if row.prev_hash != prev:
            if row.prev_hash in seen:
                res.breaks.append(Break(row.id, f"fork: links to row {seen[row.prev_hash]}, not to the row before "
                                                f"it ({prev_id}); two appends read the same predecessor"))
            else:
                res.breaks.append(Break(row.id, f"prev_hash does not match row {prev_id}'s hash "
                                                "(a row before it deleted or rewritten?)"))
        if row.key_id is None:
            res.unkeyed += 1
            if res.keyed:
                res.breaks.append(Break(row.id, "unkeyed row after keyed rows (re-hashed without the key?)"))
            elif row_hash(row.prev_hash, row) != row.hash:
                res.breaks.append(Break(row.id, "content does not match its hash (row changed)"))
        else:
            res.keyed += 1
            key = keys.lookup(row.key_id)
            if key is None:
                res.breaks.append(Break(row.id, f"signed with key id {row.key_id}, which is not the configured key "
                                                "(wrong QA_AUDIT__KEY / key file, or a forged key id)"))
            elif not hmac.compare_digest(row_hash(row.prev_hash, row, key), row.hash):
                res.breaks.append(Break(row.id, "content does not match its HMAC (row changed, or re-hashed "
                                                "without the key)"))
        seen.setdefault(row.hash, row.id)
        index[row.id] = (row.hash, res.rows)
        prev, prev_id = row.hash, row.id
        res.head = {"id": row.id, "hash": row.hash, "key_id": row.key_id}
    return index


def verify(session: Session, heads_file: Path | None = None, keys: AuditKeys | None = None) -> VerifyResult:
    """Recompute the whole chain and list every break; with ``heads_file``, also check every exported head."""
    from qa_service.audit.heads import check_heads

    keys = keys or session_keys(session)
    res = VerifyResult(rows=0)
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000)).scalars()
    index = _check_rows(rows, keys, res)
    if heads_file is not None:
        res.heads_checked = check_heads(heads_file, index, keys, res.breaks)
    if res.breaks:
        log.warning("audit verify ok=false rows=%s breaks=%s first_id=%s", res.rows, len(res.breaks), res.bad_id)
    return res

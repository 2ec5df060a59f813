"""Exported heads: (row id, hash, rows, time) appended to a file outside the database.

The chain alone cannot show that its newest rows were deleted, or that the whole table was rewritten by
someone holding the key. A head exported before that still names a row id and hash (and how many rows
led to it) that ``verify`` finds gone or changed. Each line is signed with the audit key, so a forged
line is reported too. The file is opened append-only; keep it (or a copy) where the database's writers
cannot rewrite it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa_service.audit.keys import AuditKeys
from qa_service.db.models import AuditEvent, utcnow

if TYPE_CHECKING:
    from qa_service.audit.trail import Break

log = logging.getLogger(__name__)
_MAC_FIELDS = ("id", "hash", "rows", "exported_at", "mac_key_id")


def _mac(key: bytes, head: dict[str, Any]) -> str:
    msg = json.dumps({k: head.get(k) for k in _MAC_FIELDS}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).hexdigest()


def export_head(session: Session, keys: AuditKeys, path: Path) -> dict[str, Any] | None:
    """Append the newest committed row's id and hash (and the row count up to it); None when the trail is empty."""
    last = session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    if last is None:
        return None
    rows = int(session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= last.id)) or 0)
    kid, key = keys.signing()
    head: dict[str, Any] = {"id": last.id, "hash": last.hash, "rows": rows,
                            "exported_at": utcnow().isoformat(timespec="seconds"), "mac_key_id": kid}
    head["mac"] = _mac(key, head)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(head, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    log.info("audit head exported id=%s rows=%s file=%s", last.id, rows, path)
    return head


def check_heads(path: Path, index: dict[int, tuple[str, int]], keys: AuditKeys, breaks: list[Break]) -> int:
    """Check every exported head against the rows (id -> (hash, rows up to it)); append a Break per mismatch."""
    from qa_service.audit.trail import Break

    if not path.exists():
        return 0
    checked, last_id = 0, 0
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        checked += 1
        try:
            head = json.loads(line)
            hid, hhash, hrows = int(head["id"]), str(head["hash"]), int(head["rows"])
        except (ValueError, KeyError, TypeError):
            breaks.append(Break(None, f"heads file line {n} is not a head (file edited?)"))
            continue
        key = keys.lookup(str(head.get("mac_key_id")))
        if key is None or not hmac.compare_digest(_mac(key, head), str(head.get("mac"))):
            breaks.append(Break(hid, f"head line {n} (row {hid}) is not signed with the configured key "
                                     "(heads file edited, or another key)"))
            continue
        when = head.get("exported_at")
        if hid < last_id:
            breaks.append(Break(hid, f"head line {n} names row {hid}, older than the head before it ({last_id})"))
        last_id = max(last_id, hid)
        if hid not in index:
            breaks.append(Break(hid, f"row {hid}, the head exported at {when}, is missing "
                                     "(table truncated or row deleted after the export)"))
        elif index[hid][0] != hhash:
            breaks.append(Break(hid, f"row {hid}'s hash differs from the head exported at {when} "
                                     "(row rewritten after the export)"))
        elif index[hid][1] != hrows:
            breaks.append(Break(hid, f"{hrows} rows led to row {hid} when exported at {when}, {index[hid][1]} now "
                                     "(rows before it deleted or inserted after the export)"))
    return checked

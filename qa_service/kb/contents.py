"""What an editor reads about a version: its documents with their ledger metadata, and a diff between two
versions by document, with the changed passages as text."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_service.db.models import Source
from qa_service.kb.store import VectorStore
from qa_service.kb.versions import VersionError, get_version

MAX_PASSAGES = 20  # changed passages shown per document
MAX_CHARS = 1200  # characters of one passage text


def _ledger(session: Session, tenant: str, ids: set[str]) -> dict[str, Source]:
    if not ids:
        return {}
    return {r.source_id: r for r in session.scalars(
        select(Source).where(Source.tenant == tenant, Source.source_id.in_(sorted(ids))))}


def source_dict(source_id: str, row: Source | None, today: dt.date | None = None) -> dict[str, Any]:
    day = today or dt.date.today()
    if row is None:
        return {"source_id": source_id, "title": source_id}
    return {"source_id": source_id, "title": row.title, "url": row.url, "doc_type": row.doc_type,
            "department": row.department, "language": row.language, "visibility": row.visibility,
            "effective_date": row.effective_date.isoformat() if row.effective_date else None,
            "expiry_date": row.expiry_date.isoformat() if row.expiry_date else None,
            "expired": bool(row.expiry_date and row.expiry_date < day),
            "not_yet_effective": bool(row.effective_date and row.effective_date > day),
            "chunks": row.chunk_count, "bytes": row.bytes, "pages": row.pages, "digest": row.digest,
            "last_changed": row.last_changed.isoformat() if row.last_changed else None,
            # where it applies (issue 22): as in this ledger row (detected or given), and a pending correction
            "scope": scope_view(row.scope), "scope_override": dict(row.scope_override or {}) or None}


def scope_view(scope: dict[str, Any] | None) -> dict[str, Any] | None:
    """The fields the console shows of a ledger scope record."""
    if not scope:
        return None
    return {k: scope.get(k) for k in ("jurisdiction", "place_level", "adcode", "office", "issue_date",
                                      "effective_date", "expiry_date", "detected")}


def documents(session: Session, tenant: str, version: int) -> list[dict[str, Any]]:
    """The documents ``version`` holds (its manifest) with their ledger metadata, by title."""
    row = get_version(session, tenant, version)
    manifest = dict(row.manifest or {})
    ledger = _ledger(session, tenant, set(manifest))
    out = [source_dict(sid, ledger.get(sid)) for sid in manifest]
    return sorted(out, key=lambda d: (str(d.get("title") or "").casefold(), d["source_id"]))


def _passages(store: VectorStore, tenant: str, version: int) -> dict[str, dict[str, Any]]:
    reader = store.open_version(tenant, version)
    try:
        return {p.chunk_id: {"source_id": str(p.payload.get("source_id", "")),
                             "digest": str(p.payload.get("digest", "")),
                             "heading": p.payload.get("heading") or "",
                             "section_type": p.payload.get("section_type") or "",
                             "text": str(p.payload.get("text") or "")[:MAX_CHARS]}
                for p in reader.iter_points(with_vectors=False)}
    finally:
        reader.close()


def readable_diff(session: Session, store: VectorStore, tenant: str, v1: int, v2: int) -> dict[str, Any]:
    """Documents added, removed and changed from ``v1`` to ``v2``; for a changed document its passages
    added, removed and changed (old and new text)."""
    a, b = get_version(session, tenant, v1), get_version(session, tenant, v2)
    for row in (a, b):
        if not store.has_version(tenant, row.version):
            raise VersionError(f"version {row.version} ({row.state}) has no index to compare")
    ma, mb = dict(a.manifest or {}), dict(b.manifest or {})
    pa, pb = _passages(store, tenant, v1), _passages(store, tenant, v2)
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cid in sorted(set(pa) | set(pb)):
        old, new = pa.get(cid), pb.get(cid)
        if old and new and old["digest"] == new["digest"]:
            continue
        kind = "added" if old is None else "removed" if new is None else "changed"
        ref = new or old
        assert ref is not None
        by_source[ref["source_id"]].append({"chunk_id": cid, "change": kind, "heading": ref["heading"],
                                            "section_type": ref["section_type"],
                                            "old": old["text"] if old else None,
                                            "new": new["text"] if new else None})
    ids = set(ma) | set(mb)
    ledger = _ledger(session, tenant, ids)
    added = sorted(set(mb) - set(ma))
    removed = sorted(set(ma) - set(mb))
    changed = sorted(k for k in set(ma) & set(mb) if ma[k] != mb[k] or by_source.get(k))

    def doc(sid: str, with_passages: bool) -> dict[str, Any]:
        d = source_dict(sid, ledger.get(sid))
        if with_passages:
            d["passages"] = by_source.get(sid, [])[:MAX_PASSAGES]
            d["passages_changed"] = len(by_source.get(sid, []))
        return d

    return {"v1": v1, "v2": v2, "added": [doc(s, False) for s in added], "removed": [doc(s, False) for s in removed],
            "changed": [doc(s, True) for s in changed],
            "counts": {"added": len(added), "removed": len(removed), "changed": len(changed),
                       "passages": sum(len(v) for v in by_source.values())}}

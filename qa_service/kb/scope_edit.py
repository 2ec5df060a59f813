"""An editor's correction of where a source applies (issue 22): jurisdiction, issuing office and dates.

A correction is a catalog patch kept in the ledger (``sources.scope_override``): versions are immutable, so it
takes effect in the **next version** any ingestion job builds for the tenant — a source read again gets it as
catalog metadata (qa_service/ingest/pipeline.py), a source copied unchanged gets its stored points' payload
patched (qa_service/ingest/build.py) — and that version goes through the usual diff and publish. Sending a
field empty drops the correction of that field (back to the catalog or the detector)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_service.audit.trail import record
from qa_service.db.models import Source
from qa_service.ingest.catalog import CatalogError
from qa_service.place import check_override


class ScopeEditError(CatalogError):
    """A correction that cannot be used (unknown source, unknown field, unreadable date or place)."""


def set_scope_override(session: Session, tenant: str, source_id: str, fields: dict[str, Any], actor: str,
                       role: str) -> Source:
    """Merge ``fields`` into the source's correction (empty values drop a field) and audit ``kb.scope_edit``."""
    row = session.execute(select(Source).where(Source.tenant == tenant, Source.source_id == source_id)
                          ).scalar_one_or_none()
    if row is None or row.state != "active":
        raise ScopeEditError(f"no active source {source_id!r} in tenant {tenant!r}")
    try:
        given = check_override(fields)
    except ValueError as exc:
        raise ScopeEditError(str(exc)) from exc
    merged = {**dict(row.scope_override or {}), **given}
    for key, value in fields.items():
        if value is None or str(value).strip() == "":
            merged.pop(key, None)
    row.scope_override = merged or None
    record(session, actor=actor, role=role, tenant=tenant, action="kb.scope_edit", target=source_id,
           detail={"override": merged})
    return row

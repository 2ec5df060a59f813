"""Editor decisions on text flagged at ingestion (instructions aimed at an AI).

A flag is keyed by the sha256 digest of the text held back: the sentences cut out of a chunk (see
``qa_service.ingest.prepare``), or a whole chunk that could not be cleaned sentence by sentence (and flags
recorded before sentences were cut out). An approved digest is left in its chunk from the next ingestion on.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_service.audit.trail import record as audit
from qa_service.db.models import ChunkApproval, Finding, Source
from qa_service.kb.versions import VersionError


def decide_flag(session: Session, tenant: str, digest_prefix: str, decision: str, actor: str) -> str:
    """Record approve/reject for a flagged text (sentences cut out of a chunk, or a whole chunk); returns the
    full digest.

    Approval marks the text's source as changed in the ledger so the next ingestion reprocesses it.
    """
    if len(digest_prefix) < 8:
        raise VersionError("give at least 8 characters of the digest")
    rows = list(session.execute(
        select(Finding).where(Finding.tenant == tenant, Finding.kind == "injection",
                              Finding.digest.startswith(digest_prefix))
    ).scalars())
    digests = {r.digest for r in rows if r.digest}
    if len(digests) != 1:
        raise VersionError(f"{len(digests)} flagged texts match {digest_prefix!r}; need exactly one")
    digest = digests.pop()
    finding = rows[0]
    row = session.execute(
        select(ChunkApproval).where(ChunkApproval.tenant == tenant, ChunkApproval.digest == digest)
    ).scalar_one_or_none()
    if row is None:
        row = ChunkApproval(tenant=tenant, digest=digest, chunk_id=finding.chunk_id or "", decision=decision,
                            decided_by=actor)
        session.add(row)
    else:
        row.decision, row.decided_by = decision, actor
    src = session.execute(
        select(Source).where(Source.tenant == tenant, Source.source_id == finding.source_id)
    ).scalar_one_or_none()
    if src is not None and decision == "approved":
        src.digest = "reprocess"
    audit(session, actor=actor, role="editor", tenant=tenant, action=f"kb.flag.{decision}",
          target=finding.chunk_id, detail={"digest": digest})
    return digest

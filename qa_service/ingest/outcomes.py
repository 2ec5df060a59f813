"""The vocabulary of an ingestion job (qa_service/ingest/pipeline.py IngestJobRun): its phases, what happened to
each source, and the states a finished job ends in."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    """Where a job is: the phases run in this order; ``failed_at`` names the one an exception ended."""

    START = "start"  # validate, recover orphans, choose the parent, allocate the version
    SOURCES = "sources"  # each source: unchanged, prepared, refused, failed ...
    BUILD = "build"  # copy kept sources, seal the version
    RECORD = "record"  # draft or discard, ledger, job row, audit
    PUBLISH = "publish"  # publish and clean (versions.publish_and_clean), when asked
    DONE = "done"


class SourceOutcome(StrEnum):
    """What happened to one source in a job (counted in ``IngestResult.sources``)."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REMOVED = "removed"
    REFUSED = "refused"
    FAILED = "failed"
    FAILED_KEEP = "failed_keep"  # failed, and its previous chunks stay in the new version
    SKIPPED = "skipped"

    @property
    def counted_as(self) -> str:
        return "failed" if self is SourceOutcome.FAILED_KEEP else self.value


#: the states a finished job ends in (a job that changed nothing ends ``no_changes``)
JOB_END_STATES = frozenset({"succeeded", "partial", "no_changes", "failed", "cancelled", "timed_out"})

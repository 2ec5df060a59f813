"""The exceptions that mean "the user asked for something that cannot be done" (exit 1/HTTP 4xx)."""

from __future__ import annotations

from qa_service.ingest.catalog import CatalogError
from qa_service.ingest.pipeline import IngestError
from qa_service.kb.versions import VersionError

USER_ERRORS: tuple[type[Exception], ...] = (CatalogError, IngestError, VersionError)

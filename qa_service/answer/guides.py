"""The typed sections of a guide, read from the version the question was answered from.

Retrieval hands the generator the few best passages; a guide's answer is made of its sections whole (the asked
element, or an overview of eligibility, documents, where and when, fees and time), which may lie in passages
retrieval did not rank. :class:`GuideSections` fetches them: the chunks of one source whose ``section_type``
(qa_service/ingest/sections.py) names an element, in document order, with the channel's visibility and valid
today.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from qa_service.ingest.catalog import date_int
from qa_service.ingest.sections import ELEMENTS, types_of
from qa_service.kb.types import Hit, SearchFilter

if TYPE_CHECKING:
    from qa_service.kb.live import LiveReaderCache

log = logging.getLogger(__name__)


def chunk_number(chunk_id: str) -> int:
    """The position of a chunk in its source (``{source_id}:{n}``); -1 when the id carries none."""
    tail = chunk_id.rpartition(":")[2]
    return int(tail) if tail.isdigit() else -1


class GuideSections:
    """Built with the live-reader cache; ``element_chunks`` per question."""

    def __init__(self, live: LiveReaderCache, max_chunks: int) -> None:
        self.live = live
        self.max_chunks = max_chunks

    def element_chunks(self, tenant: str, version: int | None, source_id: str, visibility: list[str] | None,
                       query_vector: list[float]) -> list[Hit]:
        """The element-typed chunks of ``source_id`` in ``version`` (empty when that is no longer live), in
        document order."""
        got = self.live.get(tenant)
        if got is None or version is None or got[0] != version or not query_vector:
            return []
        _, reader = got
        hits = reader.dense(query_vector, SearchFilter(visibility=visibility, source_ids=[source_id]),
                            self.max_chunks)
        today = date_int(dt.date.today(), 0)
        out = [h for h in hits
               if any(t in ELEMENTS for t in types_of(str(h.payload.get("section_type") or "")))
               and int(h.payload.get("effective") or 0) <= today <= int(h.payload.get("expiry") or 99991231)]
        return sorted(out, key=lambda h: chunk_number(h.chunk_id))

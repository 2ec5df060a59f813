"""The typed sections of a guide, read from the version the question was answered from.

Retrieval hands the generator the few best passages; a guide's answer is made of its sections whole (the asked
element, or an overview of eligibility, documents, where and when, fees and time), which may lie in passages
retrieval did not rank. :class:`GuideSections` fetches them: the chunks of one source under a heading of their
own (``section_type`` an element or ``other``, qa_service/ingest/sections.py), in document order, with the
channel's visibility and valid today.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from qa_service.ingest.sections import ELEMENTS, OTHER, types_of
from qa_service.kb.retriever import in_force
from qa_service.kb.types import Hit, SearchFilter

if TYPE_CHECKING:
    from qa_service.kb.live import LiveReaderCache

log = logging.getLogger(__name__)


def _sectioned(section_type: str) -> bool:
    return section_type == OTHER or any(t in ELEMENTS for t in types_of(section_type))


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
        """The chunks of ``source_id`` in ``version`` under a heading of their own (element-typed or ``other``;
        not the overview, not FAQ entries), in document order; empty when ``version`` is no longer live."""
        got = self.live.get(tenant)
        if got is None or version is None or got[0] != version or not query_vector:
            return []
        _, reader = got
        hits = reader.dense(query_vector, SearchFilter(visibility=visibility, source_ids=[source_id]),
                            self.max_chunks)
        valid, _ = in_force(hits, dt.date.today())
        out = [h for h in valid if _sectioned(str(h.payload.get("section_type") or ""))]
        return sorted(out, key=lambda h: chunk_number(h.chunk_id))

"""Suggested questions for the citizen widget, built from a tenant's live, published knowledge.

Only what a citizen may read goes in: public, in-date passages of the live version (the same visibility and
validity rules the citizen channel's retrieval applies). FAQ questions come first, one from each FAQ source in
turn, then the titles of the guides; each in the language asked for (Han characters ⇒ zh)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from qa_service.ingest.catalog import date_int
from qa_service.kb.store import VersionReader
from qa_service.plaintext import plain_text
from qa_service.text import is_chinese as is_cjk

log = logging.getLogger(__name__)
MAX_CHARS = 90  # a longer question or title makes a poor button
NO_EXPIRY = 99991231


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str  # faq | guide
    source_id: str

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "kind": self.kind, "source_id": self.source_id}


def _citizen_may_read(payload: dict[str, Any], today: int) -> bool:
    if payload.get("visibility") != "public":
        return False
    effective, expiry = int(payload.get("effective") or 0), int(payload.get("expiry") or NO_EXPIRY)
    return effective <= today <= expiry


def _in_lang(text: str, lang: str) -> bool:
    return is_cjk(text) == (lang == "zh")


def _clean(text: object) -> str:
    return " ".join(plain_text(str(text or "")).split())


def build(reader: VersionReader, lang: str, today: dt.date | None = None) -> list[Suggestion]:
    """Every suggestion the live version offers in ``lang``, in display order."""
    day = date_int(today or dt.date.today(), 0)
    faq: dict[str, list[tuple[int, str]]] = defaultdict(list)
    guides: dict[str, str] = {}
    for point in reader.iter_points(with_vectors=False):
        p = point.payload
        if not _citizen_may_read(p, day):
            continue
        source_id = str(p.get("source_id") or "")
        if p.get("kind") == "faq":
            question = _clean(str(p.get("text") or "").split("\n", 1)[0])
            if question and len(question) <= MAX_CHARS and _in_lang(question, lang):
                faq[source_id].append((int(p.get("n") or 0), question))
        else:
            title = _clean(p.get("title"))
            if title and len(title) <= MAX_CHARS and _in_lang(title, lang):
                guides[source_id] = title
    out: list[Suggestion] = []
    seen: set[str] = set()
    queues = [sorted(faq[s]) for s in sorted(faq)]
    for depth in range(max((len(q) for q in queues), default=0)):  # one from each FAQ source in turn
        for sid, q in zip(sorted(faq), queues, strict=True):
            if depth < len(q) and q[depth][1] not in seen:
                seen.add(q[depth][1])
                out.append(Suggestion(q[depth][1], "faq", sid))
    for sid in sorted(guides, key=lambda s: guides[s]):
        if guides[sid] not in seen:
            seen.add(guides[sid])
            out.append(Suggestion(guides[sid], "guide", sid))
    return out


class SuggestionCache:
    """Suggestions per (tenant, live version, language, day): a publish or a new day rebuilds them."""

    def __init__(self, max_entries: int = 64) -> None:
        self.max_entries = max_entries
        self._entries: dict[tuple[str, int, str, int], list[Suggestion]] = {}
        self._lock = threading.Lock()

    def get(self, tenant: str, version: int, reader: VersionReader, lang: str) -> list[Suggestion]:
        key = (tenant, version, lang, date_int(dt.date.today(), 0))
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None:
            return hit
        built = build(reader, lang)
        log.info("suggestions built tenant=%s version=%s lang=%s count=%d", tenant, version, lang, len(built))
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = built
        return built

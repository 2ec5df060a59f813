"""Which documents of a version apply where a question asks (issue 22): the retrieve step's place filter.

A :class:`PlaceIndex` is read once per (tenant, version) from the stored payloads (one scan, like the term
statistics): each source's place, office and validity dates, and the English places the version names (so a
question's "Northgate" resolves to Riverton > Northgate). :meth:`PlaceFilter.plan` turns a question into a
:class:`PlaceCheck`: what it names and which sources do **not** apply there (another place's documents), which
the retriever then excludes. National documents and documents that name no place apply everywhere. A source that
a newer notice of the version ``supersedes`` (catalog key) is excluded from every question.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from qa_service.place import Place, QuestionScope, applies, detect_question, known_places, place_from_payload

if TYPE_CHECKING:
    from qa_service.kb.live import LiveReaderCache
    from qa_service.kb.store import VersionReader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceScope:
    """One source of a version: where it applies and who issued it."""

    place: Place | None
    office: str | None


@dataclass
class PlaceIndex:
    """The sources of one version by where they apply."""

    sources: dict[str, SourceScope] = field(default_factory=dict)
    known: dict[str, Place] = field(default_factory=dict)  # English places by name key
    superseded: list[str] = field(default_factory=list)  # sources a newer notice in the version replaces

    @property
    def has_places(self) -> bool:
        return any(s.place is not None and not s.place.national for s in self.sources.values())

    @property
    def place_count(self) -> int:
        return len({s.place.name for s in self.sources.values() if s.place is not None and not s.place.national})

    @classmethod
    def read(cls, reader: VersionReader) -> PlaceIndex:
        out: dict[str, SourceScope] = {}
        replaced: set[str] = set()
        for p in reader.iter_points(with_vectors=False):
            sid = str(p.payload.get("source_id"))
            if sid not in out:
                office = p.payload.get("office")
                out[sid] = SourceScope(place_from_payload(p.payload), str(office) if office else None)
                if p.payload.get("supersedes"):
                    replaced.add(str(p.payload["supersedes"]))
        places = [s.place for s in out.values() if s.place is not None]
        return cls(out, known_places(places), sorted(replaced & set(out)))


@dataclass
class PlaceCheck:
    """The retrieve step's place result, read by the place check and the decline message."""

    asked: QuestionScope
    excluded: list[str] = field(default_factory=list)  # sources of other places, kept out of retrieval
    superseded: list[str] = field(default_factory=list)  # older notices replaced by one in the version: never cited
    elsewhere: list[str] = field(default_factory=list)  # places whose documents matched when not excluded
    held_places: bool = False  # the version holds place-specific documents at all
    place_count: int = 0  # distinct places (not national) the version's documents apply to
    note: str | None = None  # the plain sentence saying whose rule is shown, or that the asked place has none

    def signals(self) -> dict[str, object]:
        a = self.asked
        return {"asked_place": a.place.name if a.place else None, "asked_office": a.office, "asked_year": a.year,
                "place_excluded": len(self.excluded), "place_elsewhere": list(self.elsewhere),
                "superseded_excluded": list(self.superseded)}


class PlaceFilter:
    """Built once with the live readers; ``plan`` per question."""

    def __init__(self, live: LiveReaderCache) -> None:
        self.live = live
        self._cache: dict[tuple[str, int], PlaceIndex] = {}
        self._lock = threading.Lock()

    def index(self, tenant: str) -> PlaceIndex | None:
        cached = self.live.get(tenant)
        if cached is None:
            return None
        version, reader = cached
        key = (tenant, version)
        with self._lock:
            idx = self._cache.get(key)
        if idx is None:
            idx = PlaceIndex.read(reader)
            with self._lock:
                for old in [k for k in self._cache if k[0] == tenant]:
                    del self._cache[old]
                self._cache[key] = idx
            log.info("place index tenant=%s version=%s sources=%s places=%s", tenant, version, len(idx.sources),
                     sum(s.place is not None for s in idx.sources.values()))
        return idx

    def plan(self, tenant: str, question: str) -> PlaceCheck | None:
        """What the question names and which sources are another place's; None when the tenant has nothing
        live. The question is read for a place only when the version holds place-specific documents."""
        idx = self.index(tenant)
        if idx is None:
            return None
        asked = detect_question(question, idx.known)
        check = PlaceCheck(asked, held_places=idx.has_places, place_count=idx.place_count,
                           superseded=list(idx.superseded))
        if asked.place is not None and idx.has_places:
            check.excluded = sorted(sid for sid, s in idx.sources.items() if not applies(s.place, asked.place))
        return check

    def scope_of(self, tenant: str, source_id: str) -> SourceScope | None:
        idx = self.index(tenant)
        return idx.sources.get(source_id) if idx is not None else None

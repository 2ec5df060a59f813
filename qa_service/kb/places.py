"""Which documents of a version apply where a question asks (issue 22): the retrieve step's place filter.

A :class:`PlaceIndex` is read once per (tenant, version) from the stored payloads (one scan, like the term
statistics): each source's place, office and validity dates, and the English places the version names (so a
question's "Northgate" resolves to Riverton > Northgate). :meth:`PlaceFilter.plan` turns a question into a
:class:`PlaceCheck`: what it names and which sources do **not** apply there (another place's documents), which
the retriever then excludes. National documents and documents that name no place apply everywhere.

Expired and superseded notices (issue 22: "cited only with its date and a warning, and never over the current
one"). A notice is superseded by a newer one of the version that names it (catalog ``supersedes``) or that has the
same issuing office, place and title family (the title without its own year, :func:`~qa_service.place.title_family`);
a superseded notice is in force until the day before its successor takes effect. The retriever reports the
passages that are not in force today (``RetrievalResult.lapsed``, in fused order) and :meth:`PlaceCheck.admit`
lets some back in, each recorded in ``PlaceCheck.lapsed`` so the place check cites it only with its dates and a
warning (``source_expired``):

- a question naming a past period (a year or a month of it): the lapsed passages of notices in force during that
  period, and a current notice whose predecessor in its family covers the period while it does not is dropped;
- any other question: lapsed passages ranked ahead of every passage in force (nothing current answers better),
  except a superseded notice's: while its successor is in force it is never cited.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from qa_service.ingest.catalog import date_int
from qa_service.place import (
    Place,
    QuestionScope,
    applies,
    detect_question,
    in_force_during,
    known_places,
    office_key,
    place_from_payload,
    title_family,
)

if TYPE_CHECKING:
    from qa_service.kb.live import LiveReaderCache
    from qa_service.kb.store import VersionReader
    from qa_service.kb.types import Hit

NO_END = 99991231

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceScope:
    """One source of a version: where it applies and who issued it."""

    place: Place | None
    office: str | None
    title: str = ""
    issued: int = 0  # yyyymmdd, 0 = unknown
    effective: int = 0  # yyyymmdd, 0 = no start
    expiry: int = NO_END  # yyyymmdd as stated (a successor may end it earlier: PlaceIndex.until)

    @property
    def start(self) -> int:
        """When the notice took effect, else when it was issued: the order of one family's versions."""
        return self.effective or self.issued

    def family(self) -> tuple[str, str, str] | None:
        """(place, office key, title family) of a notice with an issuer and a title; None otherwise."""
        fam = title_family(self.title)
        if not self.office or not fam:
            return None
        return (self.place.name if self.place else "", office_key(self.office), fam)


def _day(value: Any, default: int) -> int:
    try:
        return int(value or default)
    except (TypeError, ValueError):
        return default


@dataclass
class PlaceIndex:
    """The sources of one version by where they apply."""

    sources: dict[str, SourceScope] = field(default_factory=dict)
    known: dict[str, Place] = field(default_factory=dict)  # English places by name key
    successor: dict[str, str] = field(default_factory=dict)  # source → the newer notice of the version replacing it
    _excluded: dict[Place, list[str]] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def superseded(self) -> list[str]:
        """Sources a newer notice of the version replaces."""
        return sorted(self.successor)

    def until(self, source_id: str) -> int:
        """The last day (yyyymmdd) a source is in force: its expiry, or the day before its successor starts."""
        s = self.sources.get(source_id)
        if s is None:
            return NO_END
        end = s.expiry
        nxt = self.successor.get(source_id)
        if nxt is not None:
            start = self.sources[nxt].start
            if start:
                end = min(end, date_int(dt.date(start // 10000, start // 100 % 100, start % 100)
                                        - dt.timedelta(days=1), end))
        return end

    # The index is built once per live version (``read``) and never changed after, so what a question's plan
    # reads of the whole index is computed once, not per question (at 50k sources that was ~8 ms a question).

    def ends(self) -> dict[str, int]:
        """Sources whose successor ends them before their stated expiry: source → last day in force (a copy)."""
        return dict(self._ends)

    @cached_property
    def _ends(self) -> dict[str, int]:
        return {sid: self.until(sid) for sid in self.successor if self.until(sid) < self.sources[sid].expiry}

    @cached_property
    def has_places(self) -> bool:
        return any(s.place is not None and not s.place.national for s in self.sources.values())

    @cached_property
    def place_count(self) -> int:
        return len({s.place.name for s in self.sources.values() if s.place is not None and not s.place.national})

    def excluded_for(self, asked: Place) -> list[str]:
        """Sources that do not apply to ``asked`` (sorted), computed once per place asked about."""
        got = self._excluded.get(asked)
        if got is None:
            got = sorted(sid for sid, s in self.sources.items() if not applies(s.place, asked))
            if len(self._excluded) >= 256:  # a bounded memo: the places questions name are few
                self._excluded.clear()
            self._excluded[asked] = got
        return list(got)

    @cached_property
    def superseded_unstarted(self) -> list[str]:
        """Superseded sources whose successor states no start date (always barred while it is in the version)."""
        return [sid for sid, nxt in sorted(self.successor.items()) if not self.sources[nxt].start]

    @classmethod
    def read(cls, reader: VersionReader) -> PlaceIndex:
        out: dict[str, SourceScope] = {}
        named: dict[str, str] = {}  # older → newer, as the catalog says
        for p in reader.iter_points(with_vectors=False):
            pl = p.payload
            sid = str(pl.get("source_id"))
            if sid not in out:
                office = pl.get("office")
                out[sid] = SourceScope(place_from_payload(pl), str(office) if office else None,
                                       str(pl.get("title") or ""), _day(pl.get("issued"), 0),
                                       _day(pl.get("effective"), 0), _day(pl.get("expiry"), NO_END))
                if pl.get("supersedes"):
                    named[str(pl["supersedes"])] = sid
        places = [s.place for s in out.values() if s.place is not None]
        return cls(out, known_places(places), successors(out, named))


def successors(sources: dict[str, SourceScope], named: dict[str, str]) -> dict[str, str]:
    """Each superseded source's successor: the catalog's ``supersedes``, else the next newer notice of the same
    family (:meth:`SourceScope.family`; a family's notices ordered by when they took effect or were issued)."""
    out = {old: new for old, new in named.items() if old in sources and new in sources and old != new}
    families: dict[tuple[str, str, str], list[str]] = {}
    for sid, s in sources.items():
        fam = s.family()
        if fam is not None and s.start:
            families.setdefault(fam, []).append(sid)
    for members in families.values():
        members.sort(key=lambda sid: (sources[sid].start, sid))
        for old, new in itertools.pairwise(members):
            if sources[new].start > sources[old].start:
                out.setdefault(old, new)
    return out


@dataclass(frozen=True)
class Lapsed:
    """A notice not in force today that a passage was let back in from (cited only with a warning)."""

    source_id: str
    title: str
    issued: int
    effective: int
    until: int  # last day in force
    successor: str | None  # the title of the notice replacing it, when one does

    def signal(self) -> dict[str, object]:
        return {"source_id": self.source_id, "until": self.until, "successor": self.successor}


@dataclass
class PlaceCheck:
    """The retrieve step's place result, read by the place check and the decline message."""

    asked: QuestionScope
    excluded: list[str] = field(default_factory=list)  # sources of other places, kept out of retrieval
    superseded: list[str] = field(default_factory=list)  # replaced by a notice of no known start: never cited
    elsewhere: list[str] = field(default_factory=list)  # places whose documents matched when not excluded
    held_places: bool = False  # the version holds place-specific documents at all
    place_count: int = 0  # distinct places (not national) the version's documents apply to
    note: str | None = None  # the plain sentence saying whose rule is shown, or that the asked place has none
    ends: dict[str, int] = field(default_factory=dict)  # superseded sources' last day in force (for the retriever)
    lapsed: dict[str, Lapsed] = field(default_factory=dict)  # notices not in force today let back in
    index: PlaceIndex | None = field(default=None, repr=False)

    def signals(self) -> dict[str, object]:
        a = self.asked
        return {"asked_place": a.place.name if a.place else None, "asked_office": a.office, "asked_year": a.year,
                "asked_period": list(a.period) if a.period else None,
                "place_excluded": len(self.excluded), "place_elsewhere": list(self.elsewhere),
                "superseded_excluded": list(self.superseded),
                "lapsed_cited_from": [x.signal() for x in self.lapsed.values()]}

    def admit(self, candidates: list[Hit], in_force: set[str], day: dt.date) -> list[Hit]:
        """The passages to use, in the fused order of ``candidates``: those in force on ``day`` (chunk ids in
        ``in_force``) with some of the others let back in as the module docstring says. Each admitted notice is
        recorded in ``self.lapsed``."""
        idx = self.index
        valid = [h for h in candidates if h.chunk_id in in_force]
        if idx is None or len(valid) == len(candidates):
            return valid
        today = date_int(day, 0)
        period = self.asked.period
        past = period is not None and period[1] < today
        first_valid = next((i for i, h in enumerate(candidates) if h.chunk_id in in_force), len(candidates))
        admitted: set[str] = set()  # source ids
        for rank, h in enumerate(candidates):
            sid = str(h.payload.get("source_id"))
            s = idx.sources.get(sid)
            if h.chunk_id in in_force or s is None or not s.start <= today or idx.until(sid) >= today:
                continue  # in force, unknown, not yet in force, or excluded for another reason than its end
            if past and period is not None:
                ok = in_force_during(s.effective, idx.until(sid), period)
            else:
                ok = sid not in idx.successor and rank < first_valid
            if ok:
                admitted.add(sid)
        if not admitted:
            return valid
        # a current notice whose family predecessor covers the asked period (and it does not) gives way
        gives_way = {idx.successor[sid] for sid in admitted if sid in idx.successor} if past else set()
        out: list[Hit] = []
        for h in candidates:
            sid = str(h.payload.get("source_id"))
            if sid in admitted:
                out.append(h)
            elif h.chunk_id in in_force:
                if sid in gives_way and period is not None and not in_force_during(
                        idx.sources[sid].effective, idx.until(sid), period):
                    continue
                out.append(h)
        for sid in admitted:
            s = idx.sources[sid]
            nxt = idx.successor.get(sid)
            self.lapsed[sid] = Lapsed(sid, s.title, s.issued, s.effective, idx.until(sid),
                                      idx.sources[nxt].title if nxt else None)
        return out


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
        return None if idx is None else plan_with(idx, question)

    def barred(self, tenant: str, question: str, day: dt.date | None = None) -> set[str]:
        """Sources an answer reused for ``question`` (a curated answer) may not cite: another place's than the one
        it names, and those not in force on ``day`` (default today: expired, superseded or not yet in force)."""
        plan = self.plan(tenant, question)
        if plan is None or plan.index is None:
            return set()
        idx, today = plan.index, date_int(day or dt.date.today(), 0)
        lapsed = {sid for sid, s in idx.sources.items() if not s.effective <= today <= idx.until(sid)}
        return {*plan.excluded, *plan.superseded, *lapsed}

    def scope_of(self, tenant: str, source_id: str) -> SourceScope | None:
        idx = self.index(tenant)
        return idx.sources.get(source_id) if idx is not None else None


def plan_with(idx: PlaceIndex, question: str) -> PlaceCheck:
    """:meth:`PlaceFilter.plan` over one version's index (a version other than the live one: ``qa kb search
    --version``)."""
    asked = detect_question(question, idx.known)
    check = PlaceCheck(asked, held_places=idx.has_places, place_count=idx.place_count, index=idx)
    check.ends = idx.ends()
    check.superseded = list(idx.superseded_unstarted)
    if asked.place is not None and idx.has_places:
        check.excluded = idx.excluded_for(asked.place)
    return check

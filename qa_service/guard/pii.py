"""Personal data: one detector for the input/output guard and the ingestion scan.

:func:`find` returns typed spans; :func:`redact` replaces each with ``[KIND]`` and keeps the words around it.
Two strictness modes share every rule:

- ``guard`` (questions, history, feedback comments, answer sentences): redact anything plausible — an
  ID-shaped number whatever its check digit, any phone number ``phonenumbers`` calls valid or (with ten digits
  or more, or after a cue such as 电话 / phone) possible, an HKID in its bracketed form, obfuscated e-mail
  ("li.si (at) example (dot) com"), a street address (省/市/区 + 路/街 + 号/室, or an English house number and
  street), and a name after a cue (我叫 / 姓名 / my name is / Mr.).
- ``ingest`` (public sources, reported to editors, never redacted there): checksums required where one exists
  (HKID, IBAN; a resident ID by GB 11643, or a plausible birth date, reported as ``valid_checksum=False``),
  phone numbers only when valid and of a mobile type (an office's landline in a guide is not personal data),
  no names or addresses (a guide lists its offices' addresses).

Bank cards need Luhn and an issuer prefix in both modes ("2007 2009 2011 2013" is Luhn-valid too).

Kinds: EMAIL, CN_ID, HK_ID, IBAN, BANK_CARD, CN_MOBILE, PHONE, US_SSN, UK_NINO, PASSPORT, ADDRESS, NAME.
Libraries: ``python-stdnum`` (resident ID, Luhn, IBAN, SSN) and ``phonenumbers`` (phone numbers in any
country's format); the HKID check digit (not in stdnum) is computed here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher, PhoneNumberType
from stdnum import iban, luhn
from stdnum.cn import ric

Mode = Literal["guard", "ingest"]
MODES: tuple[Mode, ...] = ("guard", "ingest")


@dataclass
class PiiMatch:
    kind: str
    start: int
    end: int
    valid_checksum: bool | None = None
    value: str = ""  # the text matched, as it appears


# --- patterns ------------------------------------------------------------------------------------------------

_AT = r"(?:\s*[@＠]\s*|\s*[\[(<{（【]\s*(?:at|AT|@|艾特)\s*[\])>}）】]\s*|\s+(?:at|AT)\s+)"
_DOT = r"(?:\s*\.\s*|\s*[\[(<{（【]\s*(?:dot|DOT|\.|点)\s*[\])>}）】]\s*|\s+(?:dot|DOT)\s+)"
_EMAIL_PLAIN = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}[@＠][A-Za-z0-9-]{1,63}"
                          r"(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}(?![A-Za-z0-9])")
_EMAIL = re.compile(rf"(?<![A-Za-z0-9._%+-])([A-Za-z0-9][A-Za-z0-9._%+-]{{0,63}})({_AT})([A-Za-z0-9-]{{1,63}}"
                    rf"(?:{_DOT}[A-Za-z0-9-]{{1,63}})*)({_DOT})([A-Za-z]{{2,24}})(?![A-Za-z0-9])")
_SEP = r"[ \-]?"
# 18 characters, whole or in the usual groups (6-8-4, 6-4-4-4, 6-4-4-3-1)
_CN_ID = re.compile(rf"(?<![0-9A-Za-z])[1-9]\d{{5}}{_SEP}\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{3}}{_SEP}[0-9Xx](?![0-9A-Za-z])")
_HK_ID = re.compile(r"(?<![A-Za-z0-9])([A-Z]{1,2})(\d{6})(?:\s?[(（]\s?([0-9A])\s?[)）]|([0-9A]))(?![A-Za-z0-9])")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?(?![A-Za-z0-9])")
_CARD = re.compile(r"(?<![\d.,/-])(?:\d{13,19}|\d{4}(?:([ -])\d{4}){2}\1\d{1,7}|3[47]\d{2}([ -])\d{6}\2\d{5})"
                   r"(?!\d|[.,/-]\d)")
_CN_MOBILE = re.compile(r"(?<![\d.])(?:(?:\+|00)86[ .-]?)?1[3-9]\d(?:[ .-]?\d{4}){2}(?!\d|\.\d)")
_US_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
_UK_NINO = re.compile(r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b")
_PASSPORT = re.compile(r"(?<![A-Za-z0-9])(?:[EGDSP][A-Z]?\d{7,8}|[A-Z]\d{8})(?![A-Za-z0-9])")
_LABELLED_PASSPORT = re.compile(r"(?i)(?:passport|护照)(?:\s*(?:no\.?|number|号码?|#))?\s*[:：]?\s*([A-Z0-9]{6,9})\b")
_PHONE_CUE = re.compile(r"(?i)(?:电话|手机|手机号|联系方式|座机|传真|微信|\btel\b|\bphone\b|\bmobile\b|"
                        r"\bcell\b|\bcall\b|\bfax\b|\bwhatsapp\b)(?:\s*(?:号码?|number|no\.?|#))?\s*(?:是|为|:|：|at|on)?\s*"
                        r"(\+?\(?\d[\d ()./-]{5,18}\d)")
_DIGITS_7 = re.compile(r"\d(?:[^\d\n]{0,3}\d){6}")
_DATE_LIKE = re.compile(r"^\s*(?:1[89]|20)\d{2}[-./年]\s?\d{1,2}[-./月]\s?\d{1,2}\s*$")

# Chinese street address: [street name][路/街/…][number]号, then building / unit / room; or a residential
# estate with a building number. Division names before it (省/市/区) stay outside the placeholder, so the
# question can still be routed to the right place's office.
_ZH_NUM = r"(?:\d{1,5}|[一二三四五六七八九十百零〇两]{1,6})"
_ZH_ROAD = r"(?:大街|大道|路|街|巷|弄|胡同|道|里)"
_ZH_UNIT = rf"(?:\s*(?:-\s*\d{{1,4}}|{_ZH_NUM}\s*(?:号楼|号院|栋|幢|座|单元|楼|层|室|户|号)|[A-Z]\s*(?:座|栋)))"
_ZH_STREET = re.compile(rf"([\u4e00-\u9fff]{{1,10}}?){_ZH_ROAD}\s*{_ZH_NUM}\s*(?:-\s*\d{{1,4}}\s*)?(?:号|弄|室)"
                        rf"{_ZH_UNIT}*")
_ZH_ESTATE = re.compile(rf"([\u4e00-\u9fff]{{1,10}}?)(?:小区|花园|公寓|大厦|新村|家园|苑|府|社区)\s*"
                        rf"{_ZH_NUM}\s*(?:号楼|栋|幢|座|期|号|室){_ZH_UNIT}*")
# where a street's name cannot start: before these, the words are the sentence's (住在 / 地址是 / 位于 …)
_ZH_ADDR_CUT = re.compile(r"(?:住在|住址|地址|住于|家住|居住|位于|在|于|是|为|到|至|：|:|"
                          r"省|自治区|市|区|县|旗|镇|乡|村|州|盟)")
# street suffixes: the common part of the USPS list (Publication 28, C1) and British ones
_EN_SUFFIX = (r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Square|Sq|"
              r"Terrace|Ter|Way|Parkway|Pkwy|Crescent|Cres|Close|Highway|Hwy|Circle|Cir|Trail|Trl|Row|Walk|Alley|"
              r"Loop|Plaza|Gardens?|Grove|Hills?|Heights|Parks?|Mews|Pike|Path|Run|Points?|Ridges?|Views?|"
              r"Villages?|Estates?|Crossings?|Crossroads?|Junctions?|Landing|Manors?|Meadows?|Mall|Greens?|"
              r"Commons?|Expressway|Freeway|Routes?|Turnpike|Summit|Station|Spurs?|Springs?|Squares?|Streets?|"
              r"Roads?|Lanes?|Drives?|Courts?|Ways|Wharf|Quay|Embankment|Rise|Vale|Wynd|Gate|Parade|Esplanade|"
              r"Bypass|Circus|Track|Pines?|Haven|Isles?|Island|Valleys?|Canyon|Mission|Camps?|Forges?|Land|"
              r"Bridge|Brooks?|Burgs?|Cape|Causeway|Center|Centre|Cliffs?|Club|Corners?|Course|Coves?|Creek|Crest|"
              r"Curve|Dale|Dam|Divide|Extensions?|Falls|Ferry|Fields?|Flats?|Fords?|Forest|Forks?|Fort|Gateway|"
              r"Glens?|Harbors?|Harbour|Hollow|Inlet|Keys?|Knolls?|Lakes?|Lights?|Locks?|Lodge|Loaf|Mills?|"
              r"Motorway|Mount|Mountains?|Neck|Orchard|Oval|Overpass|Pass|Passage|Plains?|Ports?|Prairie|Radial|"
              r"Ramp|Ranch|Rapids?|Rest|River|Shoals?|Shores?|Skyway|Stream|Stravenue|Throughway|Trace|"
              r"Trafficway|Tunnel|Underpass|Unions?|Viaduct|Villes?|Vista|Wall|Wells?|Fork|Oaks?|Woods?)")
_EN_WORD = r"(?:[A-Z][A-Za-z'’-]*\.?|\d{1,3}(?:st|nd|rd|th))"
_EN_STREET = re.compile(
    rf"(?<![\w-])\d{{1,6}}[A-Za-z]?(?:-\d{{1,4}})?,?\s+(?:(?:[NSEW]|North|South|East|West|[NS][EW])\.?\s+)?"
    rf"(?:(?:{_EN_WORD}\s+){{1,4}}{_EN_SUFFIX}\b\.?|(?:Via|Rue|Calle|Avenida|Avenue|Camino|Strada)\s+"
    rf"(?:[A-Z][A-Za-z'’-]*\s?){{1,3}})"
    r"(?:\s+(?:North|South|East|West|Northwest|Northeast|Southwest|Southeast|NW|NE|SW|SE))?"
    r"(?:,?\s+(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Floor|Fl\.?|Room|Rm\.?|#)\s*[A-Za-z0-9-]{1,6}\b)?"
    # then a town with a state and ZIP code: ", Springfield, IL 62704"
    r"(?:,\s*(?:[A-Z][a-z]+\s?){1,3},?\s+[A-Z]{2}\s+\d{5}(?:-\d{4})?\b)?")
# a number after these words is a section, a form or a case, not a house
_EN_NOT_HOUSE = re.compile(r"(?i)\b(?:chapter|section|title|article|part|rule|form|schedule|no|number|act|page|case|"
                           r"room|floor|level|gate|platform|route|bus|line|exit|tier|class|grade|year|age|aged|"
                           r"over|under|about|than)\.?\s*$")

# Names: only next to a cue; every name cannot be recognised, but a name a person gives is announced.
_SURNAMES_1 = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛"
    "邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝"
    "路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂"
    "全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝封晁鞠井衣")
_SURNAMES_2 = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "尉迟", "公孙", "长孙", "宇文", "司徒",
               "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "百里", "呼延", "万俟", "单于", "闻人")
_ZH_NAME_CUE = re.compile(r"(?:我叫|我的名字(?:是|叫)|名字叫|名叫|叫做|姓名(?:是|为)?\s*[:：]?|"
                          r"本人(?:姓名)?(?:是|为)?\s*[:：]?|申请人(?:是|为)?\s*[:：]|联系人(?:是|为)?\s*[:：]?|我是)\s*")
# what may follow a name: punctuation, a particle, or the next clause's first word
_ZH_AFTER_NAME = set("，,。.！!？?；;：:、 （(）)的想要在是今住来身电手家于和与及从到"
                     "把被给让我你他她也都就还已请问能可会需该现目之男女先")
_EN_NAME_CUE = re.compile(r"(?i:\bmy\s+name\s+is|\bmy\s+name's|\bname\s*:|\bi\s+am\s+called|\bi'm\s+called|"
                          r"\bcall\s+me|\bsigned\s*,?|\bregards\s*,|\bthis\s+is)\s+"
                          r"([A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?(?:\s+[A-Z](?:[a-z]+(?:[-'][A-Z]?[a-z]+)?|\.))?"
                          r"(?:\s+[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?)?)")
_CAP = r"[A-Z][A-Za-z]*(?:[-'][A-Z]?[a-z]+)?"
# a full name given with an age ("Jane Doe, a 34-year-old ...", "I'm Jane Doe") or a greeting ("Dear Jane Doe,")
_EN_NAME_AGE = re.compile(rf"(?<![\w-])({_CAP}(?:\s+{_CAP}){{1,2}})(?:,|\s+is|\s+was)?\s+an?\s+"
                          rf"\d{{1,3}}[- ]year[- ]old\b")
_EN_NAME_SELF = re.compile(r"\b(?:I\s+am|I'm|Dear|Hi|Hello)\s+((?-i:[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?\s+"
                           r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?))\b")
_ZH_NAME_AGE = re.compile(r"(?:^|(?<=[。！？；\n]))\s*"
                          r"(?=[\u4e00-\u9fff]{2,4}(?:[，,]\s*(?:\d{1,3}\s*岁|[男女][，,]|一[位名个]\d{1,3}\s*岁)|是一[位名个]\d{0,3}))")
_EN_TITLE_NAME = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+([A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?"
                            r"(?:\s+[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?)?)")
# capitalised words that follow "this is" / "my name is" but are not names
_NOT_NAMES = {"The", "This", "That", "It", "Not", "Very", "Really", "Just", "About", "For", "From", "Urgent",
              "Important", "Regarding", "Re", "A", "An", "My", "Our", "Your", "In", "On", "At", "To", "And", "But",
              "Because", "Still", "Also", "So", "Correct", "Wrong", "How", "What", "Why", "When", "Where", "Who"}


# --- checks ----------------------------------------------------------------------------------------------------

def _plausible_birth(number: str) -> bool:
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= born <= dt.date.today()


def ric_valid(number: str) -> bool:
    """GB 11643 resident ID check (stdnum); a region code stdnum's table lists without a county raises KeyError
    inside stdnum (2.2), which means "not a valid number", not a crash of the guard."""
    try:
        return bool(ric.is_valid(number))
    except KeyError:
        return False


def hkid_check_digit(prefix: str, digits: str) -> str:
    """The HKID check character for letters ``prefix`` (1 or 2) and six ``digits`` (mod 11, 10 -> 'A')."""
    chars = prefix.rjust(2)
    values = [36 if c == " " else ord(c) - ord("A") + 10 for c in chars] + [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return "A" if check == 10 else str(check)


def card_prefix(digits: str) -> bool:
    """Issuer prefixes of the card networks (Visa, Mastercard, UnionPay, Amex, JCB incl. its 15-digit 1800 / 2131,
    Discover, Diners)."""
    two, four = int(digits[:2]), int(digits[:4])
    return digits[0] == "4" or 51 <= two <= 55 or 2221 <= four <= 2720 or two in (30, 34, 35, 36, 37, 38, 60, 62,
                                                                                    64, 65, 81) or four in (1800, 2131)


def _compact(value: str) -> str:
    return re.sub(r"[\s().-]", "", value)


# --- detectors: (priority, kind, start, end, valid) ----------------------------------------------------------

_Hit = tuple[int, str, int, int, bool | None]
_Detector = Callable[[str, "Mode"], list[_Hit]]


def _emails(text: str, mode: Mode) -> list[_Hit]:
    out: list[_Hit] = []
    for m in _EMAIL.finditer(text):
        at, dot = m.group(2), m.group(4)
        plain_word = at.strip().lower() in ("at",)
        obfuscated_dot = dot.strip() not in (".",)
        # "look at example.com" is prose: a spelled-out "at" needs a dotted/underscored/numbered local part or a
        # spelled-out dot too
        if plain_word and not obfuscated_dot and not re.search(r"[._\d]", m.group(1)):
            continue
        if mode == "ingest" and "@" not in at and "＠" not in at and plain_word:
            continue
        out.append((0, "EMAIL", m.start(), m.end(), None))
    return out + [(0, "EMAIL", m.start(), m.end(), None) for m in _EMAIL_PLAIN.finditer(text)]


def _cn_ids(text: str, mode: Mode) -> list[_Hit]:
    out: list[_Hit] = []
    for m in _CN_ID.finditer(text):
        value = _compact(m.group()).upper()
        valid = ric_valid(value)
        unbroken = m.group().upper() == value
        if not valid and not _plausible_birth(value) and (mode == "ingest" or not unbroken):
            continue  # ingest: no checksum and no birth date; guard: an unbroken 18-character run still counts
        out.append((1, "CN_ID", m.start(), m.end(), valid))
    return out


def _hk_ids(text: str, mode: Mode) -> list[_Hit]:
    out: list[_Hit] = []
    for m in _HK_ID.finditer(text):
        check = m.group(3) or m.group(4)
        valid = hkid_check_digit(m.group(1), m.group(2)) == check
        bracketed = m.group(3) is not None
        if not valid and (mode == "ingest" or not bracketed):
            continue
        out.append((2, "HK_ID", m.start(), m.end(), valid))
    return out


def _ibans(text: str, mode: Mode) -> list[_Hit]:
    return [(2, "IBAN", m.start(), m.end(), True) for m in _IBAN.finditer(text) if iban.is_valid(m.group())]


def _cards(text: str, mode: Mode) -> list[_Hit]:
    out: list[_Hit] = []
    for m in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", m.group())
        if not 13 <= len(digits) <= 19 or not luhn.is_valid(digits) or len(set(digits)) < 4:
            continue
        if not card_prefix(digits):  # "2007 2009 2011 2013" is Luhn-valid too
            continue
        out.append((3, "BANK_CARD", m.start(), m.end(), True))
    return out


def _regex(priority: int, kind: str, pattern: re.Pattern[str]) -> _Detector:
    def detect(text: str, mode: Mode) -> list[_Hit]:
        return [(priority, kind, m.start(), m.end(), None) for m in pattern.finditer(text)]
    return detect


def _passports(text: str, mode: Mode) -> list[_Hit]:
    out: list[_Hit] = [(5, "PASSPORT", m.start(1), m.end(1), None) for m in _LABELLED_PASSPORT.finditer(text)
                       if re.search(r"\d", m.group(1))]
    if mode == "guard":
        out += [(9, "PASSPORT", m.start(), m.end(), None) for m in _PASSPORT.finditer(text)]
    return out


_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.PAGER)
# National formats (no country code) are read as these places' numbers: the service's own regions first, then
# the countries its residents most often come from or call. A number with +/00 is read whatever the region.
_HOME_REGIONS = ("CN", "US")
_MORE_REGIONS = ("HK", "TW", "MO", "GB", "CA", "AU", "SG", "JP", "KR", "DE", "FR", "IN")


def _phone_kind(number: phonenumbers.PhoneNumber) -> str:
    national = str(number.national_number)
    return "CN_MOBILE" if number.country_code == 86 and national[:1] == "1" and len(national) == 11 else "PHONE"


def _phones(text: str, mode: Mode) -> list[_Hit]:
    if not _DIGITS_7.search(text):
        return []
    out: list[_Hit] = []
    regions = _HOME_REGIONS if mode == "ingest" else _HOME_REGIONS + _MORE_REGIONS
    for region in regions:
        home = region in _HOME_REGIONS
        leniency = Leniency.POSSIBLE if mode == "guard" and home else Leniency.VALID
        for m in PhoneNumberMatcher(text, region, leniency=leniency, max_tries=200):
            raw = m.raw_string
            national = str(m.number.national_number)
            international = raw.lstrip().startswith(("+", "00"))
            if mode == "ingest":
                office = m.number.country_code == 1 and not international
                if phonenumbers.number_type(m.number) not in _MOBILE_TYPES or office:
                    continue  # a landline, or a US "fixed line or mobile" without +1: an office number in a guide
            elif _DATE_LIKE.match(raw) or not (phonenumbers.is_valid_number(m.number)
                                               or len(national) >= (7 if international else 10)):
                continue  # possible but not valid: long numbers only (a date or an amount is not a phone)
            out.append((6, _phone_kind(m.number), m.start, m.end, None))
    if mode == "guard":
        for cue in _PHONE_CUE.finditer(text):
            digits = re.sub(r"\D", "", cue.group(1))
            if 7 <= len(digits) <= 15 and not _DATE_LIKE.match(cue.group(1)):
                out.append((7, "PHONE", cue.start(1), cue.end(1), None))
    return out


def _zh_addresses(text: str, mode: Mode) -> list[_Hit]:
    if mode == "ingest":
        return []
    out: list[_Hit] = []
    for pattern in (_ZH_STREET, _ZH_ESTATE):
        for m in pattern.finditer(text):
            name = m.group(1)
            # the street's name starts after the last cue or division name that leaves it two characters
            # (one if nothing else does): "居住在吉林省长春市朝阳区红旗街…" -> "红旗街…",
            # "海淀区中关村大街" -> "中关村大街"
            cuts = [c.end() for c in _ZH_ADDR_CUT.finditer(name)]
            cut = max([c for c in cuts if len(name) - c >= 2] or [c for c in cuts if len(name) - c >= 1] or [0])
            out.append((10, "ADDRESS", m.start(1) + cut, m.end(), None))
    return out


def _en_addresses(text: str, mode: Mode) -> list[_Hit]:
    if mode == "ingest":
        return []
    return [(10, "ADDRESS", m.start(), m.end(), None) for m in _EN_STREET.finditer(text)
            if not _EN_NOT_HOUSE.search(text[max(0, m.start() - 20) : m.start()])]


def _zh_name_at(text: str, at: int) -> int:
    """End of a Chinese name starting at ``at`` (surname + one or two given characters), or ``at`` if none."""
    two = text[at : at + 2]
    surname = 2 if two in _SURNAMES_2 else 1 if text[at : at + 1] in _SURNAMES_1 else 0
    if not surname:
        return at
    cjk = re.match(r"[\u4e00-\u9fff]{1,2}", text[at + surname :])
    if not cjk:
        return at
    given = cjk.group()
    if len(given) == 2 and given[1] in _ZH_AFTER_NAME:
        given = given[:1]
    end = at + surname + len(given)
    nxt = text[end : end + 1]
    if nxt and nxt not in _ZH_AFTER_NAME and re.match(r"[\u4e00-\u9fff]", nxt):
        return at  # runs on into more characters: a word, not a name
    return end


def _names(text: str, mode: Mode) -> list[_Hit]:
    if mode == "ingest":
        return []
    out: list[_Hit] = []
    for m in _ZH_NAME_CUE.finditer(text):
        end = _zh_name_at(text, m.end())
        if end > m.end():
            out.append((11, "NAME", m.end(), end, None))
    for m in _ZH_NAME_AGE.finditer(text):
        end = _zh_name_at(text, m.end())
        if end > m.end():
            out.append((11, "NAME", m.end(), end, None))
    for pattern in (_EN_NAME_CUE, _EN_TITLE_NAME, _EN_NAME_AGE, _EN_NAME_SELF):
        for m in pattern.finditer(text):
            words = m.group(1).split()
            while words and words[-1] in _NOT_NAMES:
                words.pop()
            if not words or words[0] in _NOT_NAMES:
                continue
            end = m.start(1) + len(" ".join(words))
            if text[m.start(1) : end] == " ".join(words):
                out.append((11, "NAME", m.start(1), end, None))
    # a name once announced is redacted wherever it recurs in the same text
    names = {text[h[2] : h[3]] for h in out if h[3] - h[2] >= 2}
    for name in names:
        out += [(12, "NAME", m.start(), m.end(), None) for m in re.finditer(re.escape(name), text)]
    return out


_DETECTORS: tuple[_Detector, ...] = (
    _emails, _cn_ids, _hk_ids, _ibans, _cards,
    _regex(4, "CN_MOBILE", _CN_MOBILE), _regex(4, "US_SSN", _US_SSN), _passports, _phones,
    _zh_addresses, _en_addresses, _names,
)


def find(text: str, mode: Mode = "guard") -> list[PiiMatch]:
    """All personal-data spans in ``text``, non-overlapping, in text order."""
    hits: list[_Hit] = []
    for detect in _DETECTORS:
        hits += detect(text, mode)
    if mode == "guard":
        hits += [(5, "UK_NINO", m.start(), m.end(), None) for m in _UK_NINO.finditer(text)]
    # the most specific rule first (its priority), then the longest span
    hits.sort(key=lambda h: (h[0], -(h[3] - h[2]), h[2]))
    taken: list[PiiMatch] = []
    for _, kind, start, end, valid in hits:
        if end <= start or any(start < t.end and t.start < end for t in taken):
            continue
        taken.append(PiiMatch(kind, start, end, valid, text[start:end]))
    return sorted(taken, key=lambda p: p.start)


def redact(text: str, mode: Mode = "guard") -> tuple[str, list[PiiMatch]]:
    """Replace each personal-data span with ``[KIND]``; the words around it stay."""
    matches = find(text, mode)
    out, last = [], 0
    for m in matches:
        out.append(text[last : m.start])
        out.append(f"[{m.kind}]")
        last = m.end
    out.append(text[last:])
    return "".join(out), matches

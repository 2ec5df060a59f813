"""Small text tools shared by the answer steps: sentences with their section headings, lexical overlap (zh/en).
Sentence boundaries and the language check are qa_service/text.py's."""

from __future__ import annotations

import itertools
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from qa_service.text import HAN, Splitter, is_chinese

if TYPE_CHECKING:
    from snowballstemmer.english_stemmer import EnglishStemmer

_CJK = re.compile(f"[{HAN}]")
_WORD = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*")
_CITE = re.compile(r"\[(\d{1,3})\]")
_EN_STOP_WORDS = """
a an the and or of to in on for with by at from is are was were be been being do does did how what
when where which who whom why can could should would will shall may might must i you he she it we
they my your our their me us them this that these those there here if then than as about into over
under not no yes any all some have has had get got need needs please tell
"""
EN_STOP = frozenset(_EN_STOP_WORDS.split())
ZH_STOP = frozenset("的了吗呢吧啊么是在和与及或我你他她它们这那哪什怎如何请问可以能要需有没不个一")


#: a line break inside an English sentence (PDF text wraps lines): the line does not end a sentence and the next
#: line goes on in lower case ("a guide for employers and\nemployees")
_LINE_WRAP = re.compile(r"(?<=[A-Za-z,;(\-])[ \t]*\n(?=[ \t]*[a-z])")
#: answer sentences: an English semicolon joins two halves of one statement ("cancel the permit in the app; unused
#: whole months are refunded"), so it does not end one here (the Chinese "；" still does, as in the LLM parser)
_ANSWER_SENTENCES = Splitter(semicolon=False)
_LIST_MARK = re.compile(r"^(?:\(?\d{1,2}[.)]|[（(]?[一二三四五六七八九十]{1,3}[、.）)]|[a-z][.)])$")


def split_sentences(text: str) -> list[str]:
    """Split into sentences at Chinese and English punctuation and line breaks; a list marker split off on its own
    ("1.", "(2)", "三、") stays with the text it numbers, and an English line that wraps into a lower-case next line
    is one line."""
    parts = _ANSWER_SENTENCES.split(_LINE_WRAP.sub(" ", text))
    out: list[str] = []
    mark = ""
    for p in parts:
        if not p:
            continue
        if _LIST_MARK.match(p):
            mark = f"{mark}{p} "
            continue
        out.append(mark + p)
        mark = ""
    return [p for p in out if len(p) > 1]


#: a numbered section heading on a line of its own: "3. Flexibly employed people", "五、公积金贷款", "（二）申请条件"
_NUMBERED_HEADING = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2})*\.?|[一二三四五六七八九十]{1,3}、"
                               r"|[（(][一二三四五六七八九十\d]{1,3}[）)]|第[一二三四五六七八九十百\d]{1,4}[章节部分])\s*(?P<rest>[^\d|]{2,60})$")
_LINE_END = re.compile(r"[。.！!；;：:，,]$")
_MARKERS = (re.compile(r"^\d{1,2}[.)、]"), re.compile(r"^[一二三四五六七八九十]{1,3}、"),
            re.compile(r"^[（(][一二三四五六七八九十\d]{1,3}[）)]"), re.compile(r"^[-*•]\s"), re.compile(r"^第"))


def _marker(line: str) -> int:
    return next((i for i, m in enumerate(_MARKERS) if m.match(line)), -1)


def _heading(line: str, prev: str, nxt: str) -> str | None:
    """The text of a numbered short line without closing punctuation that is not one item of a list (no
    neighbouring line is numbered the same way), else None."""
    m = _NUMBERED_HEADING.match(line)
    if not m or _LINE_END.search(line):
        return None
    rest = m.group("rest").strip()
    if len(rest.split()) > 8 or (is_chinese(rest) and len(rest) > 20):
        return None
    return None if _marker(line) in (_marker(prev), _marker(nxt)) else rest


def split_sections(text: str) -> list[tuple[str, str]]:
    """Sentences with the numbered section heading above them in the same text ("" when none); the heading lines
    themselves are not returned (a heading names a topic, it does not answer)."""
    lines = [ln.strip() for ln in _LINE_WRAP.sub(" ", text).split("\n")]
    lines = [ln for ln in lines if ln]
    out: list[tuple[str, str]] = []
    section = heading = ""  # the numbered section; the heading also carries a table's column names
    block: list[str] = []

    def flush() -> None:
        out.extend((sent, heading) for sent in split_sentences("\n".join(block)))
        block.clear()

    for i, line in enumerate(lines):
        prev, nxt = (lines[i - 1] if i else ""), (lines[i + 1] if i + 1 < len(lines) else "")
        title = _heading(line, prev, nxt)
        if title is not None:
            flush()
            section = heading = title
        elif _is_table_header(line, prev, nxt):
            flush()
            heading = f"{section} {line}".strip()  # the column names tell what each row's cells are
        else:
            if heading != section and _cells(line) < 2:
                flush()
                heading = section  # the table ended
            block.append(line)
    flush()
    return out


def _cells(line: str) -> int:
    return len(line.split(" | ")) if " | " in line else 0


def _is_table_header(line: str, prev: str, nxt: str) -> bool:
    """The first row of a table ("退税金额 | 审核方式 | 时限" as the loaders write rows): cells without digits, the
    next line a row with as many cells, the previous line not a row."""
    n = _cells(line)
    return n >= 2 and _cells(nxt) == n and _cells(prev) == 0 and not any(ch.isdigit() for ch in line)


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201b": "'"})


@lru_cache(maxsize=1)
def _stemmer() -> EnglishStemmer:
    # the Snowball project's own Python stemmer (pure Python, 0.04 s to import; nltk's import took 1.5 s of CPU,
    # most of a cold `qa ask`); snowballstemmer 2.x is the original English (Porter2) algorithm, as nltk's
    from snowballstemmer.english_stemmer import EnglishStemmer

    return EnglishStemmer()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """English Snowball stem ("processing", "processed" → "process"), as the BM25 index stems."""
    return str(_stemmer().stemWord(word.translate(_APOSTROPHES)))


def terms(text: str) -> set[str]:
    """Content terms: English word stems without stop words, Chinese character bigrams without stop chars."""
    low = text.lower()
    out = {stem(w) for w in _WORD.findall(low) if w not in EN_STOP and len(w) > 1}
    cjk = "".join(ch if _CJK.match(ch) else " " for ch in low)
    for run in cjk.split():
        chars = [c for c in run if c not in ZH_STOP] if len(run) > 2 else list(run)
        out.update(a + b for a, b in itertools.pairwise(chars))
        if len(chars) == 1:
            out.add(chars[0])
    return out


def overlap(query_terms: set[str], text: str) -> float:
    """Share of the query's content terms found in ``text`` (0..1)."""
    if not query_terms:
        return 0.0
    return len(query_terms & terms(text)) / len(query_terms)


def strip_citations(text: str) -> tuple[str, list[int]]:
    """Remove [n] markers; return the clean text and the numbers in order."""
    nums = [int(m) for m in _CITE.findall(text)]
    return _CITE.sub("", text).strip(), nums


# A follow-up is elliptical when it lacks a topic of its own: it points back ("it", "那") or, once the words every
# question about a service uses (how much, documents, how long ...) are set aside, names almost nothing. Only then is
# the previous turn prefixed; a self-contained question never inherits the previous topic.
_ANAPHOR_EN = re.compile(r"(?i)\b(?:it|its|that|this|these|those|they|them|there|the\s+same|one|ones|also|too|"
                         r"instead|what\s+about|how\s+about|and\s+(?:for|if|what|how|the))\b")
_ANAPHOR_ZH = re.compile(r"^(?:那|这|它|该|其|还|另外|如果|要是)|(?:它|这个|那个|上述|以上)")
_GENERIC_EN = {"much", "long", "mani", "cost", "fee", "price", "document", "need", "bring", "take", "time", "pay",
               "appli", "requir", "get", "paper", "form", "open", "close", "day", "week", "month", "year", "hour",
               "onlin", "where", "when", "can", "do", "second", "first", "next", "other"}
_GENERIC_ZH = re.compile(r"需要|什么|怎么|如何|多少|多久|多长|几天|哪里|哪儿|在哪|要|带|材料|资料|证件|钱|费用|"
                         r"收费|办理|办|吗|呢|吧|是|的|了|几|时间|手续|流程|可以|能|不|还|那|这|去|到|交|缴")


def is_elliptical(question: str) -> bool:
    """True when ``question`` cannot stand alone (see above)."""
    if _CJK.search(question):
        if _ANAPHOR_ZH.search(question.strip()):
            return True
        own = _GENERIC_ZH.sub("", "".join(_CJK.findall(question)))
        return len(own) <= 1
    if _ANAPHOR_EN.search(question):
        return True
    return len(terms(question) - _GENERIC_EN) <= 1

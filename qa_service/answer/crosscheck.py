"""Cross-validation of a generated answer by a second method: the figures it states.

A figure is a number as a citizen would act on it: an amount, a fee, a date, a deadline, a count, a phone
number. A generated sentence may state only figures that a passage it cites states too (``unsupported_figures``);
and the generated answer is compared with the extractive answer over the same passages
(``figures_disagree``): the extractive answer can only quote the passages, so when both state figures and they
share none, the two methods disagree about the facts.

Figures are normalised so that "1,200 yuan", "1200元" and "1 200" compare equal, Chinese numerals (三十, 一百二十,
两万) are read as numbers, and a phone number is compared by its digits ("0571-8765 4321" = "057187654321").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千万亿]{1,12}")
# digits with thousands separators or a decimal part; phone-like runs with dashes/spaces between digit groups
_PHONE = re.compile(r"(?<![\d.,])\+?\(?\d[\d() -]{5,18}\d(?!\d|[.,]\d)")
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")
_NUMBER = re.compile(r"(?<![\d.])\d{1,3}(?:[,，]\d{3})+(?:\.\d+)?(?![\d])|(?<![\d.,])\d+(?:\.\d+)?(?![\d])")
# a lone Chinese numeral character inside an ordinary word is not a figure (一些, 统一, 第一次 is an ordinal)
_CN_NOT_FIGURE = re.compile(r"^[一二两]$")


def _cn_to_int(text: str) -> int | None:
    """三十 → 30, 一百二十 → 120, 两万 → 20000, 二〇二五 → 2025 (digit by digit when there is no unit)."""
    if not any(c in _CN_UNIT or c in _CN_BIG for c in text):
        digits = [_CN_DIGIT.get(c) for c in text]
        if any(d is None for d in digits):
            return None
        return int("".join(str(d) for d in digits)) if len(digits) > 1 else digits[0]
    total, section, digit = 0, 0, 0
    for c in text:
        if c in _CN_DIGIT:
            digit = _CN_DIGIT[c]
        elif c in _CN_UNIT:
            section += (digit or 1) * _CN_UNIT[c]
            digit = 0
        elif c in _CN_BIG:
            total += (section + digit) * _CN_BIG[c]
            section, digit = 0, 0
        else:
            return None
    return total + section + digit


def _norm_number(raw: str) -> str:
    value = raw.replace(",", "").replace("，", "")
    if "." in value:
        value = value.rstrip("0").rstrip(".") or "0"
    return value.lstrip("0") or "0"


def figures(text: str) -> set[str]:
    """The normalised figures a text states (numbers and phone numbers)."""
    out: set[str] = set()
    rest = text
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if len(digits) >= 7 and not _DATE.match(m.group(0).strip()):
            out.add(digits)
            rest = rest.replace(m.group(0), " ")
    for m in _NUMBER.finditer(rest):
        out.add(_norm_number(m.group(0)))
    for m in _CN_NUMBER.finditer(rest):
        word = m.group(0)
        if _CN_NOT_FIGURE.match(word):
            continue
        value = _cn_to_int(word)
        if value is not None:
            out.add(str(value))
    return out


def unsupported_figures(sentence: str, cited_texts: Iterable[str]) -> list[str]:
    """Figures of ``sentence`` that none of the cited passages states (in order of appearance)."""
    stated = figures(sentence)
    if not stated:
        return []
    known: set[str] = set()
    for t in cited_texts:
        known |= figures(t)
    return sorted(f for f in stated if f not in known)


def figures_disagree(generated: list[str], extractive: list[str]) -> bool:
    """True when both answers state figures and share none of them."""
    a = set().union(*(figures(t) for t in generated)) if generated else set()
    b = set().union(*(figures(t) for t in extractive)) if extractive else set()
    return bool(a) and bool(b) and not (a & b)

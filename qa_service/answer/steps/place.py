"""Place check: the answer applies where the question asks, and its contact details and figures carry their owner.

After the citation check, over the kept sentences and ``ctx.place`` (the retrieve step's
:class:`~qa_service.kb.places.PlaceCheck`):

- a citation of a passage whose source does not apply to the asked place is dropped; a sentence left with none
  is removed (``place_mismatch``, high: another place's rule is never the answer);
- a sentence that states a telephone number, fee, amount or date, when the question names an office, must get it
  from that office: the figure's owner is the office named nearest before it in the sentence, else in its
  passage before the sentence, else the passage's issuing office; an owner that is another office removes the
  sentence (``figure_owner_mismatch``); no cited passage of the asked office at all adds ``office_mismatch``. A
  question asking for a telephone number without naming an office gets the numbers of the office the first
  quoted number belongs to, and no other office's;
- a cited source that had expired before the year the question names adds ``period_mismatch``;
- a cited notice that is not in force today (let back in by the retrieve step: ``PlaceCheck.lapsed``) adds
  ``source_expired`` and a plain warning first, with its dates and the notice that replaced it;
- an answer from national or general passages only, when the asked place has no document of its own that
  matched (other places' did), starts with a plain sentence saying so (``place_not_held``), and an answer
  from one place's documents to a question naming no place says whose rule it is.

:class:`PlaceMessage` (after route) puts the same plain sentence before a decline's message.
"""

from __future__ import annotations

import re

from qa_service.answer.context import DECLINES, AnswerContext, Passage, Sentence
from qa_service.answer.crosscheck import figures
from qa_service.answer.statuses import CANNOT_ANSWER, HELD_FOR_REVIEW, OUT_OF_SCOPE
from qa_service.kb.places import Lapsed, PlaceCheck
from qa_service.place import Place, applies, covers_year, offices_in, same_office

_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")
_FIGURE = re.compile(r"\d")
_PHONE = re.compile(r"(?<!\d)\+?\d[\d() -]{6,18}\d(?!\d)")
_ASKS_CONTACT = re.compile(r"电话|热线|号码|联系方式|phone|telephone|hotline|number|contact", re.IGNORECASE)
_CONTACT = re.compile(r"(?<!\d)(?:\+?\d[\d() -]{5,18}\d)(?!\d)|电话|热线|地址|phone|telephone|hotline|address",
                      re.IGNORECASE)


def _lang(ctx: AnswerContext) -> str:
    return "zh" if ctx.lang == "zh" else "en"


def _shown(place: Place, lang: str) -> str:
    if place.national:
        return "全国性" if lang == "zh" else "national"
    if place.adcode:
        return place.path[-1] if place.path else place.name
    return " ".join(place.path[-1:]) or place.name


def elsewhere_note(ctx: AnswerContext, answered: bool) -> str | None:
    """The plain sentence for a question naming a place whose own documents did not match."""
    pc = ctx.place
    if pc is None or pc.asked.place is None or not pc.elsewhere:
        return None
    lang = _lang(ctx)
    asked = _shown(pc.asked.place, lang)
    names = [_display(n) for n in pc.elsewhere[:3]]
    others = "、".join(names) if lang == "zh" else " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1
                                                               else names)
    if answered:
        return (f"以下是全国性（通用）规定；您问的{asked}的专门规定未收录（收录的是{others}的规定）。"
                if lang == "zh" else
                f"This is the general rule; we hold nothing specific for {asked} (the rules we hold are for {others}).")
    return (f"您问的{asked}的相关规定未收录；现有的是{others}的规定，不适用于{asked}。" if lang == "zh" else
            f"We hold nothing for {asked} on this; the rules we hold are for {others} and do not apply there.")


def _date(day: int, lang: str) -> str:
    y, m, d = day // 10000, day // 100 % 100, day % 100
    if lang == "zh":
        return f"{y}年{m}月{d}日"
    return f"{d} {_EN_MONTHS[m - 1]} {y}"


def expired_note(lapsed: list[Lapsed], lang: str) -> str:
    """The plain warning before an answer citing notices no longer in force: each with its dates and, when one
    replaced it, the newer notice."""
    parts = []
    for x in lapsed[:2]:
        issued = (f"（{_date(x.issued, 'zh')}发布）" if lang == "zh" else f" (issued {_date(x.issued, 'en')})") \
            if x.issued else ""
        if lang == "zh":
            why = f"已被《{x.successor}》取代" if x.successor else "已过有效期"
            parts.append(f"《{x.title}》{issued}{why}，{_date(x.until, 'zh')}后不再适用")
        else:
            why = f"; it was replaced by “{x.successor}”" if x.successor else ""
            parts.append(f"“{x.title}”{issued} was in force until {_date(x.until, 'en')}{why}")
    if lang == "zh":
        return "注意：以下内容依据的" + "；".join(parts) + "。以下仅为其有效期内的规定，请以现行规定为准。"
    return ("Note: this answer draws on a notice no longer in force: " + "; ".join(parts)
            + ". It gives the rule as it stood then; check the current rule.")


def _display(name: str) -> str:
    """A stored place name as a reader sees it: "Riverton > Northgate" → "Northgate (Riverton)"."""
    parts = [p.strip() for p in name.split(">")]
    return f"{parts[-1]} ({parts[0]})" if len(parts) > 1 else name


def _owner(sentence: str, passage: Passage) -> str | None:
    """The office the figures of ``sentence`` belong to (see the module docstring): the office named nearest
    before its first figure, else before the sentence in its passage, else the passage's issuing office."""
    first = _FIGURE.search(sentence)
    named = [o for at, o in offices_in(sentence) if first is None or at < first.start()]
    if named:
        return named[-1]
    at = passage.text.find(sentence[:20]) if sentence else -1
    before = offices_in(passage.text[:at]) if at > 0 else []
    if before:
        return before[-1][1]
    return passage.office


def _until(pc: PlaceCheck, p: Passage) -> int:
    """A cited passage's last day in force: its expiry, or the day before its successor took effect."""
    end = int(p.expiry or 99991231)
    return min(end, pc.index.until(p.source_id)) if pc.index is not None and p.source_id in pc.index.sources \
        else end


class PlaceCheckStep:
    """In: ``ctx.place``, the kept sentences and the passages. Out: sentences without other places' citations or
    other offices' figures, reason codes, the plain note; a stop when nothing is left."""

    name = "place"
    always = False

    def run(self, ctx: AnswerContext) -> None:
        pc = ctx.place
        if pc is None or not ctx.sentences:
            return
        asked = pc.asked
        by_n = {p.n: p for p in ctx.passages}
        kept: list[Sentence] = []
        # a contact question naming no office: the numbers shown are the first quoted number's owner's only
        reference: str | None = asked.office
        contact_question = reference is None and _ASKS_CONTACT.search(ctx.query) is not None
        for s in ctx.sentences:
            cited = [by_n[n] for n in s.cites if n in by_n]
            if asked.place is not None:
                ok = [p for p in cited if applies(p.place, asked.place)]
                if len(ok) < len(cited):
                    ctx.add_reason("place_mismatch")
                    if not ok:
                        ctx.removed.append({"sentence": s.text, "reason": "place_mismatch"})
                        continue
                    s = Sentence(s.text, [p.n for p in ok], s.support)
                    cited = ok
            if reference is not None and cited and _CONTACT.search(s.text) and figures(s.text):
                owner = _owner(s.text, cited[0])
                if owner is not None and not same_office(reference, owner):
                    ctx.add_reason("figure_owner_mismatch")
                    ctx.removed.append({"sentence": s.text, "reason": "figure_owner_mismatch", "owner": owner})
                    continue
            elif contact_question and cited and _PHONE.search(s.text):
                reference = _owner(s.text, cited[0])
            if asked.year is not None and any(not covers_year(_until(pc, p), asked.year) for p in cited):
                ctx.add_reason("period_mismatch")
            kept.append(s)
        cited_all = [by_n[n] for s in kept for n in s.cites if n in by_n]
        if asked.office is not None and any(p.office for p in cited_all) and not any(
                same_office(asked.office, p.office) or any(same_office(asked.office, o) for _, o in offices_in(p.text))
                for p in cited_all):
            ctx.add_reason("office_mismatch")
        ctx.sentences = kept
        if not kept:
            ctx.stop(CANNOT_ANSWER, "no_supported_sentence")
            return
        note = self._note(ctx, cited_all)
        pc.note = note
        lapsed = [pc.lapsed[sid] for sid in dict.fromkeys(p.source_id for p in cited_all) if sid in pc.lapsed]
        if lapsed:
            ctx.add_reason("source_expired")
            warning = expired_note(lapsed, _lang(ctx))
            note = f"{warning}{'' if _lang(ctx) == 'zh' else ' '}{note}" if note else warning
        if note:
            ctx.sentences = [Sentence(note, []), *kept]

    def _note(self, ctx: AnswerContext, cited: list[Passage]) -> str | None:
        pc = ctx.place
        assert pc is not None
        specific = [p.place for p in cited if p.place is not None and not p.place.national]
        if pc.asked.place is not None:
            if specific:
                return None
            note = elsewhere_note(ctx, answered=True)
            if note:
                ctx.add_reason("place_not_held")
            return note
        places = {p.name for p in specific}
        if pc.place_count > 1 and len(places) == 1 and len(specific) == len(cited):
            lang = _lang(ctx)
            shown = _shown(specific[0], lang)
            return f"以下是{shown}的规定。" if lang == "zh" else f"This is {shown}'s rule."
        return None


class PlaceMessage:
    """After route: a declined (or held) question naming a place whose documents are absent says so plainly
    before the contact line."""

    name = "place_message"
    always = True

    def run(self, ctx: AnswerContext) -> None:
        if ctx.status not in (*DECLINES, OUT_OF_SCOPE, HELD_FOR_REVIEW):
            return
        note = elsewhere_note(ctx, answered=False)
        if note and ctx.message and not ctx.message.startswith(note):
            ctx.message = note + ("" if ctx.lang == "zh" else " ") + ctx.message
            if ctx.place is not None:
                ctx.place.note = note

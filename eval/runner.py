"""The one evaluation runner: items through the answer pipeline, one record per item, one tally.

Every suite builds a list of :class:`Item` and calls :func:`run_items`; the per-item :class:`Outcome` records
the decision, its outcome group, risk, cited source ids, key facts stated and latency. :func:`tally` turns a
list of outcomes into shares and :func:`by_split` gives them for ``dev``, ``test`` and ``all`` with the
test-minus-dev gap (eval/splits.py decides the split by a hash of the set name and item id; the turns of one
conversation share their conversation's split).

One definition of the outcome groups (:data:`OUTCOME_OF`):

- ``answered``: ``answered``, ``answered_curated`` (the citizen sees an answer);
- ``held``: ``held_for_review`` (a person checks it first);
- ``declined``: ``out_of_scope``, ``unanswerable_no_content``, ``unanswerable_cannot_answer`` (the citizen is
  told the service cannot answer, with a contact);
- ``blocked``: ``blocked_*`` (the input guard refused the question);
- ``error``: ``error_*``, ``rate_limited`` and anything else.

"Not answered" (the right end for an out-of-scope question or one whose gold sources were removed) is
``held`` or ``declined``; a blocked or failed question is counted apart, never as a correct refusal.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from eval.metrics import percentile
from eval.splits import Split, split_of
from qa_service.answer.context import AnswerContext
from qa_service.answer.response import to_response

OUTCOMES = ("answered", "held", "declined", "blocked", "error")
OUTCOME_OF: dict[str, str] = {
    "answered": "answered", "answered_curated": "answered",
    "held_for_review": "held",
    "out_of_scope": "declined", "unanswerable_no_content": "declined", "unanswerable_cannot_answer": "declined",
    "blocked_injection": "blocked", "blocked_classified": "blocked", "blocked_harmful": "blocked",
}
NOT_ANSWERED = ("held", "declined")
# a hotline (123xx) or a telephone number such as 0571-5550 1000: what a decline must point the citizen to
CONTACT_LINE = re.compile(r"(?<!\d)(?:123\d\d|\d{3,4}-\d{4}\s?\d{4})(?!\d)")
_CITE_MARK = re.compile(r"\[\d+\]")
_ASCII_ALNUM = re.compile(r"[a-z0-9]")

Fact = str | Sequence[str]  # one fact: a string, or alternatives of which one must be stated


class PipelineLike(Protocol):
    """What the runner needs of the answer pipeline (qa_service.answer.pipeline.AnswerPipeline)."""

    def run(self, ctx: AnswerContext) -> AnswerContext: ...


@dataclass(frozen=True)
class Item:
    """One question of a set. ``conversation_id``: items sharing it are asked in order as one conversation
    (each later item gets the earlier questions as history)."""

    id: str
    question: str
    tenant: str
    lang: str = "auto"
    channel: str = "citizen"
    gold: tuple[str, ...] = ()
    key_facts: tuple[Fact, ...] = ()
    answerable: bool = True
    conversation_id: str | None = None
    exclude_sources: tuple[str, ...] = ()
    group: str = ""  # a free label for breakdowns (e.g. "procedure", "control")

    @property
    def split_key(self) -> str:
        """What the split hashes: the conversation id for turns of a conversation (a conversation is never
        split between dev and test), else the item id."""
        return f"conversation:{self.conversation_id}" if self.conversation_id else self.id


@dataclass
class Outcome:
    """What happened to one item."""

    id: str
    split: Split
    lang: str
    group: str
    answerable: bool
    status: str
    outcome: str
    risk_level: str
    risk_reasons: list[str]
    cited_ids: list[str]
    cites_gold: bool | None  # None when the item has no gold or was not answered
    facts_total: int
    facts_stated: int
    contact_line: bool
    latency_ms: float
    answer: str
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def fact_share(self) -> float | None:
        return self.facts_stated / self.facts_total if self.facts_total else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fact_share": self.fact_share}


def outcome_of(status: str | None) -> str:
    """The outcome group of a decision (see the module docstring)."""
    return OUTCOME_OF.get(status or "", "error")


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", _CITE_MARK.sub(" ", text)).lower().split())


def states(text: str, fact: Fact) -> bool:
    """``text`` states ``fact`` (or one of its alternatives): after NFKC, lower case, whitespace folded and
    citation marks removed, the fact occurs in the text; a fact with an ASCII letter or digit at an edge must not
    continue a word there ("90" is not stated by "1990", "free" not by "freedom")."""
    t = _norm(text)
    for alt in ([fact] if isinstance(fact, str) else list(fact)):
        n = _norm(str(alt))
        if not n:
            continue
        left = "(?<![a-z0-9])" if _ASCII_ALNUM.match(n[0]) else ""
        right = "(?![a-z0-9])" if _ASCII_ALNUM.match(n[-1]) else ""
        if re.search(left + re.escape(n) + right, t):
            return True
    return False


def facts_stated(text: str, facts: Sequence[Fact]) -> int:
    return sum(states(text, f) for f in facts)


def run_items(pipeline: PipelineLike, items: Iterable[Item], set_name: str,
              observe: Callable[[Item, AnswerContext, dict[str, Any]], None] | None = None) -> list[Outcome]:
    """Ask every item (in order; follow-ups get their conversation's earlier questions as history) and record
    its outcome. ``observe(item, ctx, response)`` lets a suite measure more on the same run."""
    history: dict[str, list[str]] = defaultdict(list)
    results: list[Outcome] = []
    for item in items:
        past = list(history[item.conversation_id]) if item.conversation_id else []
        ctx = AnswerContext(question=item.question, tenant=item.tenant, channel=item.channel, lang=item.lang,
                            qid=item.id, conversation_id=item.conversation_id, history=past,
                            exclude_sources=list(item.exclude_sources))
        pipeline.run(ctx)
        out = to_response(ctx)
        if item.conversation_id:
            history[item.conversation_id].append(item.question)
        group = outcome_of(out["decision"])
        cited = sorted({str(c["source_id"]) for c in out["citations"]})
        answer = str(out["answer"] or "")
        shown = answer if group == "answered" else ""  # a held draft is not what the citizen reads
        results.append(Outcome(
            id=item.id, split=split_of(set_name, item.split_key), lang=item.lang, group=item.group,
            answerable=item.answerable, status=str(out["decision"]), outcome=group,
            risk_level=str(out["risk"]["level"]), risk_reasons=list(out["risk"]["reasons"]), cited_ids=cited,
            cites_gold=bool(set(cited) & set(item.gold)) if item.gold and group == "answered" else None,
            facts_total=len(item.key_facts), facts_stated=facts_stated(shown, item.key_facts),
            contact_line=bool(CONTACT_LINE.search(answer)) if group == "declined" else False,
            latency_ms=float(ctx.timings_ms.get("total", 0.0)), answer=answer,
            timings_ms=dict(ctx.timings_ms)))
        if observe is not None:
            observe(item, ctx, out)
    return results


def _share(k: int, n: int) -> float | None:
    return round(k / n, 4) if n else None


def tally(rows: Sequence[Outcome]) -> dict[str, Any]:
    """Shares over ``rows``: outcome groups, not answered, key facts, answerable declined, decline with the
    contact line, answers citing gold, latency. A share over no rows is None."""
    n = len(rows)
    counts = {g: sum(r.outcome == g for r in rows) for g in OUTCOMES}
    declined = [r for r in rows if r.outcome == "declined"]
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    with_facts = [r for r in rows if r.facts_total]
    answered_facts = [r for r in with_facts if r.outcome == "answered"]
    gold_checked = [r for r in rows if r.cites_gold is not None]
    lat = [r.latency_ms for r in rows]
    decisions: dict[str, int] = defaultdict(int)
    for r in rows:
        decisions[r.status] += 1
    return {
        "n": n,
        "decisions": dict(sorted(decisions.items())),
        "outcomes": counts,
        **{f"{g}_share": _share(counts[g], n) for g in OUTCOMES},
        "not_answered_share": _share(sum(r.outcome in NOT_ANSWERED for r in rows), n),
        "declined_with_contact_share": _share(sum(r.contact_line for r in declined), n),
        "declines_with_contact_share": _share(sum(r.contact_line for r in declined), len(declined)),
        "answerable": len(answerable),
        "answerable_declined_share": _share(sum(r.outcome == "declined" for r in answerable), len(answerable)),
        "answerable_not_answered_share": _share(sum(r.outcome != "answered" for r in answerable), len(answerable)),
        "unanswerable": len(unanswerable),
        "unanswerable_answered_share": _share(sum(r.outcome == "answered" for r in unanswerable), len(unanswerable)),
        "key_fact_items": len(with_facts),
        # mean over items of the share of its key facts the shown answer states (0 when not answered)
        "key_fact_share": round(sum(r.fact_share or 0.0 for r in with_facts) / len(with_facts), 4)
        if with_facts else None,
        "key_fact_share_answered": round(sum(r.fact_share or 0.0 for r in answered_facts) / len(answered_facts), 4)
        if answered_facts else None,
        "key_facts_all_stated_share": _share(sum(r.facts_stated == r.facts_total for r in with_facts),
                                             len(with_facts)),
        "answered_citing_gold_share": _share(sum(bool(r.cites_gold) for r in gold_checked), len(gold_checked)),
        "latency_ms": {"p50": round(percentile(lat, 50), 1), "p95": round(percentile(lat, 95), 1)} if lat else {},
    }


def gap(dev: dict[str, Any], test: dict[str, Any]) -> dict[str, float]:
    """test minus dev for every share both sides have."""
    out = {}
    for k, v in test.items():
        w = dev.get(k)
        if "_share" in k and isinstance(v, float | int) and isinstance(w, float | int):
            out[k] = round(float(v) - float(w), 4)
    return out


def by_split(rows: Sequence[Outcome], key: Callable[[Outcome], str] | None = None) -> dict[str, Any]:
    """``{"test", "dev", "all", "gap"}`` tallies; with ``key``, also ``{"by": {value: {...same...}}}``."""
    test = tally([r for r in rows if r.split == "test"])
    dev = tally([r for r in rows if r.split == "dev"])
    out: dict[str, Any] = {"test": test, "dev": dev, "all": tally(rows), "gap": gap(dev, test)}
    if key is not None:
        values = sorted({key(r) for r in rows})
        out["by"] = {v: by_split([r for r in rows if key(r) == v]) for v in values}
    return out


def pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def signed(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:+.1f} pt"


def split_rows(label: str, block: dict[str, Any], keys: Sequence[tuple[str, str]]) -> list[str]:
    """Markdown table rows ``| label figure | test | dev | gap | n test / dev |`` for ``keys`` (key, name). A share
    ``x_share`` counted over fewer items than the split has its own count in ``x_n``."""
    t, d, g = block["test"], block["dev"], block["gap"]

    def n(side: dict[str, Any], key: str) -> Any:
        return side.get(key.removesuffix("_share") + "_n", side["n"])

    return [f"| {label}{name} | **{pct(t.get(k))}** | {pct(d.get(k))} | {signed(g.get(k))} | {n(t, k)} / {n(d, k)} |"
            for k, name in keys]


SPLIT_HEADER = ["| figure | test (headline) | dev | gap (test − dev) | n test / dev |", "|---|---|---|---|---|"]


def headline(block: dict[str, Any], key: str) -> str:
    """``test (dev d, gap g)`` for one share of a :func:`by_split` block (test is the headline)."""
    return (f"{pct(block['test'].get(key))} (dev {pct(block['dev'].get(key))}, "
            f"gap {signed(block['gap'].get(key))})")


def answer_pipeline(services: Any, steps: list[Any] | None = None) -> PipelineLike:
    """The whole answer path without recording (what every suite runs), or ``steps`` when a suite inserts
    one of its own (e.g. a snapshot of the passages given to the generator)."""
    from qa_service.answer.pipeline import AnswerPipeline, build_steps

    return AnswerPipeline(services, steps if steps is not None else build_steps(services, record=False))


def compact(block: dict[str, Any]) -> dict[str, Any]:
    """A :func:`by_split` block without the ``by`` breakdown (for embedding in larger reports)."""
    return {k: v for k, v in block.items() if k != "by"}


def split_shares(rows: Sequence[Outcome], flags: dict[str, dict[str, bool]]) -> dict[str, Any]:
    """Per-split shares of a suite's own per-item flags (``flags[item id][name]``), in :func:`by_split`'s shape
    (``test``, ``dev``, ``all`` with ``<name>_share`` and ``n``; ``gap``), so :func:`headline` reads them too."""
    def part(sel: list[Outcome]) -> dict[str, Any]:
        names = sorted({k for r in sel for k in flags.get(r.id, {})})
        return {"n": len(sel), **{f"{k}_share": _share(sum(flags.get(r.id, {}).get(k, False) for r in sel),
                                                       len(sel)) for k in names}}
    test, dev = part([r for r in rows if r.split == "test"]), part([r for r in rows if r.split == "dev"])
    return {"test": test, "dev": dev, "all": part(list(rows)), "gap": gap(dev, test)}

"""`place`: answers for the place, office and period a question names (issue 22), on a project-written fixture
(tests/fixtures/place: near-identical notices of 铁岭市, 南京市 and its 江宁区, Riverton, its Northgate district
and Lakeside, plus national notices; questions naming each place or office, and questions naming a place that has
no notice). Each question lists the sources that apply to it (written by hand, not by the detector) and the
telephone numbers of other offices or places that must not be quoted.

Figures per split (test headline, dev and gap; the split is a hash of the question id, eval/splits.py):

- **applicable only**: of the answers shown for questions naming a place, the share citing only sources that
  apply there (national ones included);
- **no-document handled**: of the questions about a place with no notice, the share declined or held, or
  answered with the plain sentence that the asked place's own rule is not held;
- **wrong number quoted**: the share of shown answers quoting a telephone number of another office or place;
- **mismatch code**: of the no-document questions answered, the share carrying a place reason code at medium
  risk or above (``place_not_held`` or ``place_mismatch``);
- **expired cited with a warning**: of the questions whose answer is in a notice no longer in force (expired, or
  in force in the past period the question names), the shown answers citing it with the warning, at medium risk or
  above (``source_expired``);
- **superseded never cited**: of the shown answers to questions the current notice answers, the share citing no
  notice it replaced;
- **warned when expired**: of the shown answers citing any notice no longer in force, the share with the warning;
- key-fact share and answered share of the questions whose place has notices.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from eval.runner import (
    SPLIT_HEADER,
    Item,
    Outcome,
    answer_pipeline,
    by_split,
    gap,
    headline,
    run_items,
    split_rows,
)
from qa_service.services import Services

SET = "place"
TENANT = "place"
FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "place"
KB = FIXTURE / "kb"  # the fixture knowledge base (the questions are FIXTURE / questions.jsonl)
PLACE_CODES = ("place_not_held", "place_mismatch", "office_mismatch", "period_mismatch")  # place, office or period
NOTE_MARKS = ("未收录", "hold nothing")
EXPIRED_MARKS = ("注意：以下内容依据的", "no longer in force")  # answer/steps/place.py expired_note
FIGURES = (("applicable_only_share", "shown answers citing only applicable sources"),
           ("no_doc_handled_share", "no-document questions declined, held or said plainly"),
           ("wrong_number_share", "shown answers quoting another office's or place's number"),
           ("mismatch_code_share", "no-document questions answered that carry the place reason code"),
           ("expired_warned_share", "expired-notice questions answered from it with the warning (medium+)"),
           ("superseded_not_cited_share", "current-notice questions answered citing no replaced notice"),
           ("warned_if_expired_share", "shown answers citing a notice no longer in force that carry the warning"))
NAMED_FIGURES = (("key_fact_share", "key-fact share (places with notices)"), ("answered_share", "answered"),
                 ("declined_share", "declined"), ("held_share", "held"))


def read_questions(root: Path = FIXTURE) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (root / "questions.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]


def to_item(row: dict[str, Any]) -> Item:
    return Item(id=str(row["qid"]), question=str(row["question"]), tenant=TENANT, lang=str(row.get("lang") or "auto"),
                gold=tuple(row.get("applicable") or ()), key_facts=tuple(row.get("key_facts") or ()),
                answerable=row["kind"] != "no_doc", group=str(row["kind"]))


def ensure_fixture(services: Services, root: Path = FIXTURE) -> int | None:
    """Ingest and publish the fixture knowledge base into tenant ``place`` unless it is live already; returns the
    live version."""
    from qa_service.ingest.pipeline import run_ingest
    from qa_service.kb import versions

    with services.db.session() as s:
        row = versions.live_row(s, TENANT)
    if row is None:
        run_ingest(services, [root / "kb"], TENANT, publish=True)
        with services.db.session() as s:
            row = versions.live_row(s, TENANT)
    return row.version if row is not None else None


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def flags(rows: list[Outcome], questions: dict[str, dict[str, Any]]) -> dict[str, dict[str, bool]]:
    """Per item, the suite's own judgements (a flag absent = the item does not count for that figure)."""
    out: dict[str, dict[str, bool]] = {}
    lapsed = {s for q in questions.values() for s in [q.get("cite_expired"), *(q.get("never") or [])] if s}
    for r in rows:
        q = questions[r.id]
        f: dict[str, bool] = {}
        shown = r.outcome == "answered"
        if shown:
            applicable = set(q.get("applicable") or [])
            f["applicable_only"] = set(r.cited_ids) <= applicable
            answer = _digits(r.answer)
            f["wrong_number"] = any(_digits(n) in answer for n in q.get("wrong_numbers") or [])
            warned = any(m in r.answer for m in EXPIRED_MARKS)
            if set(r.cited_ids) & lapsed:
                f["warned_if_expired"] = warned
            if q.get("never"):
                f["superseded_not_cited"] = not set(r.cited_ids) & set(q["never"])
        if q["kind"] == "expired":
            f["expired_warned"] = (shown and q.get("cite_expired") in r.cited_ids and any(m in r.answer for m in
                                   EXPIRED_MARKS) and r.risk_level in ("medium", "high"))
        if q["kind"] == "no_doc":
            said = shown and any(m in r.answer for m in NOTE_MARKS)
            f["no_doc_handled"] = r.outcome in ("declined", "held") or said
            if shown:
                f["mismatch_code"] = (r.risk_level in ("medium", "high")
                                      and any(c.split(":")[0] in PLACE_CODES for c in r.risk_reasons))
        out[r.id] = f
    return out


def shares(rows: list[Outcome], fl: dict[str, dict[str, bool]]) -> dict[str, Any]:
    """Per split, each flag's share over the items it is defined for (``<name>_share``, ``<name>_n``)."""
    names = sorted({k for f in fl.values() for k in f})

    def part(sel: list[Outcome]) -> dict[str, Any]:
        out: dict[str, Any] = {"n": len(sel)}
        for k in names:
            vals = [fl[r.id][k] for r in sel if k in fl.get(r.id, {})]
            out[f"{k}_n"] = len(vals)
            out[f"{k}_share"] = round(sum(vals) / len(vals), 4) if vals else None
        return out

    test, dev = part([r for r in rows if r.split == "test"]), part([r for r in rows if r.split == "dev"])
    return {"test": test, "dev": dev, "all": part(rows), "gap": gap(dev, test)}


def without_place_steps(services: Services) -> list[Any]:
    """The answer path as before issue 22 (no place filter, no place check, no place message): the comparison."""
    from qa_service.answer.pipeline import build_steps
    from qa_service.answer.steps.retrieve import Retrieve

    steps = [s for s in build_steps(services, record=False) if s.name not in ("place", "place_message")]
    for s in steps:
        if isinstance(s, Retrieve):
            s.places = None
    return steps


def run(services: Services, sample: int | None = None, baseline: bool = True, *,
        place_steps: bool = True) -> dict[str, Any]:
    """``sample`` and ``baseline`` are accepted for the adapter interface (46 questions; no baseline).
    ``place_steps`` False runs the path without the place filter and checks (the before-issue-22 figures)."""
    version = ensure_fixture(services)
    questions = {str(q["qid"]): q for q in read_questions()}
    steps = None if place_steps else without_place_steps(services)
    rows = run_items(answer_pipeline(services, steps), [to_item(q) for q in questions.values()], SET)
    with_docs = [r for r in rows if r.answerable]
    return {"set": "tests/fixtures/place/questions.jsonl", "questions": len(rows), "version": version,
            "baseline": None, "place": shares(rows, flags(rows, questions)),
            "with_documents": by_split(with_docs, key=lambda r: r.lang),
            "items": [r.as_dict() for r in rows]}


def render(block: dict[str, Any]) -> list[str]:
    lines = [f"## place: the place, office and period a question names ({block['questions']} questions)", "",
             f"`{block['set']}` over the fixture knowledge base tests/fixtures/place/kb (version {block['version']}). "
             "Test is the headline; n counts the questions each figure is over.", "", *SPLIT_HEADER,
             *split_rows("", block["place"], FIGURES), *split_rows("", block["with_documents"], NAMED_FIGURES), ""]
    bad = [r for r in block["items"] if r["outcome"] == "answered" and not r["answerable"]]
    if bad:
        lines += ["No-document questions answered (first 120 characters):", ""]
        lines += [f"- `{r['id']}` ({r['split']}, {r['risk_level']}): {r['answer'][:120]}" for r in bad]
        lines.append("")
    return lines


def summary(block: dict[str, Any]) -> list[tuple[str, str, str]]:
    p = block["place"]
    return [(f"place: {name}, test (dev, gap)", headline(p, key), "not run") for key, name in FIGURES]

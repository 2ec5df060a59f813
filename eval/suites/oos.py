"""`oos`: questions about public services the sample knowledge has no guide or FAQ for
(knowledge/questions-oos.jsonl: dog registration, passports, student bus cards, fishing licences, …), zh and en,
beside answerable controls (every question of knowledge/questions-broad.jsonl).

Out-of-scope questions should end *declined* with the contact line (a hotline or telephone number in the
message) or *held*; the controls should be answered. 12 of the 30 questions share a topic (not the wording) with
the unanswerable questions of knowledge/questions.jsonl, which the answer steps were tuned on; figures are also
given for those and for the new topics apart. Figures per split (test headline, dev and gap):
declined with the contact line, held, answered (out-of-scope questions); declined and answered (controls).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eval.runner import SPLIT_HEADER, Outcome, answer_pipeline, by_split, headline, run_items, split_rows
from eval.suites.sample_sets import BROAD, KNOWLEDGE, OOS, ensure_sample_knowledge, read_set, sample_units, to_item
from qa_service.services import Services

SET = "oos"
CONTROL_SET = "broad"  # the controls keep the broad set's split
OOS_FIGURES = (("declined_with_contact_share", "declined with the contact line"),
               ("declined_share", "declined"), ("held_share", "held for review"),
               ("not_answered_share", "not answered (declined or held)"), ("answered_share", "answered"),
               ("blocked_share", "blocked by the input guard"), ("error_share", "error"))
CONTROL_FIGURES = (("answerable_declined_share", "answerable declined"), ("held_share", "answerable held"),
                   ("answered_share", "answerable answered"))


def tuned_topics(root: Path = KNOWLEDGE) -> set[str]:
    """Ids of the out-of-scope questions whose topic (not wording) is also among the unanswerable questions of
    knowledge/questions.jsonl, which the answer steps were tuned on."""
    return {str(r["qid"]) for r in read_set(OOS, root) if r.get("topic_in_tuned_set")}


def figures(rows: list[Outcome]) -> dict[str, Any]:
    tuned = tuned_topics()
    by_topic = by_split(rows, key=lambda r: "topic also in the tuned set" if r.id in tuned else "new topic")
    return {"out_of_scope": by_split(rows, key=lambda r: r.lang), "by_topic_origin": by_topic["by"]}


def run(services: Services, sample: int | None, baseline: bool = True, *,
        controls: bool = True, tenants: tuple[str, ...] | None = None) -> dict[str, Any]:
    """``tenants``: only the questions asked of these tenants. ``baseline`` is accepted for the adapter
    interface (the llama-index baseline always answers)."""
    knowledge = ensure_sample_knowledge(services)
    pipe = answer_pipeline(services)
    oos_items = [to_item(r) for r in read_set(OOS, KNOWLEDGE) if tenants is None or r["tenant"] in tenants]
    oos_items = sample_units(oos_items, sample)
    oos_rows = run_items(pipe, oos_items, SET)
    block: dict[str, Any] = {"set": f"knowledge/{OOS}", "questions": len(oos_rows), "knowledge": knowledge,
                             "baseline": None, **figures(oos_rows), "items": [r.as_dict() for r in oos_rows]}
    if controls:
        ctl = sample_units([to_item(r) for r in read_set(BROAD, KNOWLEDGE)
                            if tenants is None or r["tenant"] in tenants], sample)
        ctl_rows: list[Outcome] = run_items(pipe, ctl, CONTROL_SET)
        block["controls"] = {"set": f"knowledge/{BROAD}", "questions": len(ctl_rows),
                             **by_split(ctl_rows, key=lambda r: r.lang),
                             "items": [r.as_dict() for r in ctl_rows]}
    return block


def render(block: dict[str, Any]) -> list[str]:
    o = block["out_of_scope"]
    lines = [f"## oos: out-of-scope questions on the sample knowledge ({block['questions']} questions)", "",
             f"`{block['set']}`: public services with no guide or FAQ in the sample knowledge. *Declined* = "
             "out_of_scope or unanswerable_*; *with the contact line* = the message names a hotline or a telephone "
             "number; *held* = held_for_review. Test is the headline.", "", *SPLIT_HEADER,
             *split_rows("out of scope: ", o, OOS_FIGURES)]
    for lang, sub in o.get("by", {}).items():
        lines += split_rows(f"out of scope {lang}: ", sub, OOS_FIGURES[:1] + OOS_FIGURES[4:5])
    for origin, sub in (block.get("by_topic_origin") or {}).items():
        lines += split_rows(f"out of scope, {origin}: ", sub, OOS_FIGURES[3:5])
    c = block.get("controls")
    if c:
        lines += split_rows("controls: ", c, CONTROL_FIGURES)
        for lang, sub in c.get("by", {}).items():
            lines += split_rows(f"controls {lang}: ", sub, CONTROL_FIGURES[:1])
    lines += ["", f"Decisions (out of scope, all): {o['all']['decisions']}.", ""]
    answered = [r for r in block["items"] if r["outcome"] == "answered"]
    if answered:
        lines += ["Out-of-scope questions answered (first 120 characters of the answer):", ""]
        lines += [f"- `{r['id']}` ({r['split']}): {r['answer'][:120].replace(chr(10), ' ')}" for r in answered]
        lines.append("")
    return lines


def summary(block: dict[str, Any]) -> list[tuple[str, str, str]]:
    o = block["out_of_scope"]
    rows = [("oos declined with the contact line, test (dev, gap)", headline(o, "declined_with_contact_share"),
             "0.0% (always answers)"),
            ("oos held, test (dev, gap)", headline(o, "held_share"), "0.0%"),
            ("oos answered, test (dev, gap)", headline(o, "answered_share"), "100.0%")]
    c = block.get("controls")
    if c:
        rows.append(("oos controls: answerable declined, test (dev, gap)", headline(c, "answerable_declined_share"),
                     "0.0%"))
    return rows

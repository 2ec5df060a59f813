"""`broad`: broad, natural citizen questions on the shipped sample knowledge (knowledge/questions-broad.jsonl),
zh and en, with follow-ups; scored by the share of each question's key facts the shown answer states.

Every figure is given for the ``test`` split (headline) and the ``dev`` split with the gap; the split is a hash
of the question id (eval/splits.py). The first sample set (knowledge/questions.jsonl) is run too, labelled
*tuned on*: the answer steps were tuned on it, so its figures say how well the tuning fits, not how well the
service answers new questions. No llama-index baseline is run for this suite.
"""

from __future__ import annotations

from typing import Any

from eval.runner import SPLIT_HEADER, Outcome, answer_pipeline, by_split, headline, pct, run_items, split_rows
from eval.suites.sample_sets import BROAD, KNOWLEDGE, TUNED, ensure_sample_knowledge, read_set, sample_units, to_item
from qa_service.services import Services

SET = "broad"
TUNED_SET = "sample_tuned"
FIGURES = (("key_fact_share", "key-fact share"), ("key_facts_all_stated_share", "every key fact stated"),
           ("key_fact_share_answered", "key-fact share (answered only)"), ("answered_share", "answered"),
           ("held_share", "held for review"), ("declined_share", "declined"),
           ("answered_citing_gold_share", "answers citing a gold source"))


def figures(rows: list[Outcome]) -> dict[str, Any]:
    return {"overall": by_split(rows, key=lambda r: r.lang),
            "by_kind": by_split(rows, key=lambda r: r.group)["by"]}


def run(services: Services, sample: int | None, baseline: bool = True, *, ids: list[str] | None = None,
        tuned: bool = True) -> dict[str, Any]:
    """``ids``: only these questions (their conversations' earlier turns are not added); ``tuned``: also run
    knowledge/questions.jsonl (labelled tuned on). ``baseline`` is accepted for the adapter interface."""
    knowledge = ensure_sample_knowledge(services)
    pipe = answer_pipeline(services)
    items = [to_item(r) for r in read_set(BROAD, KNOWLEDGE)]
    if ids is not None:
        wanted = set(ids)
        items = [it for it in items if it.id in wanted]
    items = sample_units(items, sample)
    rows = run_items(pipe, items, SET)
    block: dict[str, Any] = {"set": f"knowledge/{BROAD}", "questions": len(rows), "knowledge": knowledge,
                             "baseline": None, **figures(rows), "items": [r.as_dict() for r in rows]}
    if tuned:
        tuned_items = [to_item(r) for r in read_set(TUNED, KNOWLEDGE) if r.get("answerable", True)]
        tuned_rows = run_items(pipe, sample_units(tuned_items, sample), TUNED_SET)
        block["tuned_on"] = {"set": f"knowledge/{TUNED}", "questions": len(tuned_rows),
                             **figures(tuned_rows), "items": [r.as_dict() for r in tuned_rows]}
    return block


def _lang_rows(label: str, fig: dict[str, Any]) -> list[str]:
    lines = split_rows(label, fig["overall"], FIGURES)
    for lang, sub in fig["overall"].get("by", {}).items():
        lines += split_rows(f"{label}{lang}: ", sub, FIGURES[:2])
    return lines


def render(block: dict[str, Any]) -> list[str]:
    o = block["overall"]
    lines = [f"## broad: natural citizen questions on the sample knowledge ({block['questions']} questions)", "",
             f"`{block['set']}`: zh and en questions on procedures, documents, eligibility, what happens if, and "
             "follow-ups (asked in order with the conversation's earlier questions as history). Key-fact share: "
             "for each question, the share of its key facts the answer the citizen sees states (0 when not "
             "answered), averaged over questions. Test is the headline; dev is where anything may be tuned.",
             "", *SPLIT_HEADER, *_lang_rows("", block), "",
             "| kind | n test / dev | key-fact share test | dev |", "|---|---|---|---|"]
    for kind, sub in block["by_kind"].items():
        lines.append(f"| {kind} | {sub['test']['n']} / {sub['dev']['n']} | {pct(sub['test']['key_fact_share'])} | "
                     f"{pct(sub['dev']['key_fact_share'])} |")
    lines += ["", f"Decisions (all): {o['all']['decisions']}. Latency p50 / p95: "
              f"{o['all']['latency_ms'].get('p50')} / {o['all']['latency_ms'].get('p95')} ms.", ""]
    t = block.get("tuned_on")
    if t:
        lines += [f"### Tuned on: `{t['set']}` ({t['questions']} answerable questions)", "",
                  "**Measured on data the answer steps were tuned on** — not a held-out figure (so no test/dev "
                  "columns); shown to compare with the broad set above.", "",
                  "| figure (tuned on) | all | n |", "|---|---|---|"]
        a = t["overall"]["all"]
        lines += [f"| {name} | {pct(a.get(k))} | {a['n']} |" for k, name in FIGURES[:4]]
        lines.append("")
    return lines


def summary(block: dict[str, Any]) -> list[tuple[str, str, str]]:
    o = block["overall"]
    rows = [("broad key-fact share, test (dev, gap)", headline(o, "key_fact_share"), "not run")]
    for lang, sub in o.get("by", {}).items():
        rows.append((f"broad key-fact share {lang}, test (dev, gap)", headline(sub, "key_fact_share"), "not run"))
    rows.append(("broad answered, test (dev, gap)", headline(o, "answered_share"), "not run"))
    t = block.get("tuned_on")
    if t:
        rows.append(("sample questions.jsonl key-fact share (TUNED ON, not held out)",
                     pct(t["overall"]["all"]["key_fact_share"]), "not run"))
    return rows

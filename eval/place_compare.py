"""Issue 22's last "done when": the project's other suites with the place steps on and off, on the same tree.

For each suite (the confidence-training cases of eval/train_confidence.py: ``broad`` by key facts, ``oos``
declined, and ``kenya_faq``, ``rgb_en``, ``rgb_zh``, ``lecoqa`` each twice: with the gold passages, judged by
citing one, and with them removed, judged by not answering), every case is asked twice in one process on the
same ingested versions: with the whole answer path, and with the place filter, the place check and the place
message taken out (eval/suites/place.py ``without_place_steps``). Per split: the share of cases decided right,
the share answered, and how many answers differ (decision, risk level or text). The headline is the test
difference (on − off) beside the suite's dev–test gap with the place steps on (its noise).

    python -m eval.place_compare --out /tmp/place-compare [--suite broad ...] [--sample lecoqa=60]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

from eval.runner import Outcome, answer_pipeline, run_items
from eval.suites.place import without_place_steps
from eval.train_confidence import DEFAULT_SAMPLE, SUITES, Case, cases_for
from qa_service.services import Services

log = logging.getLogger(__name__)


def right(case: Case, row: Outcome) -> bool:
    """The case decided right: a gold case answered with a gold citation (``broad``: half its key facts stated),
    a removed or out-of-scope case not answered."""
    if case.condition != "gold":
        return row.outcome != "answered"
    if row.outcome != "answered":
        return False
    if case.judge == "key_facts":
        return bool(row.facts_total) and row.facts_stated * 2 >= row.facts_total
    return bool(row.cites_gold)


def _part(cases: list[Case], on: list[Outcome], off: list[Outcome], split: str | None) -> dict[str, Any]:
    idx = [i for i, r in enumerate(on) if split is None or r.split == split]
    n = len(idx)

    def share(vals: list[bool]) -> float | None:
        return round(sum(vals) / n, 4) if n else None

    differ = [i for i in idx if (on[i].status, on[i].risk_level, on[i].answer)
              != (off[i].status, off[i].risk_level, off[i].answer)]
    return {"n": n, "right_on": share([right(cases[i], on[i]) for i in idx]),
            "right_off": share([right(cases[i], off[i]) for i in idx]),
            "answered_on": share([on[i].outcome == "answered" for i in idx]),
            "answered_off": share([off[i].outcome == "answered" for i in idx]),
            "differ": len(differ), "differ_ids": [on[i].id for i in differ][:20]}


def compare(services: Services, suite: str, sample: int | None) -> dict[str, Any]:
    """One suite on and off (see the module docstring)."""
    t0 = time.perf_counter()
    cases = cases_for(services, suite, sample)
    items = [c.item for c in cases]
    services.__dict__["review_sink"] = None  # an evaluation queues nothing for staff
    on = run_items(answer_pipeline(services), items, suite)
    off = run_items(answer_pipeline(services, without_place_steps(services)), items, suite)
    out = {"suite": suite, "cases": len(cases), "sample": sample,
           **{s: _part(cases, on, off, s) for s in ("test", "dev")}, "all": _part(cases, on, off, None),
           "seconds": round(time.perf_counter() - t0, 1)}
    place_codes = sum(any(c.split(":")[0].startswith(("place_", "office_", "period_", "figure_owner", "source_exp"))
                          for c in r.risk_reasons) for r in on)
    out["place_codes_on"] = place_codes
    return out


def render(results: list[dict[str, Any]]) -> list[str]:
    def pct(v: float | None) -> str:
        return "–" if v is None else f"{100 * v:.1f}%"

    def pt(v: float | None) -> str:
        return "–" if v is None else f"{100 * v:+.1f} pt"

    lines = ["| suite (cases test / dev) | right, test: on / off | test difference | dev: on / off | "
             "dev–test gap (on) | answers differing (all) | place reason codes (on) |", "|---|---|---|---|---|---|---|"]
    for r in results:
        t, d = r["test"], r["dev"]
        diff = None if t["right_on"] is None else t["right_on"] - t["right_off"]
        gap = None if t["right_on"] is None or d["right_on"] is None else t["right_on"] - d["right_on"]
        lines.append(f"| {r['suite']} ({t['n']} / {d['n']}) | {pct(t['right_on'])} / {pct(t['right_off'])} | "
                     f"{pt(diff)} | {pct(d['right_on'])} / {pct(d['right_off'])} | {pt(gap)} | "
                     f"{r['all']['differ']} of {r['all']['n']} | {r['place_codes_on']} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--suite", action="append", choices=SUITES)
    ap.add_argument("--sample", action="append", default=[], help="suite=N (default: train_confidence's)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    samples: dict[str, int | None] = {**DEFAULT_SAMPLE}
    for s in args.sample:
        name, n = s.split("=")
        samples[name] = int(n) or None
    from qa_service.settings import load_settings

    services = Services(load_settings())
    args.out.mkdir(parents=True, exist_ok=True)
    done: list[dict[str, Any]] = []
    path = args.out / "place-compare.json"
    if path.exists():
        done = json.loads(path.read_text(encoding="utf-8"))
    for suite in args.suite or SUITES:
        if any(r["suite"] == suite for r in done):
            continue
        res = compare(services, suite, samples.get(suite))
        done.append(res)
        path.write_text(json.dumps(done, ensure_ascii=False, indent=1), encoding="utf-8")
        print("\n".join(render([res])), flush=True)
    (args.out / "place-compare.md").write_text("\n".join(render(done)) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

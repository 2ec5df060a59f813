"""How well the wrong-answer model's probability tracks correctness, on the TEST halves it was never fitted on.

    python -m eval.calibration [--out eval/reports]

Reads the per-item cache of ``python -m eval.train_confidence`` (data/confidence-features.jsonl), scores every
row with the shipped model (qa_service/answer/model/confidence.json) and the thresholds of
qa_service/answer/risk_policy.yaml, and writes ``<out>/<date>-confidence.md`` and ``<date>-confidence.png``
(reliability diagram: predicted vs observed wrong rate, per suite). Figures per suite and condition:

- AUC of the probability for "wrong" (drafts only; a path that stopped before the risk step has no draft);
- wrong share of the answers labelled low and medium (gold present);
- the routing the route step applies (:func:`route_of`): held, declined, answered; not answered with the
  gold removed (negative rejection), out-of-scope declined / held, answerable declined;
- the review queue: items per 100 questions (held + the sampled share of medium answers) and the share of
  held items staff would approve (the draft cites gold / states the key facts).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qa_service.answer.confidence import ConfidenceModel, level_for, thresholds_for
from qa_service.answer.risk import LEVEL_ORDER

REPORTS = Path(__file__).with_name("reports")


def route_of(row: Mapping[str, Any], p: float | None, th: Mapping[str, float]) -> tuple[str, str]:
    """(outcome group, level) the answer path gives this cached row under thresholds ``th``: a path that stopped
    before the route step or that the scope check sent out of scope keeps its decision; else the level is the
    higher of the other reason codes' level and the model's, high is held only with a draft worth reviewing."""
    if not row.get("draft") or p is None or row.get("status") == "out_of_scope":
        return str(row.get("outcome") or "error"), str(row.get("level_other") or "low")
    th = thresholds_for(th, row_guide(row))
    lv = max(str(row.get("level_other") or "low"), level_for(p, th), key=lambda v: LEVEL_ORDER[v])
    if lv == "high":  # a partial draft is no draft worth review (answer/confidence.py draft_worth_review)
        partial = "model_partial" in (row.get("reasons_other") or [])
        return ("held" if p < th.get("p_wrong_decline", 1.01) and not partial else "declined"), lv
    return "answered", lv


def row_guide(row: Mapping[str, Any]) -> bool:
    """A cached row whose draft comes from typed guides (feature ``guide``; in a cache collected before that
    feature, ``composed``)."""
    f: Mapping[str, float] = (row.get("features") or {}) if row.get("draft") else {}
    return float(f.get("guide", f.get("composed", 0.0))) >= 0.5


def _share(k: int, n: int) -> float | None:
    return round(k / n, 4) if n else None


def auc(scores: Sequence[float], labels: Sequence[int]) -> float | None:
    """Area under the ROC curve (probability a wrong draft scores above a right one; ties count half)."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return None
    wins = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
    return round(wins / (len(pos) * len(neg)), 4)


def _old_confidence(f: Mapping[str, float]) -> float:
    """The hand-set retrieval confidence the risk step used before (answer/steps/risk.py), for comparison."""
    w = 0.15 if f.get("zh") else 0.4
    return (1 - w) * float(f.get("idf_coverage", 0.0)) + w * max(float(f.get("dense_top", 0.0)), 0.0)


def scores_of(row: Mapping[str, Any], model: ConfidenceModel | None) -> tuple[float, float] | None:
    """(uncalibrated score, calibrated p_wrong) of a cached row: by ``model``, or with ``model`` None the
    out-of-fold values the training run attached (``raw_oof``, ``p_oof``); None for a row without a draft."""
    if not row.get("draft") or not row.get("features"):
        return None
    if model is None:
        if row.get("p_oof") is None:
            return None
        return float(row["raw_oof"]), float(row["p_oof"])
    return model.raw(row["features"]), model.p_wrong(row["features"])


def evaluate(rows: Sequence[Mapping[str, Any]], model: ConfidenceModel | None, th: Mapping[str, float],
             sample_rate: float = 0.2) -> dict[str, Any]:
    """The figures of the module docstring over ``rows`` (any mix of suites and conditions); ``model`` None =
    the rows' out-of-fold scores (:func:`scores_of`)."""
    raw_p = [(r, scores_of(r, model)) for r in rows]
    scored = [(r, sp[1] if sp is not None else None) for r, sp in raw_p]
    raw = {id(r): sp[0] for r, sp in raw_p if sp is not None}
    drafts = [(r, p) for r, p in scored if p is not None and r.get("label") is not None]
    routed = [(r, p, *route_of(r, p, th)) for r, p in scored]
    gold = [x for x in routed if x[0]["condition"] == "gold"]
    unans = [x for x in routed if x[0]["condition"] != "gold"]
    removed = [x for x in unans if x[0]["condition"] == "removed"]
    oos = [x for x in unans if x[0]["condition"] == "oos"]
    by_level: dict[str, list[int]] = {"low": [0, 0], "medium": [0, 0], "high": [0, 0]}
    for r, _p, outcome, lv in gold:
        if outcome == "answered" and r.get("label") is not None:
            by_level[lv][0] += 1
            by_level[lv][1] += int(r["label"])
    held = [x for x in routed if x[2] == "held"]
    medium_shown = sum(1 for x in routed if x[2] == "answered" and x[3] == "medium")
    n = len(routed)
    return {
        "n": n, "drafts": len(drafts),
        # AUC of the uncalibrated score (monotone in the probability; the isotonic steps would add ties)
        "auc": auc([raw[id(r)] for r, _ in drafts], [int(r["label"]) for r, _ in drafts]),
        "auc_old_confidence": auc([-_old_confidence(r["features"]) for r, _ in drafts],
                                  [int(r["label"]) for r, _ in drafts]),
        "wrong_by_level": {lv: {"answered": a, "wrong_share": _share(w, a)} for lv, (a, w) in by_level.items()},
        "outcomes": {g: sum(x[2] == g for x in routed) for g in ("answered", "held", "declined", "blocked", "error")},
        "gold_answered_share": _share(sum(x[2] == "answered" for x in gold), len(gold)),
        "gold_declined_share": _share(sum(x[2] == "declined" for x in gold), len(gold)),
        "gold_answered_right_share": _share(sum(x[2] == "answered" and x[0].get("label") == 0 for x in gold),
                                            len(gold)),
        "unanswerable_not_answered_share": _share(sum(x[2] in ("held", "declined") for x in unans), len(unans)),
        "unanswerable_declined_share": _share(sum(x[2] == "declined" for x in unans), len(unans)),
        "unanswerable_held_share": _share(sum(x[2] == "held" for x in unans), len(unans)),
        "removed_not_answered_share": _share(sum(x[2] in ("held", "declined") for x in removed), len(removed)),
        "removed_declined_share": _share(sum(x[2] == "declined" for x in removed), len(removed)),
        "oos_declined_share": _share(sum(x[2] == "declined" for x in oos), len(oos)),
        "oos_held_share": _share(sum(x[2] == "held" for x in oos), len(oos)),
        "gold_held_share": _share(sum(x[2] == "held" for x in gold), len(gold)),
        "queue_per_100": round(100 * (len(held) + sample_rate * medium_shown) / n, 1) if n else None,
        "held_per_100": round(100 * len(held) / n, 1) if n else None,
        "held_approvable_share": _share(sum(x[0].get("label") == 0 for x in held), len(held)),
    }


def reliability(rows: Sequence[Mapping[str, Any]], model: ConfidenceModel, bins: int = 10,
                ) -> list[tuple[float, float, int]]:
    """(mean predicted, observed wrong rate, count) per equal-width bin of predicted probability."""
    acc: list[list[float]] = [[0.0, 0.0, 0.0] for _ in range(bins)]
    for r in rows:
        if not r.get("draft") or not r.get("features") or r.get("label") is None:
            continue
        p = model.p_wrong(r["features"])
        b = acc[min(int(p * bins), bins - 1)]
        b[0] += p
        b[1] += int(r["label"])
        b[2] += 1
    return [(round(s / c, 4), round(w / c, 4), int(c)) for s, w, c in acc if c]


def plot(curves: Mapping[str, list[tuple[float, float, int]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="#888", linestyle="--", linewidth=0.8, label="perfect")
    for name, pts in curves.items():
        if pts:
            ax.plot([p for p, _, _ in pts], [o for _, o, _ in pts], marker="o", markersize=3, label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted probability of a wrong answer")
    ax.set_ylabel("observed wrong rate")
    ax.set_title("Reliability on the test halves")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def _cell(test: float | None, dev: float | None, percent: bool = True) -> str:
    """``test (dev d, gap g)``: the test figure first, the dev figure and test − dev beside it."""
    fmt = pct if percent else (lambda v: "–" if v is None else f"{v:.3f}")
    if test is None and dev is None:
        return "–"
    gap = "" if test is None or dev is None else (
        f", gap {(test - dev) * 100:+.1f}" if percent else f", gap {test - dev:+.3f}")
    return f"{fmt(test)} (dev {fmt(dev)}{gap})"


def _levels(e: Mapping[str, Any]) -> str:
    wl = e["wrong_by_level"]
    return (f"{pct(wl['low']['wrong_share'])} (n {wl['low']['answered']}) / "
            f"{pct(wl['medium']['wrong_share'])} (n {wl['medium']['answered']})")


def report(rows: Sequence[Mapping[str, Any]], model: ConfidenceModel, th: Mapping[str, float], out: Path,
           sample_rate: float = 0.2, date: str | None = None) -> Path:
    """Write the Markdown report (test halves, dev beside) and the reliability diagram; returns the .md path."""
    date = date or dt.date.today().isoformat()
    test = [r for r in rows if r["split"] == "test"]
    dev = [r for r in rows if r["split"] == "dev"]
    suites = sorted({str(r["suite"]) for r in test})
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"{date}-confidence.png"
    plot({s: reliability([r for r in test if r["suite"] == s], model) for s in suites} |
         {"all": reliability(test, model)}, png)
    ev: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for s in [*suites, "all"]:
        t_rows = test if s == "all" else [r for r in test if r["suite"] == s]
        d_rows = dev if s == "all" else [r for r in dev if r["suite"] == s]
        ev[s] = (evaluate(t_rows, model, th, sample_rate), evaluate(d_rows, model, th, sample_rate))
    lines = [f"# Confidence model on the test halves — {date}", "",
             "`python -m eval.calibration` over `data/confidence-features.jsonl` (collected by "
             "`python -m eval.train_confidence`). The model and thresholds were fitted and chosen on the dev "
             "halves only; every cell is the test figure, with the dev figure (the shipped model scoring the rows "
             "it was fitted on) and the gap test − dev beside it. Thresholds: "
             + ", ".join(f"{k} {v}" for k, v in th.items() if k.startswith("p_wrong")) + ".", "",
             f"![reliability]({png.name})", "",
             "## Ranking", "",
             "| suite | drafts test / dev | AUC (wrong) | AUC old confidence |", "|---|---|---|---|"]
    for s, (t, d) in ev.items():
        lines.append(f"| {s} | {t['drafts']} / {d['drafts']} | {_cell(t['auc'], d['auc'], False)} | "
                     f"{_cell(t['auc_old_confidence'], d['auc_old_confidence'], False)} |")
    lines += ["", "## Routing", "",
              "| suite | low / medium wrong, test | low / medium wrong, dev | answerable declined | "
              "answerable held | gold removed: declined or held | gold removed: declined | oos declined | "
              "oos held | queue per 100 | held approvable |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s, (t, d) in ev.items():
        lines.append(
            f"| {s} | {_levels(t)} | {_levels(d)} | {_cell(t['gold_declined_share'], d['gold_declined_share'])} | "
            f"{_cell(t['gold_held_share'], d['gold_held_share'])} | "
            f"{_cell(t['removed_not_answered_share'], d['removed_not_answered_share'])} | "
            f"{_cell(t['removed_declined_share'], d['removed_declined_share'])} | "
            f"{_cell(t['oos_declined_share'], d['oos_declined_share'])} | "
            f"{_cell(t['oos_held_share'], d['oos_held_share'])} | {t['queue_per_100']} (dev {d['queue_per_100']}) | "
            f"{_cell(t['held_approvable_share'], d['held_approvable_share'])} |")
    lines += ["", "## The held threshold: what holding more buys", "",
              f"All suites pooled, `p_wrong_decline` {th.get('p_wrong_decline')} and `p_wrong_medium` = "
              "`p_wrong_high` (no medium band), test (dev).", "",
              "| p_wrong_high | answerable answered | answerable answered right | answerable held | "
              "gold removed or oos: not answered | queue per 100 |", "|---|---|---|---|---|---|"]
    for g in sorted({round(0.3 + 0.05 * i, 2) for i in range(13)} | {float(th["p_wrong_high"])}):
        if g > th.get("p_wrong_decline", 1.01):
            break
        sweep = {**th, "p_wrong_medium": g, "p_wrong_high": g}
        t, d = evaluate(test, model, sweep, sample_rate), evaluate(dev, model, sweep, sample_rate)
        mark = " (shipped)" if g == float(th["p_wrong_high"]) else ""
        lines.append(f"| {g}{mark} | {_cell(t['gold_answered_share'], d['gold_answered_share'])} | "
                     f"{_cell(t['gold_answered_right_share'], d['gold_answered_right_share'])} | "
                     f"{_cell(t['gold_held_share'], d['gold_held_share'])} | "
                     f"{_cell(t['unanswerable_not_answered_share'], d['unanswerable_not_answered_share'])} | "
                     f"{t['queue_per_100']} (dev {d['queue_per_100']}) |")
    lines += ["", "Columns: *drafts* = items whose path reached the risk step with an answer; *AUC* = of the "
              "model's score for \"this draft is wrong\"; *AUC old confidence* = of the hand-set coverage/dense "
              "blend the risk step used before, on the same drafts; *low / medium wrong* = share of the answers "
              "shown at that level (gold present) that do not cite gold / state the key facts, with their counts; "
              "*answerable declined / held* = gold present, share declined (contact line) / held for review; "
              "*gold removed* = share of the questions asked with their gold sources excluded that are not answered "
              "(held or declined) / declined; *oos* = questions about services the sample knowledge has no guide "
              "for: declined (contact line, no review item) / held; *queue per 100* = review items per 100 "
              f"questions (held + {sample_rate:.0%} of medium answers); *held approvable* = held drafts that cite "
              "gold / state the key facts.", ""]
    md = out / f"{date}-confidence.md"
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return md


def main() -> None:
    from eval.train_confidence import cache_path, load_cache
    from qa_service.answer.confidence import shipped_model
    from qa_service.answer.risk import load_policy
    from qa_service.services import Services
    from qa_service.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPORTS)
    args = parser.parse_args()
    services = Services(load_settings(), migrate=False)
    policy = load_policy()
    md = report(load_cache(cache_path(services)), shipped_model(), policy.thresholds, args.out,
                policy.sample_rate_medium)
    print(md)


if __name__ == "__main__":
    main()

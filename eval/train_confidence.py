"""Train the wrong-answer model (qa_service/answer/confidence.py) on the dev halves of the evaluation suites.

    python -m eval.train_confidence [--collect] [--suites broad,oos,kenya_faq,rgb_en,rgb_zh,lecoqa] [--sample N]

Step 1, collect (``--collect``, or whenever a suite is missing from the cache): every item of each suite goes
through the answer path (nothing recorded) with the risk step in features-only mode; the draft that reaches
the route step, its features, the level from the other reason codes and the decision are cached per item in
``data/confidence-features.jsonl`` (not committed). Both halves are collected: dev trains, test is reported
(eval/calibration.py). Conditions: ``gold`` (gold sources present), ``removed`` (the item's gold sources
excluded: the right outcome is not answering), ``oos`` (questions the knowledge has no guide for).

Label: 1 (wrong) when the draft does not cite a gold source (RGB, Kenya FAQ, LeCoQA), states fewer than half of
its key facts (the broad set), or the right outcome was not answering (removed, oos). Items whose path stopped
before the risk step have no draft and are declined whatever the model says; they are not training rows.

Step 2, fit (a minute): the inverse regularisation C chosen by grouped 5-fold CV on dev (mean per-suite
out-of-fold AUC; the two conditions of one question share a fold), logistic regression on the clipped
standardised features (``confidence.FEATURES``, or ``--features`` / ``--select``), Platt calibration on the
out-of-fold scores, and the thresholds ``p_wrong_*`` chosen on the out-of-fold dev probabilities (printed; put
them in risk_policy.yaml). Writes qa_service/answer/model/confidence.json + .sha256 + provenance.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.runner import Item, facts_stated, outcome_of
from eval.splits import split_of
from qa_service.answer.confidence import CANDIDATES, FEATURES, MODEL, ConfidenceModel, feature_value
from qa_service.answer.context import AnswerContext
from qa_service.services import Services

log = logging.getLogger(__name__)
SUITES = ("broad", "oos", "kenya_faq", "rgb_en", "rgb_zh", "lecoqa")
DEFAULT_SAMPLE = {"rgb_en": 100, "rgb_zh": 100, "lecoqa": 120}  # per suite, before splitting; None = every item
SEED = 20261203
C_GRID = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)


@dataclass(frozen=True)
class Case:
    item: Item
    condition: str  # gold | removed | oos
    judge: str  # cites_gold | key_facts | none
    split_key: str | None = None  # what the split hashes when not the item id (a follow-up: its conversation)


def cache_path(services: Services) -> Path:
    return services.settings.data_dir / "confidence-features.jsonl"


def _sampled(rows: list[Any], n: int | None) -> list[Any]:
    from eval.suites.generic import sample_rows

    return sample_rows(rows, n, SEED)


def _both(items: Iterable[Item]) -> list[Case]:
    out: list[Case] = []
    for it in items:
        out.append(Case(it, "gold", "cites_gold"))
        out.append(Case(Item(**{**it.__dict__, "exclude_sources": tuple(it.gold)}), "removed", "none"))
    return out


def cases_for(services: Services, suite: str, sample: int | None) -> list[Case]:
    """Ingest what the suite needs and return its cases (conditions as in the module docstring)."""
    from eval.suites import generic
    from eval.suites.sample_sets import BROAD, KNOWLEDGE, OOS, ensure_sample_knowledge, read_set, to_item

    if suite in ("broad", "oos"):
        ensure_sample_knowledge(services)
        if suite == "broad":  # follow-ups are asked without their history here: each case stands alone, in its
            # conversation's split as `qa eval --suite broad` splits it (a conversation is never on both sides)
            return [Case(Item(**{**it.__dict__, "conversation_id": None}), "gold", "key_facts", it.split_key)
                    for it in map(to_item, read_set(BROAD, KNOWLEDGE))]
        return [Case(to_item(r), "oos", "none") for r in read_set(OOS, KNOWLEDGE)]
    if suite == "kenya_faq":
        from eval.suites import kenya_faq

        rows = kenya_faq._rows("data_processed_faq_faqs.csv", None)
        folder = kenya_faq.write_faq_folder(rows, generic.work_dir(services, "kenya_faq") / "faqs")
        generic.ensure_corpus(services, kenya_faq.TENANT, [folder])
        qs = kenya_faq.faq_queries(rows)
        return _both(Item(id=q["qid"], question=q["query"], tenant=kenya_faq.TENANT, lang="en",
                          gold=tuple(q["gold_doc_ids"])) for q in _sampled(qs, sample))
    if suite == "rgb_en":
        from eval.data import eval_data_dir

        raw = [json.loads(x) for x in (eval_data_dir() / "rgb-rag-benchmark" / "data_en_fact.json").read_text(
            encoding="utf-8").splitlines() if x.strip()]
        picked_rows = _sampled(raw, sample)
        ids: dict[str, str] = {}  # the sampled questions' passages only, ids as in eval/harness.py
        for r in picked_rows:
            for kind in ("positive", "negative"):
                for i, text in enumerate(r[kind]):
                    ids.setdefault(text, f"rgb{r['id']}{kind[0]}{i}")
        path = generic.write_jsonl(generic.work_dir(services, "rgb_en_conf") / "corpus.jsonl",
                                   [{"doc_id": v, "title": "", "text": k} for k, v in ids.items()])
        generic.ensure_corpus(services, "rgbenconf", [path])
        return _both(Item(id=str(r["id"]), question=str(r["query"]), tenant="rgbenconf", lang="en",
                          gold=tuple(sorted(ids[t] for t in r["positive"]))) for r in picked_rows)
    if suite == "rgb_zh":
        from eval.suites import rgb_zh

        picked = _sampled(rgb_zh.load(), sample)
        corpus, queries = rgb_zh.convert(picked)  # the sampled questions' passages only (affordable on 2 cores)
        path = generic.write_jsonl(generic.work_dir(services, "rgb_zh_conf") / "corpus.jsonl", corpus)
        generic.ensure_corpus(services, "rgbzhconf", [path])
        return _both(Item(id=q["qid"], question=q["query"], tenant="rgbzhconf", lang="zh",
                          gold=tuple(q["gold_doc_ids"])) for q in queries)
    if suite == "lecoqa":
        from eval import lecoqa
        from eval.data import eval_data_dir

        folder = eval_data_dir() / "lecoqa-zh-legal"
        generic.ensure_corpus(services, "legal", [folder / "corpus.jsonl"])
        qs = _sampled(lecoqa.load_queries(folder), sample)
        return _both(Item(id=str(q["qid"]), question=q["query"], tenant="legal", lang="zh",
                          gold=tuple(str(g) for g in q["gold_doc_ids"])) for q in qs)
    raise ValueError(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")


class _Capture:
    """A step between risk and route: snapshots the draft the route step is about to judge."""

    name = "capture"
    always = True

    def __init__(self) -> None:
        self.last: dict[str, Any] = {}

    def run(self, ctx: AnswerContext) -> None:
        by_n = {p.n: p.source_id for p in ctx.passages}
        self.last = {
            "draft": bool(ctx.sentences) and not ctx.stopped,
            "status_before_route": ctx.status,
            "cited": sorted({by_n[n] for s in ctx.sentences for n in s.cites if n in by_n}),
            "text": ctx.answer_text,
            "features": ctx.signals.get("confidence_features") if not ctx.stopped else None,
            "level_other": ctx.risk_level,
            "reasons_other": list(ctx.risk_reasons),
        }


def label(case: Case, snap: dict[str, Any]) -> int:
    """1 = showing this draft would be wrong."""
    if case.condition != "gold":
        return 1
    if case.judge == "key_facts":
        facts = case.item.key_facts
        return int(not facts or facts_stated(snap["text"], facts) * 2 < len(facts))
    return int(not set(snap["cited"]) & set(case.item.gold))


def collect(services: Services, suite: str, sample: int | None) -> list[dict[str, Any]]:
    from qa_service.answer import confidence
    from qa_service.answer.pipeline import Step, build_steps
    from qa_service.answer.steps.risk import LabelRisk
    from qa_service.answer.steps.route import Route

    cases = cases_for(services, suite, sample)
    services.__dict__["review_sink"] = None  # a training run queues nothing for staff
    capture = _Capture()
    steps: list[Step] = []
    for step in build_steps(services, record=False):  # the answer path's own steps; features only, no model
        if isinstance(step, LabelRisk):
            step = LabelRisk(services.risk_policy, features=lambda ctx, _names: confidence.extract(ctx, services))
        if isinstance(step, Route):
            steps.append(capture)
        steps.append(step)
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for i, case in enumerate(cases):
        it = case.item
        ctx = AnswerContext(question=it.question, tenant=it.tenant, channel=it.channel, lang=it.lang, qid=it.id,
                            exclude_sources=list(it.exclude_sources))
        capture.last = {}
        for step in steps:  # the pipeline's loop without timing: a failing step is an error row, not a crash
            if ctx.stopped and not step.always:
                continue
            try:
                step.run(ctx)
            except Exception as exc:  # recorded as the item's status
                log.warning("train_confidence step_failed suite=%s id=%s step=%s error=%s", suite, it.id,
                            step.name, exc)
                ctx.stop("error_internal", f"step_error:{step.name}")
        snap = capture.last or {"draft": False, "features": None, "cited": [], "text": "", "level_other": "low",
                                "reasons_other": [], "status_before_route": ctx.status}
        rows.append({"suite": suite, "id": it.id, "condition": case.condition, "lang": it.lang,
                     "split": split_of(suite, case.split_key or it.id), "status": ctx.status,
                     "outcome": outcome_of(ctx.status),
                     "label": label(case, snap) if snap["draft"] else None, **snap})
        if (i + 1) % 10 == 0:
            log.info("train_confidence progress suite=%s done=%d of=%d seconds=%.0f", suite, i + 1, len(cases),
                     time.perf_counter() - t0)
    return rows


def load_cache(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def matrix(rows: list[dict[str, Any]], features: tuple[str, ...] = FEATURES) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray([[feature_value(r["features"], n) for n in features] for r in rows], dtype=np.float64)
    y = np.asarray([int(r["label"]) for r in rows], dtype=np.int64)
    return x, y


def _weights(rows: list[dict[str, Any]]) -> np.ndarray:
    """Suites balanced against each other so that the large ones do not decide alone."""
    suites = np.asarray([r["suite"] for r in rows])
    weight = np.ones(len(rows))
    for s in set(suites):
        weight[suites == s] = len(rows) / (len(set(suites)) * int((suites == s).sum()))
    return weight


def _folds(rows: list[dict[str, Any]], y: np.ndarray, k: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds grouped by question: the gold-present and gold-removed rows of one question (same
    question, overlapping passages) never sit on both sides of a split."""
    from sklearn.model_selection import StratifiedGroupKFold

    groups = [f"{r['suite']}:{r['id']}" for r in rows]
    return list(StratifiedGroupKFold(k, shuffle=True, random_state=SEED).split(np.zeros(len(rows)), y, groups))


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return mean, scale


def out_of_fold(rows: list[dict[str, Any]], c: float, features: tuple[str, ...] = FEATURES) -> np.ndarray:
    """Uncalibrated out-of-fold probabilities of every row (5 grouped folds; standardised within each fold)."""
    from sklearn.linear_model import LogisticRegression

    from qa_service.answer.confidence import Z_CLIP

    x, y = matrix(rows, features)
    weight = _weights(rows)
    oof = np.zeros(len(rows))
    for tr, te in _folds(rows, y):
        mean, scale = _standardise(x[tr])
        clf = LogisticRegression(C=c, max_iter=5000).fit(np.clip((x[tr] - mean) / scale, -Z_CLIP, Z_CLIP), y[tr],
                                                          sample_weight=weight[tr])
        oof[te] = clf.predict_proba(np.clip((x[te] - mean) / scale, -Z_CLIP, Z_CLIP))[:, 1]
    return oof


def suite_auc(rows: list[dict[str, Any]], scores: np.ndarray) -> dict[str, float | None]:
    """AUC per suite of ``scores`` for the rows' labels (None where a suite has one class only)."""
    out: dict[str, float | None] = {}
    for s in sorted({r["suite"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["suite"] == s]
        out[s] = auc([float(scores[i]) for i in idx], [int(rows[i]["label"]) for i in idx])
    return out


def _mean_auc(per_suite: dict[str, float | None]) -> float:
    vals = [v for v in per_suite.values() if v is not None]
    return float(np.mean(vals)) if vals else 0.0


def choose_c(rows: list[dict[str, Any]], features: tuple[str, ...] = FEATURES,
             grid: tuple[float, ...] = C_GRID) -> tuple[float, dict[str, float]]:
    """The inverse regularisation with the best mean per-suite out-of-fold AUC on ``rows`` (grouped 5-fold CV)."""
    scores = {c: round(_mean_auc(suite_auc(rows, out_of_fold(rows, c, features))), 4) for c in grid}
    best = max(grid, key=lambda c: (scores[c], -c))  # ties: the stronger regularisation
    return best, {str(c): v for c, v in scores.items()}


#: what forward selection may pick from: the candidates that read the knowledge base only through shares, ratios
#: and cosines (not ``passages``, ``sparse_top_log``, ``sparse_gap``, ``dense_margin``: they move with the KB's
#: size or the top-k; tests/answer/test_confidence_features.py), and the dense ones per language
SIZE_BOUND = ("passages", "sparse_top_log", "sparse_gap", "dense_margin")
DENSE = ("dense_top", "cited_dense", "answer_dense_max", "answer_dense_mean", "cited_dense_gap")
#: and a few signals per kind of draft: a composed draft (a guide's sections) is right when the guide is the
#: service asked about, an FAQ draft when its own question is the one asked, a sentence draft when its sentences
#: cover the question — one slope for all three let conversational questions answered by the right guide look
#: like an FAQ answered from a neighbouring entry (2026-12-07: broad right drafts and Kenya gold-removed drafts had
#: the same mean coverage and cosines)
BY_KIND = ("title_coverage", "cited_coverage", "idf_coverage", "cited_dense", "answer_dense_mean", "cited_rank")
SELECTABLE: tuple[str, ...] = tuple(n for n in CANDIDATES if n not in SIZE_BOUND and n not in DENSE) + tuple(
    f"{n}*{lang}" for n in DENSE for lang in ("en", "zh")) + tuple(
    f"{n}*{kind}" for n in BY_KIND for kind in ("composed", "faq_cited"))


def select_features(rows: list[dict[str, Any]], pool: tuple[str, ...] = SELECTABLE, c: float = 0.1,
                    max_features: int = 10, min_gain: float = 0.003) -> tuple[tuple[str, ...], list[Any]]:
    """Forward selection on dev: add the feature that raises the mean per-suite out-of-fold AUC most (grouped
    5-fold CV at ``c``), while it raises it by at least ``min_gain``, up to ``max_features``. Few features:
    a few hundred dev rows cannot support more."""
    chosen: list[str] = []
    best = 0.0
    path: list[Any] = []
    while len(chosen) < max_features:
        trial = {n: _mean_auc(suite_auc(rows, out_of_fold(rows, c, (*chosen, n)))) for n in pool if n not in chosen}
        name = max(trial, key=lambda n: trial[n])
        if trial[name] < best + min_gain:
            break
        chosen.append(name)
        best = trial[name]
        path.append([name, round(best, 4)])
        log.info("train_confidence select add=%s oof_mean_suite_auc=%.4f", name, best)
    return tuple(chosen), path


def fit(rows: list[dict[str, Any]], c: float = 1.0, calibration: str = "platt",
        features: tuple[str, ...] = FEATURES) -> tuple[ConfidenceModel, dict[str, Any]]:
    """Logistic regression on clipped standardised features + Platt (or isotonic) calibration fitted on the
    out-of-fold predictions of ``rows``. The info carries ``oof_p`` (calibrated out-of-fold probabilities, for
    choosing thresholds on dev without scoring rows the model was fitted on)."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    from qa_service.answer.confidence import Z_CLIP

    x, y = matrix(rows, features)
    mean, scale = _standardise(x)
    weight = _weights(rows)
    oof = out_of_fold(rows, c, features)
    clf = LogisticRegression(C=c, max_iter=5000).fit(np.clip((x - mean) / scale, -Z_CLIP, Z_CLIP), y,
                                                     sample_weight=weight)
    if calibration == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(oof, y, sample_weight=weight)
        xs, ys = iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist()
    else:  # Platt: a sigmoid of the out-of-fold logit, stored as a fine piecewise-linear table (no ties)
        logit = np.log(np.clip(oof, 1e-6, 1 - 1e-6) / (1 - np.clip(oof, 1e-6, 1 - 1e-6)))
        platt = LogisticRegression(C=1e6, max_iter=2000).fit(logit.reshape(-1, 1), y, sample_weight=weight)
        grid = np.linspace(1e-4, 1 - 1e-4, 401)
        xs = grid.tolist()
        ys = platt.predict_proba(np.log(grid / (1 - grid)).reshape(-1, 1))[:, 1].tolist()
    model = ConfidenceModel(features, mean.tolist(), scale.tolist(), clf.coef_[0].tolist(),
                            float(clf.intercept_[0]), xs, ys)
    oof_p = np.clip(np.interp(oof, np.asarray(xs), np.asarray(ys)), 0.0, 1.0)
    return model, {"rows": len(rows), "wrong_share": round(float(y.mean()), 4), "C": c, "calibration": calibration,
                   "features": list(features),
                   "coef": {n: round(float(w), 4) for n, w in zip(features, clf.coef_[0], strict=True)},
                   "oof_auc": suite_auc(rows, oof), "oof_raw": oof.tolist(), "oof_p": oof_p.tolist()}


def _utility(rows: list[dict[str, Any]], model: ConfidenceModel | None, th: dict[str, float]) -> float:
    """Mean per question of: right answer +1, wrong answer -1, declined answerable -0.5, held +0.3 when a person
    would approve the draft else -0.2 (a queue item with nothing to approve), not answering a question whose gold
    was removed +1 when declined, +0.5 when held (it costs a person); an out-of-scope question declined +1, held
    -0.5. ``model`` None: the rows' out-of-fold probabilities."""
    from eval.calibration import route_of, scores_of

    total = 0.0
    for r in rows:
        sp = scores_of(r, model)
        outcome, _ = route_of(r, sp[1] if sp is not None else None, th)
        if r["condition"] == "gold":
            total += {"answered": 1.0 if r.get("label") == 0 else -1.0, "declined": -0.5,
                      "held": 0.3 if r.get("label") == 0 else -0.2}.get(outcome, 0.0)
        elif r["condition"] == "oos":  # no guide at all: holding only queues an item nobody can approve
            total += {"answered": -1.0, "declined": 1.0, "held": -0.5}.get(outcome, 0.0)
        else:
            total += {"answered": -1.0, "declined": 1.0, "held": 0.5}.get(outcome, 0.0)
    return total / max(1, len(rows))


def choose_thresholds(rows: list[dict[str, Any]], model: ConfidenceModel | None, not_answered_target: float = 0.70,
                      declined_cap: float = 0.10, low_ratio: float = 0.5, min_medium: int = 10,
                      queue_cap: float = 20.0) -> tuple[dict[str, float], dict[str, Any]]:
    """On dev (``model`` None: the rows' out-of-fold probabilities, so no row is scored by a model fitted on it):

    1. ``p_wrong_decline`` = the lowest value at which answerable questions (gold present) are declined at most
       ``declined_cap`` in every suite: as many out-of-scope and gold-removed drafts as possible are declined
       with the contact line instead of queued;
    2. ``p_wrong_high`` (≤ decline), among the values whose review queue stays within ``queue_cap`` items per 100
       dev questions (staff time is the limit; calibration.evaluate ``queue_per_100``): the highest at which the
       questions whose gold was removed or that no guide covers end held or declined at least
       ``not_answered_target`` of the time (the issue's 70%), i.e. the fewest answerable questions held that meets
       it; when none meets it, the lowest (as many not answered as the queue allows);
    3. ``p_wrong_medium`` (< high) = the highest value at which low answers are wrong at most ``low_ratio`` as
       often as medium ones (at least ``min_medium`` medium answers), the queue still within ``queue_cap``.
    The utility (:func:`_utility`) of the result is reported beside it."""
    from eval.calibration import evaluate

    grid = [round(float(x), 3) for x in np.arange(0.05, 1.001, 0.0125)]
    suites = sorted({r["suite"] for r in rows})
    gold_suites = sorted({r["suite"] for r in rows if r["condition"] == "gold"})
    dec = 1.01
    for g in sorted(grid, reverse=True):
        th = {"p_wrong_medium": g, "p_wrong_high": g, "p_wrong_decline": g}
        if all((evaluate([r for r in rows if r["suite"] == s], model, th)["gold_declined_share"] or 0.0)
               <= declined_cap for s in gold_suites):
            dec = g
        else:
            break

    def utility(th: dict[str, float]) -> float:
        return sum(_utility([r for r in rows if r["suite"] == s], model, th) for s in suites) / len(suites)

    within: list[tuple[float, float]] = []  # (p_wrong_high, not answered share) whose queue is within the cap
    for g in (g for g in grid if g <= dec):
        ev = evaluate(rows, model, {"p_wrong_medium": g, "p_wrong_high": g, "p_wrong_decline": dec})
        if (ev["queue_per_100"] or 0.0) <= queue_cap:
            within.append((g, ev["unanswerable_not_answered_share"] or 0.0))
    meeting = [g for g, na in within if na >= not_answered_target]
    hi = max(meeting) if meeting else min((g for g, _ in within), default=dec)
    th = {"p_wrong_medium": hi, "p_wrong_high": hi, "p_wrong_decline": dec}
    for med in sorted((g for g in grid if g < hi), reverse=True):
        ev = evaluate(rows, model, {**th, "p_wrong_medium": med})
        if (ev["queue_per_100"] or 0.0) > queue_cap:  # sampled medium answers are queue items too
            break
        wl = ev["wrong_by_level"]
        lo, mid = wl["low"]["wrong_share"], wl["medium"]["wrong_share"]
        if lo is not None and mid is not None and wl["medium"]["answered"] >= min_medium and lo <= low_ratio * mid:
            th["p_wrong_medium"] = med
            break
    return th, {"dev_utility": round(utility(th), 4), "dev": evaluate(rows, model, th)}


def choose_guide_thresholds(rows: list[dict[str, Any]], model: ConfidenceModel | None, th: dict[str, float],
                            not_answered_target: float = 0.70, declined_cap: float = 0.10,
                            queue_cap: float = 20.0) -> tuple[dict[str, float], dict[str, Any]]:
    """The ``*_guide`` thresholds (qa_service/answer/confidence.py ``thresholds_for``) on the guide dev rows,
    the same rules as :func:`choose_thresholds` 1–2 (medium: the plain one): ``p_wrong_decline_guide`` = the
    lowest value declining at most ``declined_cap`` of the answerable guide drafts, ``p_wrong_high_guide``
    (≤ it) the highest whose unanswerable guide drafts end held or declined at least ``not_answered_target``
    with their queue within ``queue_cap`` per 100 (else the lowest within the cap)."""
    from eval.calibration import evaluate, row_guide

    comp = [r for r in rows if row_guide(r)]
    grid = [round(float(x), 4) for x in np.arange(0.05, 1.001, 0.0125)]
    dec = 1.01
    for g in sorted(grid, reverse=True):
        ev = evaluate(comp, model, {**th, "p_wrong_high_guide": g, "p_wrong_decline_guide": g})
        if (ev["gold_declined_share"] or 0.0) <= declined_cap:
            dec = g
        else:
            break
    within: list[tuple[float, float]] = []
    for g in (g for g in grid if g <= dec):
        ev = evaluate(comp, model, {**th, "p_wrong_high_guide": g, "p_wrong_decline_guide": dec})
        if (ev["queue_per_100"] or 0.0) <= queue_cap:
            within.append((g, ev["unanswerable_not_answered_share"] or 0.0))
    meeting = [g for g, na in within if na >= not_answered_target]
    hi = max(meeting) if meeting else min((g for g, _ in within), default=dec)
    out = {"p_wrong_high_guide": hi, "p_wrong_decline_guide": dec}
    return out, {"guide_dev_rows": len(comp), "dev": evaluate(comp, model, {**th, **out})}


def auc(scores: list[float], labels: list[int]) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(set(labels)) < 2:
        return None
    return round(float(roc_auc_score(labels, scores)), 4)


def main() -> None:
    from qa_service.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suites", default=",".join(SUITES))
    parser.add_argument("--sample", type=int, default=None, help="items per suite (default: per-suite caps)")
    parser.add_argument("--collect", action="store_true", help="re-collect the listed suites even when cached")
    parser.add_argument("--collect-only", action="store_true")
    parser.add_argument("--out", type=Path, default=MODEL)
    parser.add_argument("--calibration", choices=("platt", "isotonic"), default="platt",
                        help="isotonic steps tie many drafts at one probability on sets this small")
    parser.add_argument("-C", type=float, default=None,
                        help="inverse regularisation (default: chosen on dev by grouped 5-fold CV over C_GRID)")
    parser.add_argument("--select", action="store_true",
                        help="choose the features on dev by forward selection (select_features) over SELECTABLE")
    parser.add_argument("--features", default="", help="comma-separated subset of confidence.CANDIDATES "
                        "(default confidence.FEATURES)")
    parser.add_argument("--guide-thresholds", action="store_true",
                        help="do not refit: score the dev rows with the shipped model and choose only the "
                        "*_guide thresholds (choose_guide_thresholds); printed, put them in risk_policy.yaml")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    services = Services(load_settings())
    path = cache_path(services)
    cached = load_cache(path)
    wanted = [s for s in args.suites.split(",") if s]
    for suite in wanted:
        if cached and not args.collect and any(r["suite"] == suite for r in cached):
            continue
        rows = collect(services, suite, args.sample or DEFAULT_SAMPLE.get(suite))
        cached = [r for r in cached if r["suite"] != suite] + rows
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in cached), encoding="utf-8")
        log.info("train_confidence collected suite=%s rows=%d cache=%s", suite, len(rows), path)
    if args.collect_only:
        return
    dev_all = [r for r in cached if r["split"] == "dev" and r["suite"] in wanted]
    if args.guide_thresholds:
        from qa_service.answer.risk import load_policy

        th = {k: v for k, v in load_policy().thresholds.items() if k.startswith("p_wrong_")}
        chosen_c, info_c = choose_guide_thresholds(dev_all, ConfidenceModel.load(args.out), th)
        log.info("train_confidence guide thresholds (put them in risk_policy.yaml) %s dev=%s",
                 json.dumps(chosen_c), json.dumps(info_c, default=str))
        return
    dev = [r for r in dev_all if r["label"] is not None]
    selection: list[Any] = []
    if args.select:
        features, selection = select_features(dev)
    else:
        features = tuple(args.features.split(",")) if args.features else FEATURES
    c, c_scores = (args.C, {}) if args.C is not None else choose_c(dev, features)
    log.info("train_confidence C=%s oof_mean_suite_auc=%s", c, json.dumps(c_scores))
    model, info = fit(dev, c, args.calibration, features)
    for r, raw, p in zip(dev, info.pop("oof_raw"), info.pop("oof_p"), strict=True):
        r["raw_oof"], r["p_oof"] = raw, p  # thresholds are chosen on out-of-fold probabilities
    th, chosen = choose_thresholds(dev_all, None)
    info["C_oof_mean_suite_auc"] = c_scores
    info["forward_selection"] = selection
    info["thresholds_chosen_on_dev"] = th
    info["dev_oof_at_thresholds"] = chosen
    dev_auc = {s: auc([model.raw(r["features"]) for r in dev if r["suite"] == s],
                      [r["label"] for r in dev if r["suite"] == s]) for s in wanted}
    counts = {s: sum(r["suite"] == s for r in dev) for s in wanted}
    prov = {"trained": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "command":
            "python -m eval.train_confidence", "suites": wanted, "dev_rows_per_suite": counts,
            "dev_auc_in_sample": dev_auc, **info,
            "sources": "dev halves (eval/splits.py) of knowledge/questions-broad.jsonl, questions-oos.jsonl, "
                       "Kenya eCitizen FAQ, RGB en/zh, LeCoQA (../shared/eval-data; nothing copied)"}
    digest = model.save(args.out, {"provenance": {"trained": prov["trained"], "dev_rows": len(dev)}})
    prov["sha256"] = digest
    args.out.with_name("confidence.provenance.json").write_text(json.dumps(prov, indent=1, default=str) + "\n",
                                                                 encoding="utf-8")
    log.info("train_confidence saved path=%s sha256=%s dev_rows=%d C=%s oof_auc=%s in_sample_auc=%s", args.out,
             digest, len(dev), c, json.dumps(info["oof_auc"]), json.dumps(dev_auc))
    log.info("train_confidence thresholds (put them in risk_policy.yaml) %s dev_oof=%s", json.dumps(th),
             json.dumps(chosen, default=str))


if __name__ == "__main__":
    main()

"""Train the input guard's learned detector: `python -m eval.train_guard [--compare-embedding] [--out DIR]`.

Logistic regression over character n-gram TF-IDF (``char_wb`` 1–4, the analyser in
qa_service/guard/learned.py) on the train splits of eval/guard_data.py plus the project's exemplars
(qa_service/guard/exemplars.yaml). The regularisation strength is chosen on dev; the threshold is then set
on dev so that the whole guard (rules, then the model) blocks at most ``FP_TARGET`` of every benign dev set.
Test is never looked at here. Writes ``guard_lr.npz`` (plain arrays, no pickle), ``guard_lr.npz.sha256``
and ``guard_lr.provenance.json`` (each set's licence, split sizes, the dev figures that chose the model).

``--compare-embedding`` also fits the same model with the default dense embedding (settings.embedding) of the
whole text appended, and records both on dev, so whether the embedding earns its cost is measured.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from eval import guard_data as gd
from qa_service.guard.checks import matching_text, rule_verdict
from qa_service.guard.learned import MODEL, LearnedGuard, char_ngrams, file_sha256
from qa_service.guard.similarity import EXEMPLARS, load_exemplars

log = logging.getLogger(__name__)

FP_TARGET = 0.03
MAX_CHARS = 4000
NGRAM = (1, 4)
MIN_DF = 2
MAX_FEATURES = 60000
C_GRID = (2.0, 8.0, 32.0)
SET_CAP = 400  # a set with more train rows than this gets the weight of this many (JailBench: 10 templates)
SEED = 20261202


@dataclass
class Split:
    texts: list[str]
    labels: np.ndarray
    sets: list[str]
    weights: np.ndarray


def prepared(text: str) -> str:
    """What the model sees, at training and at run time: the guard's matching text, capped."""
    return matching_text(text[:MAX_CHARS * 2])[:MAX_CHARS]


def exemplar_items() -> list[gd.Item]:
    ex = load_exemplars(EXEMPLARS)
    return [*(gd.Item("exemplars (attack)", f"{fam}:{t}", t, 1, "train") for fam, t in ex.attack),
            *(gd.Item("exemplars (benign)", t, t, 0, "train") for t in ex.benign)]


def train_split(items: Sequence[gd.Item]) -> Split:
    """The train items plus exemplars; a text also present in dev or test (any set) is left out."""
    held = {it.text.strip() for it in items if it.split in ("dev", "test", "unused")}
    rows = [it for it in (*items, *exemplar_items()) if it.split == "train" and it.text.strip() not in held]
    per_set: dict[str, int] = {}
    for it in rows:
        per_set[it.dataset] = per_set.get(it.dataset, 0) + 1
    weights = np.array([min(1.0, SET_CAP / per_set[it.dataset]) for it in rows])
    return Split([prepared(it.text) for it in rows], np.array([it.label for it in rows]), [it.dataset for it in rows],
                 weights)


def fit(split: Split, c: float, extra: np.ndarray | None = None) -> tuple[Any, Any]:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(analyzer=lambda t: char_ngrams(t, NGRAM), sublinear_tf=True, min_df=MIN_DF,
                          max_features=MAX_FEATURES, dtype=np.float64)
    x = vec.fit_transform(split.texts)
    if extra is not None:
        x = hstack([x, csr_matrix(extra)]).tocsr()
    clf = LogisticRegression(C=c, class_weight="balanced", max_iter=3000, random_state=SEED)
    clf.fit(x, split.labels, sample_weight=split.weights)
    return vec, clf


def export(vec: Any, clf: Any, threshold: float) -> LearnedGuard:
    vocab = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
    return LearnedGuard(vocab, vec.idf_, clf.coef_[0], float(clf.intercept_[0]), threshold, NGRAM, True, MAX_CHARS)


def rule_flags(items: Sequence[gd.Item]) -> dict[str, list[bool]]:
    """Per set, whether the rules alone (no model) stop each item."""
    sets = gd.by_set(tuple(items))
    return {name: [rule_verdict(it.text).status is not None for it in xs] for name, xs in sets.items()}


def calibrate(benign_scores: dict[str, list[float]], benign_rules: dict[str, list[bool]],
              target: float = FP_TARGET) -> float:
    """The lowest threshold at which rules-or-model blocks at most ``target`` of every benign set."""
    t = 0.5
    for name, scores in benign_scores.items():
        n = len(scores)
        if not n:
            continue
        budget = int(target * n) - sum(benign_rules[name])  # what the model may add on top of the rules
        free = sorted((s for s, r in zip(scores, benign_rules[name], strict=True) if not r), reverse=True)
        if budget < 0:
            raise ValueError(f"{name}: the rules alone exceed {target:.0%} false positives")
        if budget < len(free):
            t = max(t, float(np.nextafter(free[budget], 1.0)))
    return t


def scores_of(guard: LearnedGuard, items: Sequence[gd.Item], whole_only: bool = False) -> list[float]:
    if whole_only:
        return [guard.probability(prepared(it.text)) for it in items]
    return [guard.check(prepared(it.text)).probability for it in items]


def operating_point(guard: LearnedGuard, split_items: dict[str, list[gd.Item]], rules: dict[str, list[bool]],
                    whole_only: bool = False, threshold: float | None = None) -> dict[str, Any]:
    """Threshold (calibrated on these items unless given) and each set's block rate, rules or model."""
    scores = {name: scores_of(guard, xs, whole_only) for name, xs in split_items.items() if xs}
    benign = {k: v for k, v in scores.items() if k in gd.BENIGN_SETS}
    t = calibrate(benign, rules) if threshold is None else threshold
    rates = {name: round(float(np.mean([s >= t or r for s, r in zip(v, rules[name], strict=True)])), 4)
             for name, v in scores.items()}
    attack = [rates[k] for k in gd.ATTACK_SETS if k in rates and k != gd.DAN]
    return {"threshold": round(t, 6), "rates": rates, "mean_attack": round(float(np.mean(attack)), 4)}


def embedding_comparison(split: Split, dev: dict[str, list[gd.Item]], dev_rules: dict[str, list[bool]],
                         c: float) -> dict[str, Any]:
    """Whole-text scores on dev with and without the default dense vector appended (same C, same calibration)."""
    from qa_service.kb.embed import DenseEmbedder
    from qa_service.settings import load_settings

    dense = DenseEmbedder(load_settings().embedding)
    t0 = time.perf_counter()
    train_emb = np.asarray(dense.encode(split.texts), dtype=np.float64)
    dev_texts = {k: [prepared(it.text) for it in v] for k, v in dev.items() if v}
    dev_emb = {k: np.asarray(dense.encode(v), dtype=np.float64) for k, v in dev_texts.items()}
    embed_s = time.perf_counter() - t0
    out: dict[str, Any] = {"embedding_model": str(getattr(dense, "model_id", "")), "encode_seconds": round(embed_s, 1)}
    for label, use in (("tfidf", False), ("tfidf+embedding", True)):
        vec, clf = fit(split, c, train_emb if use else None)
        scores = {}
        for k, texts in dev_texts.items():
            x = vec.transform(texts)
            if use:
                from scipy.sparse import csr_matrix, hstack

                x = hstack([x, csr_matrix(dev_emb[k])]).tocsr()
            scores[k] = list(clf.predict_proba(x)[:, 1])
        benign = {k: v for k, v in scores.items() if k in gd.BENIGN_SETS}
        t = calibrate(benign, dev_rules)
        rates = {k: round(float(np.mean([s >= t or r for s, r in zip(v, dev_rules[k], strict=True)])), 4)
                 for k, v in scores.items()}
        out[label] = {"threshold": round(t, 6), "rates": rates}
    return out


def train(compare_embedding: bool = False) -> tuple[LearnedGuard, dict[str, Any]]:
    items = gd.load()
    split = train_split(items)
    dev = gd.by_set(items, "dev")
    dev_items = [it for xs in dev.values() for it in xs]
    dev_rules = rule_flags(dev_items)
    grid = {}
    best: tuple[float, float, Any, Any] | None = None
    for c in C_GRID:
        t0 = time.perf_counter()
        vec, clf = fit(split, c)
        op = operating_point(export(vec, clf, 0.5), dev, dev_rules)
        grid[str(c)] = {**op, "fit_seconds": round(time.perf_counter() - t0, 1)}
        log.info("train_guard_grid C=%s mean_attack=%.4f threshold=%.4f", c, op["mean_attack"], op["threshold"])
        if best is None or op["mean_attack"] > best[0]:
            best = (op["mean_attack"], c, vec, clf)
    assert best is not None
    _, c, vec, clf = best
    guard = export(vec, clf, 0.5)
    op = operating_point(guard, dev, dev_rules)
    whole = operating_point(guard, dev, dev_rules, whole_only=True)
    guard.threshold = op["threshold"]
    info: dict[str, Any] = {
        "model": "logistic regression over char_wb 1-4 TF-IDF (sublinear tf, l2), class_weight=balanced",
        "C": c, "C_grid_on_dev": grid, "dev_operating_point": op, "dev_whole_text_only": whole,
        "fp_target_per_benign_set": FP_TARGET, "max_chars": MAX_CHARS, "min_df": MIN_DF,
        "max_features": MAX_FEATURES, "terms": len(vec.vocabulary_), "set_weight_cap": SET_CAP,
        "train_rows": {k: int(sum(1 for s in split.sets if s == k)) for k in sorted(set(split.sets))},
    }
    if compare_embedding:
        info["embedding_on_dev"] = embedding_comparison(split, dev, dev_rules, c)
    return guard, info


def save(guard: LearnedGuard, info: dict[str, Any], path: Path = MODEL) -> dict[str, Any]:
    """Write the weights, their checksum and the provenance JSON beside them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    vocab = sorted(guard.index, key=guard.index.__getitem__)
    with path.open("wb") as fh:
        np.savez_compressed(fh, vocab=np.array(vocab, dtype=str), idf=guard.idf.astype(np.float32),
                            coef=guard.coef.astype(np.float32), intercept=np.float64(guard.intercept),
                            threshold=np.float64(guard.threshold), ngram_range=np.array(guard.ngram_range),
                            sublinear_tf=np.bool_(guard.sublinear_tf), max_chars=np.int64(guard.max_chars))
    sha = file_sha256(path)
    path.with_name(path.name + ".sha256").write_text(f"{sha}  {path.name}\n", encoding="utf-8")
    items = gd.load()
    provenance = {
        "file": path.name, "sha256": sha, "bytes": path.stat().st_size,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"), "trained_by": "python -m eval.train_guard",
        "splits": "eval/guard_data.py: sha256(key) % 100 < 60 train, < 80 dev, else test; JailBench by template",
        "datasets": {name: {"licence": lic, "rows_per_split": gd.counts(items).get(name, {}),
                            "used_for_training": "train split" if name not in gd.UNUSED_SETS else "never"}
                     for name, lic in gd.licences().items()},
        "exemplars": "qa_service/guard/exemplars.yaml (project-written), all lines used for training",
        **info,
    }
    path.with_name(path.stem + ".provenance.json").write_text(
        json.dumps(provenance, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return provenance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--compare-embedding", action="store_true")
    parser.add_argument("--out", type=Path, default=MODEL, help="where the .npz goes (default: the packaged one)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    guard, info = train(args.compare_embedding)
    prov = save(guard, info, args.out)
    log.info("train_guard_saved path=%s sha256=%s threshold=%.4f C=%s dev=%s", args.out, prov["sha256"],
             guard.threshold, info["C"], json.dumps(info["dev_operating_point"]["rates"], ensure_ascii=False))
    if "embedding_on_dev" in info:
        log.info("train_guard_embedding %s", json.dumps(info["embedding_on_dev"], ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Retrieval and answer metrics (pure functions)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def recall_at(ranked: Sequence[str], gold: set[str], k: int) -> float:
    """Share of gold ids in the top k."""
    if not gold:
        return 0.0
    return len(set(ranked[:k]) & gold) / len(gold)


def hit_at(ranked: Sequence[str], gold: set[str], k: int) -> float:
    """1 if any gold id is in the top k."""
    return 1.0 if set(ranked[:k]) & gold else 0.0


def mrr_at(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    for i, doc in enumerate(ranked[:k], 1):
        if doc in gold:
            return 1.0 / i
    return 0.0


def ndcg_at(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    dcg = sum(1.0 / math.log2(i + 1) for i, d in enumerate(ranked[:k], 1) if d in gold)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(gold), k) + 1))
    return dcg / ideal if ideal else 0.0


def dedupe(ids: Sequence[str]) -> list[str]:
    """Chunk hits → source ids in rank order, first occurrence only."""
    seen: dict[str, None] = {}
    for i in ids:
        seen.setdefault(i, None)
    return list(seen)


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return 0.0
    xs = sorted(values)
    idx = min(len(xs) - 1, max(0, math.ceil(p / 100 * len(xs)) - 1))
    return xs[idx]


def retrieval_scores(ranked_lists: Sequence[Sequence[str]], golds: Sequence[set[str]]) -> dict[str, float]:
    """Mean recall@1/5/10, hit@5, MRR@10 and nDCG@10 over questions (rounded to 4 places)."""
    rows = list(zip(ranked_lists, golds, strict=True))
    if not rows:
        return {}
    metrics = {
        "recall@1": lambda r, g: recall_at(r, g, 1), "recall@5": lambda r, g: recall_at(r, g, 5),
        "recall@10": lambda r, g: recall_at(r, g, 10), "mrr@10": lambda r, g: mrr_at(r, g, 10),
        "ndcg@10": lambda r, g: ndcg_at(r, g, 10), "hit@5": lambda r, g: hit_at(r, g, 5),
    }
    return {name: round(sum(fn(r, g) for r, g in rows) / len(rows), 4) for name, fn in metrics.items()}


def holdout_bound(present: dict[str, list[Any]], holdout: dict[str, list[Any]],
                  not_answered: Sequence[str]) -> dict[str, Any]:
    """What the hold-out protocol can reach at all. Where no gold passage reaches the generator even with gold
    present, removing the gold changes nothing the path sees, so the decision is the same both ways: a share
    ``a`` of those answered counts for "answered with gold" and against "held without it". With ``p`` such
    questions, targets (T1 answered, T2 held) need ``1 - (1 - T1) / p <= a <= (1 - T2) / p`` and perfect
    decisions on the rest; the interval is reported per target pair (empty = no decision rule can meet it)."""
    unseen = [i for i, seen in enumerate(present["gold_seen"]) if not seen]
    n = max(1, len(present["gold_seen"]))
    same = sum(present["decisions"][i] == holdout["decisions"][i] for i in unseen)
    unseen_answered = sum(present["decisions"][i].startswith("answered") for i in unseen)
    p = len(unseen) / n
    targets = {}
    for t1, t2 in ((0.8, 0.8), (0.8, 0.9)):
        lo, hi = (1 - (1 - t1) / p, (1 - t2) / p) if p else (0.0, 1.0)
        targets[f"answered>={t1}, held>={t2}"] = {"a_min": round(lo, 4), "a_max": round(hi, 4),
                                                  "feasible": lo <= hi + 1e-9}
    return {"n": len(present["gold_seen"]), "unseen_share": round(p, 4),
            "unseen_same_decision": round(same / max(1, len(unseen)), 4),
            "unseen_answered_share": round(unseen_answered / max(1, len(unseen)), 4),
            "held_share_holdout_of_unseen": round(sum(holdout["decisions"][i] in not_answered for i in unseen)
                                                  / max(1, len(unseen)), 4),
            "targets": targets}

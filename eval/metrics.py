"""Retrieval and answer metrics (pure functions)."""

from __future__ import annotations

import math
from collections.abc import Sequence


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

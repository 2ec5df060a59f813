"""Curated matching on the project's near-miss and paraphrase pairs (tests/review/data/curated_pairs.jsonl).

A pair is (curated question, incoming question); a match is a score at or above the threshold. False-match rate
= near-miss pairs matched / near-miss pairs; true-match rate = paraphrase pairs matched / paraphrase pairs. The
split is by a hash of the pair id; the weight and threshold are chosen on dev only.

    PYTHONPATH=. python -m tests.review.measure_curated          # figures, before and after
    PYTHONPATH=. python -m tests.review.measure_curated --choose # also the dev grid search
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz

from qa_service.review.matching import same_service_score
from qa_service.settings import ReviewSettings

PAIRS = Path(__file__).parent / "data" / "curated_pairs.jsonl"
OLD_THRESHOLD = 0.86  # ReviewSettings.curated_min_similarity before issue 14


@dataclass(frozen=True)
class Pair:
    id: str
    lang: str
    curated: str
    question: str
    same_service: bool

    @property
    def split(self) -> str:
        return "dev" if hashlib.sha256(self.id.encode()).digest()[0] % 2 == 0 else "test"


def load_pairs(path: Path = PAIRS) -> list[Pair]:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [Pair(r["id"], r["lang"], r["curated"], r["question"], bool(r["same_service"])) for r in rows]


def cosines(pairs: Sequence[Pair], encode: Callable[[list[str]], list[list[float]]]) -> dict[str, float]:
    a = np.asarray(encode([p.curated for p in pairs]), dtype=np.float32)
    b = np.asarray(encode([p.question for p in pairs]), dtype=np.float32)
    return {p.id: float(np.dot(a[i], b[i])) for i, p in enumerate(pairs)}


def old_score(p: Pair, cos: float) -> float:
    return max(cos, fuzz.ratio(p.curated.lower(), p.question.lower()) / 100.0)


Params = dict[str, tuple[float, float]]  # language → (lexical weight, threshold)


def new_score(p: Pair, cos: float, weight: float) -> float:
    return same_service_score(p.question, p.curated, cos, weight)


def rates(pairs: Sequence[Pair], scores: dict[str, float], threshold: float) -> tuple[float, float]:
    """(false-match rate, true-match rate)."""
    near = [p for p in pairs if not p.same_service]
    para = [p for p in pairs if p.same_service]
    fmr = sum(scores[p.id] >= threshold for p in near) / max(1, len(near))
    tmr = sum(scores[p.id] >= threshold for p in para) / max(1, len(para))
    return fmr, tmr


def choose(dev: Sequence[Pair], cos: dict[str, float], max_fmr: float = 0.05, margin: float = 0.05
           ) -> tuple[float, float]:
    """(weight, threshold) for one language's dev pairs. For each weight the threshold sits ``margin`` above the
    highest near-miss score the false-match budget ``max_fmr`` does not allow (a threshold right at a near miss
    would not survive new pairs); the weight with the best dev true-match rate wins (ties: the higher weight)."""
    near = [p for p in dev if not p.same_service]
    allowed = int(max_fmr * len(near))
    best = (-1.0, 0.0, 1.0)  # (tmr, weight, threshold)
    for weight in (round(x * 0.05, 2) for x in range(21)):
        scores = {p.id: new_score(p, cos[p.id], weight) for p in dev}
        ranked = sorted((scores[p.id] for p in near), reverse=True)
        worst = ranked[allowed] if allowed < len(ranked) else 0.0
        threshold = min(1.0, math.ceil((worst + margin) * 100) / 100)
        _, tmr = rates(dev, scores, threshold)
        if (tmr, weight) > best[:2]:
            best = (tmr, weight, threshold)
    return best[1], best[2]


def matched(p: Pair, cos: float, params: Params) -> bool:
    weight, threshold = params[p.lang]
    return new_score(p, cos, weight) >= threshold


def report(pairs: Sequence[Pair], cos: dict[str, float], params: Params) -> dict[str, object]:
    out: dict[str, object] = {"params": params}
    for split in ("dev", "test"):
        part = [p for p in pairs if p.split == split]
        for lang in ("all", "zh", "en"):
            sub = [p for p in part if lang == "all" or p.lang == lang]
            before = rates(sub, {p.id: old_score(p, cos[p.id]) for p in sub}, OLD_THRESHOLD)
            after = rates(sub, {p.id: float(matched(p, cos[p.id], params)) for p in sub}, 1.0)
            out[f"{split}/{lang}"] = {"pairs": len(sub), "before_fmr": round(before[0], 3),
                                      "before_tmr": round(before[1], 3), "after_fmr": round(after[0], 3),
                                      "after_tmr": round(after[1], 3)}
    return out


def main() -> None:
    from qa_service.kb.embed import DenseEmbedder

    ap = argparse.ArgumentParser()
    ap.add_argument("--choose", action="store_true", help="grid-search weight and threshold on dev")
    args = ap.parse_args()
    pairs = load_pairs()
    dense = DenseEmbedder()
    cos = cosines(pairs, lambda texts: dense.encode_queries(texts))
    params = settings_params(ReviewSettings())
    if args.choose:
        params = {lang: choose([p for p in pairs if p.split == "dev" and p.lang == lang], cos) for lang in ("zh", "en")}
        print(json.dumps({"chosen_on_dev": params}))
    print(json.dumps(report(pairs, cos, params), indent=1, ensure_ascii=False))


def settings_params(cfg: ReviewSettings) -> Params:
    """The configured (weight, threshold) per language."""
    return {"zh": (cfg.curated_lexical_weight_zh, cfg.curated_min_similarity_zh),
            "en": (cfg.curated_lexical_weight, cfg.curated_min_similarity)}


if __name__ == "__main__":
    main()

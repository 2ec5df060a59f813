"""Term statistics of a KB version: document frequency of every BM25 token, for IDF-weighted
coverage ("does the knowledge mention the question's distinctive words?"). Computed once per
version from the stored sparse vectors and cached; a version is immutable, so is its cache."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass

from qa_service.kb.store import VersionReader

log = logging.getLogger(__name__)


@dataclass
class TermStats:
    n_docs: int
    df: Counter[int]

    def idf(self, token: int) -> float:
        """BM25-style IDF; unseen tokens get the maximum (they are as distinctive as it gets)."""
        d = self.df.get(token, 0)
        return math.log(1 + (self.n_docs - d + 0.5) / (d + 0.5))

    def coverage(self, query_tokens: list[int], passage_tokens: set[int]) -> float:
        """IDF-weighted share of the query's tokens that the passage contains (0..1)."""
        weights = {t: self.idf(t) for t in set(query_tokens)}
        total = sum(weights.values())
        if total <= 0:
            return 0.0
        return sum(w for t, w in weights.items() if t in passage_tokens) / total


class TermStatsCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, int], TermStats] = {}

    def get(self, tenant: str, version: int, reader: VersionReader) -> TermStats:
        key = (tenant, version)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                return hit
            t0 = time.perf_counter()
            df: Counter[int] = Counter()
            n = 0
            for p in reader.iter_points(with_vectors=True, batch=1024):
                n += 1
                df.update(set(p.sparse.indices))
            stats = TermStats(n, df)
            self._cache = {k: v for k, v in self._cache.items() if k[0] != tenant}
            self._cache[key] = stats
            log.info("term stats tenant=%s version=%s docs=%s terms=%s ms=%.0f", tenant, version, n, len(df),
                     (time.perf_counter() - t0) * 1000)
            return stats

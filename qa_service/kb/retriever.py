"""The one hybrid retriever: what the answer path's retrieve step and `qa kb search` both run.

Dense + BM25 (+ Han-bigram BM25 for Chinese) over one version of a tenant (the live one unless told), fused by
weighted RRF in one store query. The weights follow the query's language and how sure its lead retriever is
(kb/search.py ``adaptive_weights``, probed with 5 dense, 5 BM25 and 2 Han-bigram hits); the fused candidates
are then filtered by their validity dates (those not in force are excluded and reported; ``ends`` shortens a
superseded notice's validity, and ``admit`` may let some back in: kb/places.py ``PlaceCheck.admit``), reordered
by the cross-encoder when one is configured, and cut to ``k``. The result carries the figures the later steps judge
by: the lead scores, the IDF coverage of the question's terms by the best passages and the confidence.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from qa_service.ingest.catalog import date_int
from qa_service.kb.search import adaptive_weights, rrf_k_for
from qa_service.kb.types import CJK, DenseEncoder, Hit, SearchFilter, SparseVec
from qa_service.settings import RetrievalSettings
from qa_service.text import is_chinese, language

if TYPE_CHECKING:
    from qa_service.kb.embed import CjkEmbedder, SparseEmbedder
    from qa_service.kb.live import LiveReaderCache
    from qa_service.kb.rerank import CrossEncoderReranker
    from qa_service.kb.stats import TermStatsCache
    from qa_service.kb.store import VectorStore, VersionReader

log = logging.getLogger(__name__)

MODES = ("hybrid", "dense", "bm25", "cjk")
#: hits probed per retriever to set the fusion weights (only the first two decide the lead gap; the five BM25
#: scores give the BM25 gap the risk sweep reads)
PROBE = (5, 5, 2)
#: lets passages not in force back in: (fused candidates, chunk ids in force, the day) → the passages to use
Admit = Callable[[list[Hit], set[str], dt.date], list[Hit]]


def retrieval_confidence(question: str, idf_coverage: float, dense_top: float) -> float:
    """IDF-weighted coverage of the question's BM25 tokens by the best passage, blended with the dense
    similarity (little weight for Chinese: the default embedding model is English-only)."""
    w = 0.15 if is_chinese(question) else 0.4
    return round((1 - w) * idf_coverage + w * max(dense_top, 0.0), 4)


@dataclass
class RetrievalResult:
    """What one retrieval found and the figures it found it with."""

    query: str
    version: int | None  # None: the tenant has no live version (nothing was searched)
    hits: list[Hit] = field(default_factory=list)  # valid on the day, visible, ordered, at most k
    expired: list[str] = field(default_factory=list)  # chunk ids excluded for their validity dates
    weights: tuple[float, float, float] = (0.0, 0.0, 0.0)  # dense, bm25, han-bigram bm25
    lang: str = "en"
    dense_top: float = 0.0
    sparse_top: float = 0.0
    sparse_gap: float = 0.0  # relative gap between the first and the fifth BM25 score
    idf_coverage: float = 0.0  # of the question's BM25 terms by the best of the first three hits
    rerank_top: float | None = None
    query_vector: list[float] = field(default_factory=list, repr=False)

    @property
    def confidence(self) -> float:
        return retrieval_confidence(self.query, self.idf_coverage, self.dense_top)

    def signals(self) -> dict[str, object]:
        """The figures as the stored record and the risk sweep name them."""
        out: dict[str, object] = {
            "query_lang": self.lang, "weights": [round(w, 3) for w in self.weights],
            "dense_top": round(self.dense_top, 4), "sparse_top": round(self.sparse_top, 4),
            "sparse_gap": round(self.sparse_gap, 4), "expired_excluded": list(self.expired),
            "idf_coverage": round(self.idf_coverage, 4),
        }
        if self.rerank_top is not None:
            out["rerank_top"] = self.rerank_top
        return out


class HybridRetriever:
    """Built once from the parts it uses; ``retrieve`` per query."""

    def __init__(self, settings: RetrievalSettings, live: LiveReaderCache, store: VectorStore, dense: DenseEncoder,
                 sparse: SparseEmbedder, cjk: CjkEmbedder, term_stats: TermStatsCache,
                 reranker: CrossEncoderReranker | None = None) -> None:
        self.cfg = settings
        self.live, self.store = live, store
        self.dense, self.sparse, self.cjk = dense, sparse, cjk
        self.term_stats = term_stats
        self.reranker = reranker

    def retrieve(self, tenant: str, query: str, *, k: int | None = None, visibility: list[str] | None = None,
                 exclude_sources: list[str] | None = None, version: int | None = None,
                 valid_on: dt.date | None = None, query_vector: list[float] | None = None, mode: str = "hybrid",
                 weights: tuple[float, ...] | None = None, rrf_k: int | None = None,
                 coverage: bool = True, ends: dict[str, int] | None = None,
                 admit: Admit | None = None) -> RetrievalResult:
        """The top ``k`` (default retrieval.top_k) passages of ``query``; ``version`` None = the live one.

        ``mode``: ``hybrid``, or one retriever alone (``dense``, ``bm25``, ``cjk``) as a probe. ``weights`` and
        ``rrf_k`` override the adaptive ones (evaluation baselines). ``valid_on`` defaults to today. ``coverage``
        False skips the IDF coverage (it needs the version's term statistics: one scan, cached per tenant).
        ``ends``: source id → last day in force (yyyymmdd) when earlier than its stated expiry (a superseded
        notice); ``admit``: see :data:`Admit` (the place check's expired-notice rule).
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if version is None:
            cached = self.live.get(tenant)
            if cached is None:
                return RetrievalResult(query, None)
            ver, reader = cached
            return self._run(tenant, ver, reader, query, k, visibility, exclude_sources, valid_on, query_vector,
                             mode, weights, rrf_k, coverage, ends, admit)
        reader = self.store.open_version(tenant, version)
        try:
            return self._run(tenant, version, reader, query, k, visibility, exclude_sources, valid_on,
                             query_vector, mode, weights, rrf_k, coverage, ends, admit)
        finally:
            reader.close()

    def _run(self, tenant: str, version: int, reader: VersionReader, query: str, k: int | None,
             visibility: list[str] | None, exclude: list[str] | None, valid_on: dt.date | None,
             query_vector: list[float] | None, mode: str, weights: tuple[float, ...] | None,
             rrf_k: int | None, coverage: bool, ends: dict[str, int] | None = None,
             admit: Admit | None = None) -> RetrievalResult:
        cfg = self.cfg
        k = k or cfg.top_k
        dense_q = query_vector if query_vector is not None else self.dense.encode_query(query)
        sparse_q = self.sparse.embed_query(query)
        cjk_q = self.cjk.embed_query(query)  # empty unless the question has Han characters
        flt = SearchFilter(visibility=visibility, exclude_source_ids=exclude or None)
        dense_hits = reader.dense(dense_q, flt, PROBE[0])
        sparse_hits = reader.sparse(sparse_q, flt, PROBE[1])
        cjk_hits = reader.sparse(cjk_q, flt, PROBE[2], using=CJK)
        s_scores = [h.score for h in sparse_hits]
        ws = adaptive_weights(cfg, query, [h.score for h in dense_hits], s_scores, [h.score for h in cjk_hits]) \
            if weights is None else (*[float(w) for w in weights], 0.0, 0.0)[:3]
        limit = max(k * 3, cfg.rerank_candidates if self.reranker is not None else 0)
        if mode == "hybrid":
            hits = reader.hybrid(dense_q, sparse_q, flt, limit=limit, prefetch=max(cfg.prefetch, k),
                                 weights=(ws[0], ws[1], ws[2]), rrf_k=rrf_k or rrf_k_for(cfg, query), cjk=cjk_q)
        else:
            hits = self._alone(reader, mode, dense_q, sparse_q, cjk_q, flt, limit)
        day = valid_on or dt.date.today()
        valid, expired = in_force(hits, day, ends)
        if admit is not None and expired:
            valid = admit(hits, {h.chunk_id for h in valid}, day)
        if visibility is not None:
            leaked = [h.chunk_id for h in valid if h.payload.get("visibility") not in visibility]
            if leaked:  # impossible by the filter; never hand it on if it happens
                log.error("retrieve visibility leak tenant=%s chunks=%s", tenant, leaked)
                valid = [h for h in valid if h.payload.get("visibility") in visibility]
        rerank_top = None
        if self.reranker is not None and valid and mode == "hybrid":
            pool = valid[: max(k, cfg.rerank_candidates)]
            ranked = self.reranker.order(query, [str(h.payload.get("text") or "") for h in pool])
            valid = [pool[i] for i, _ in ranked]
            rerank_top = round(ranked[0][1], 4)
        valid = valid[:k]
        cover: list[float] = []
        if coverage:
            stats = self.term_stats.get(tenant, version, reader)
            cover = [stats.coverage(sparse_q.indices, set(self.sparse.embed_document(str(h.payload.get("text") or ""))
                                                          .indices)) for h in valid[:3]]
        gap = (s_scores[0] - s_scores[-1]) / s_scores[0] if len(s_scores) > 1 and s_scores[0] > 0 else 0.0
        return RetrievalResult(
            query=query, version=version, hits=valid, expired=expired, weights=(ws[0], ws[1], ws[2]),
            lang=language(query), dense_top=dense_hits[0].score if dense_hits else 0.0,
            sparse_top=s_scores[0] if s_scores else 0.0, sparse_gap=gap,
            idf_coverage=round(max(cover, default=0.0), 4), rerank_top=rerank_top, query_vector=list(dense_q))

    def _alone(self, reader: VersionReader, mode: str, dense_q: list[float], sparse_q: SparseVec, cjk_q: SparseVec,
               flt: SearchFilter, limit: int) -> list[Hit]:
        if mode == "dense":
            return reader.dense(dense_q, flt, limit)
        if mode == "bm25":
            return reader.sparse(sparse_q, flt, limit)
        return reader.sparse(cjk_q, flt, limit, using=CJK)


def in_force(hits: list[Hit], day: dt.date, ends: dict[str, int] | None = None) -> tuple[list[Hit], list[str]]:
    """(hits in force on ``day``, chunk ids of those that are not); ``ends``: source id → an earlier last day
    than the stated expiry (a superseded notice)."""
    today = date_int(day, 0)
    valid: list[Hit] = []
    expired: list[str] = []
    for h in hits:
        eff, exp = int(h.payload.get("effective") or 0), int(h.payload.get("expiry") or 99991231)
        if ends:
            exp = min(exp, ends.get(str(h.payload.get("source_id")), exp))
        if eff <= today <= exp:
            valid.append(h)
        else:
            expired.append(h.chunk_id)
    return valid, expired

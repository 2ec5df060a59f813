"""Hybrid search over a tenant's live (or a given) version: the probe behind `qa kb search` and
the first half of the answer path's retrieve step."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from qa_service.ingest.catalog import date_int
from qa_service.kb.types import CJK, Hit, SearchFilter
from qa_service.services import Services
from qa_service.settings import RetrievalSettings


@dataclass
class SearchResult:
    version: int | None
    hits: list[Hit]


def query_lang(text: str) -> str:
    """``zh`` or ``en``: which per-language retrieval settings apply to a query."""
    from qa_service.text import is_chinese

    return "zh" if is_chinese(text) else "en"


def base_weights(by_lang: dict[str, list[float]], text: str) -> tuple[float, float, float]:
    """(dense, bm25, han-bigram bm25) RRF weights for the query's language (settings.retrieval.weights;
    a two-value entry has no third retriever)."""
    ws = [float(w) for w in by_lang[query_lang(text)]]
    return ws[0], ws[1], (ws[2] if len(ws) > 2 else 0.0)


def rrf_k_for(cfg: RetrievalSettings, text: str) -> int:
    """The RRF constant for the query's language."""
    return int(cfg.rrf_k[query_lang(text)])


def lead_gap(scores: list[float]) -> float:
    """Relative gap between a retriever's first and second score (1.0 with a single hit, 0.0 with none)."""
    if not scores or scores[0] <= 0:
        return 0.0
    return 1.0 if len(scores) < 2 else (scores[0] - scores[1]) / scores[0]


def adaptive_weights(cfg: RetrievalSettings, text: str, dense_scores: list[float], sparse_scores: list[float],
                     cjk_scores: list[float] | None = None) -> tuple[float, float, float]:
    """(dense, bm25, han-bigram bm25) weights for one query: the language's base weights, and when the
    lead retriever (the one with the largest base weight: the Han-bigram BM25 for Chinese with the
    English-only default model, dense for English) is sure of its first hit, the others are damped so
    they cannot push that hit down. Measured on LeCoQA dev and RGB-en (docs/retrieval.md)."""
    ws = list(base_weights(cfg.weights, text))
    scores = [dense_scores, sparse_scores, cjk_scores or []]
    lead = max(range(3), key=lambda i: ws[i])
    if lead_gap(scores[lead]) > float(cfg.lead_gap.get(query_lang(text), 1.0)):
        ws = [w if i == lead else w * cfg.lead_cut for i, w in enumerate(ws)]
    return ws[0], ws[1], ws[2]


def visibility_for(channel: str) -> list[str]:
    """Citizens see public knowledge only; staff see public and internal."""
    return ["public", "internal"] if channel == "staff" else ["public"]


def search(
    services: Services,
    tenant: str,
    text: str,
    k: int = 10,
    visibility: list[str] | None = None,
    valid_on: dt.date | None = None,
    weights: tuple[float, ...] | None = None,
    version: int | None = None,
    mode: str = "hybrid",
    rrf_k: int | None = None,
) -> SearchResult:
    """Query one version (default: live) with dense + BM25 (+ Han-bigram BM25 for Chinese) fused by
    weighted RRF. ``mode``: ``hybrid``, or one retriever alone: ``dense``, ``bm25``, ``cjk``.

    Without ``weights`` the weights follow the query's language and the lead retriever's
    confidence (:func:`adaptive_weights`), as in the answer path.
    """
    flt = SearchFilter(visibility=visibility, valid_on=date_int(valid_on, 0) if valid_on else None)
    if version is None:
        cached = services.live.get(tenant)
        if cached is None:
            return SearchResult(None, [])
        ver, reader = cached
        return SearchResult(ver, _query(services, reader, text, k, flt, weights, mode, rrf_k))
    reader = services.store.open_version(tenant, version)
    try:
        return SearchResult(version, _query(services, reader, text, k, flt, weights, mode, rrf_k))
    finally:
        reader.close()


def _query(services: Services, reader: Any, text: str, k: int, flt: SearchFilter,
           weights: tuple[float, ...] | None, mode: str, rrf_k: int | None = None) -> list[Hit]:
    cfg = services.settings.retrieval
    if mode == "dense":
        result: list[Hit] = reader.dense(services.dense.encode_query(text), flt, k)
    elif mode == "bm25":
        result = reader.sparse(services.sparse.embed_query(text), flt, k)
    elif mode == "cjk":
        result = reader.sparse(services.cjk.embed_query(text), flt, k, using=CJK)
    else:
        dense_q, sparse_q = services.dense.encode_query(text), services.sparse.embed_query(text)
        cjk_q = services.cjk.embed_query(text)
        if weights is None:  # the same per-query weights as the answer path's retrieve step
            weights = adaptive_weights(cfg, text, [h.score for h in reader.dense(dense_q, flt, 2)],
                                       [h.score for h in reader.sparse(sparse_q, flt, 2)],
                                       [h.score for h in reader.sparse(cjk_q, flt, 2, using=CJK)])
        result = reader.hybrid(dense_q, sparse_q, flt, limit=k, prefetch=max(cfg.prefetch, k), weights=weights,
                               rrf_k=rrf_k or rrf_k_for(cfg, text), cjk=cjk_q)
    return result


def hit_dict(hit: Hit) -> dict[str, Any]:
    p = hit.payload
    return {
        "chunk_id": hit.chunk_id,
        "source_id": p.get("source_id"),
        "title": p.get("title"),
        "heading": p.get("heading"),
        "page": p.get("page"),
        "visibility": p.get("visibility"),
        "score": round(hit.score, 6),
        "text": p.get("text"),
    }

"""Hybrid search over a tenant's live (or a given) version: the probe behind `qa kb search` and
the first half of the answer path's retrieve step."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from qa_service.ingest.catalog import date_int
from qa_service.kb.types import Hit, SearchFilter
from qa_service.services import Services


@dataclass
class SearchResult:
    version: int | None
    hits: list[Hit]


def base_weights(by_lang: dict[str, list[float]], text: str) -> tuple[float, float]:
    """(dense, bm25) RRF weights for the query's language (settings.retrieval.weights)."""
    from qa_service.answer.text import is_cjk

    dense_w, bm25_w = by_lang["zh" if is_cjk(text) else "en"]
    return float(dense_w), float(bm25_w)


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
    weights: tuple[float, float] | None = None,
    version: int | None = None,
    mode: str = "hybrid",
    rrf_k: int | None = None,
) -> SearchResult:
    """Query one version (default: live) with dense + BM25 fused by weighted RRF.

    Without ``weights`` the (dense, bm25) weights follow the query's language (settings.retrieval.weights).
    """
    if weights is None:
        weights = base_weights(services.settings.retrieval.weights, text)
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
           weights: tuple[float, float], mode: str, rrf_k: int | None = None) -> list[Hit]:
    cfg = services.settings.retrieval
    if mode == "dense":
        result: list[Hit] = reader.dense(services.dense.encode_query(text), flt, k)
    elif mode == "bm25":
        result = reader.sparse(services.sparse.embed_query(text), flt, k)
    else:
        result = reader.hybrid(services.dense.encode_query(text), services.sparse.embed_query(text), flt,
                               limit=k, prefetch=max(cfg.prefetch, k), weights=weights, rrf_k=rrf_k or cfg.rrf_k)
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

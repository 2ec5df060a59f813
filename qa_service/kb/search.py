"""The per-query fusion weights of the hybrid retriever (kb/retriever.py; docs/retrieval.md), the channel's
visibility, and ``search``: the retriever as `qa kb search`, evaluation and tests call it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from qa_service.kb.types import Hit
from qa_service.settings import RetrievalSettings
from qa_service.text import language

if TYPE_CHECKING:
    from qa_service.kb.retriever import RetrievalResult
    from qa_service.services import Services


def query_lang(text: str) -> str:
    """``zh`` or ``en``: which per-language retrieval settings apply to a query."""
    return language(text)


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
) -> RetrievalResult:
    """The answer path's retrieval (:class:`~qa_service.kb.retriever.HybridRetriever`) over one version (default:
    live): the same weights, date filter (``valid_on``, default today; expired hits are in ``.expired``) and
    reranking. ``mode``: ``hybrid``, or one retriever alone: ``dense``, ``bm25``, ``cjk``. The IDF coverage (and
    so the confidence) is computed for the live version only (a draft's term statistics would evict the live
    version's)."""
    return services.retriever.retrieve(tenant, text, k=k, visibility=visibility, version=version, valid_on=valid_on,
                                       mode=mode, weights=weights, rrf_k=rrf_k, coverage=version is None)


def hit_dict(hit: Hit) -> dict[str, Any]:
    p = hit.payload
    return {
        "chunk_id": hit.chunk_id,
        "source_id": p.get("source_id"),
        "title": p.get("title"),
        "heading": p.get("heading"),
        "section_type": p.get("section_type"),
        "page": p.get("page"),
        "visibility": p.get("visibility"),
        "score": round(hit.score, 6),
        "text": p.get("text"),
    }

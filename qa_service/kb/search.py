"""The per-query fusion weights of the hybrid retriever (kb/retriever.py; docs/retrieval.md), the channel's
visibility, and ``search``: the retriever as `qa kb search`, the staff passage search, evaluation and tests call
it, with the answer path's place filter (issue 22) unless told not to."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from qa_service.kb.types import Hit
from qa_service.settings import RetrievalSettings
from qa_service.text import language

if TYPE_CHECKING:
    from qa_service.kb.places import PlaceCheck
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
    place: bool = True,
    plan: PlaceCheck | None = None,
) -> RetrievalResult:
    """The answer path's retrieval (:class:`~qa_service.kb.retriever.HybridRetriever`) over one version (default:
    live): the same weights, date filter (``valid_on``, default today; expired hits are in ``.expired``) and
    reranking. ``mode``: ``hybrid``, or one retriever alone: ``dense``, ``bm25``, ``cjk``. The IDF coverage (and
    so the confidence) is computed for the live version only (a draft's term statistics would evict the live
    version's). ``place``: the answer path's place filter (the documents of the place the text names, or national
    ones; superseded and expired notices as the answer path lets them in) unless ``answer.place_check`` is off;
    ``plan``: that filter's result when the caller made it (:func:`place_plan`)."""
    if not place:
        plan = None
    elif plan is None:
        plan = place_plan(services, tenant, text, version)
    return services.retriever.retrieve(
        tenant, text, k=k, visibility=visibility, version=version, valid_on=valid_on, mode=mode, weights=weights,
        rrf_k=rrf_k, coverage=version is None,
        exclude_sources=[*plan.excluded, *plan.superseded] or None if plan is not None else None,
        ends=plan.ends if plan is not None else None, admit=plan.admit if plan is not None else None)


def place_plan(services: Services, tenant: str, text: str, version: int | None = None) -> PlaceCheck | None:
    """The place filter's result for ``text`` over ``version`` (default live; another version's documents are
    read from that version); None with ``answer.place_check`` off or nothing to search."""
    if services.places is None:
        return None
    if version is None:
        return services.places.plan(tenant, text)
    from qa_service.kb.places import PlaceIndex, plan_with

    reader = services.store.open_version(tenant, version)
    try:
        return plan_with(PlaceIndex.read(reader), text)
    finally:
        reader.close()


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
        "place": p.get("place"),
        "office": p.get("office"),
        "score": round(hit.score, 6),
        "text": p.get("text"),
    }

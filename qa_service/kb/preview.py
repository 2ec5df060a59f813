"""Try a draft before publishing it: the answer path (without the curated match, the review queue and the
answer record) over a chosen version instead of the live one. Nothing a citizen sees changes; the route
audits each preview."""

from __future__ import annotations

from typing import Any, cast

from qa_service.answer.context import AnswerContext
from qa_service.answer.pipeline import AnswerPipeline, build_steps
from qa_service.answer.response import to_response
from qa_service.kb.store import VersionReader
from qa_service.services import Services

SKIPPED = ("curated",)  # curated answers cite the live version; a preview judges the draft's own passages


class _PinnedLive:
    """Stands in for the live-reader cache: every lookup of ``tenant`` gets the pinned version."""

    def __init__(self, tenant: str, version: int, reader: VersionReader) -> None:
        self.tenant, self.version, self.reader = tenant, version, reader

    def get(self, tenant: str) -> tuple[int, VersionReader] | None:
        return (self.version, self.reader) if tenant == self.tenant else None


class _PreviewServices:
    """The app's services with the live reader pinned to one version and no review sink."""

    review_sink = None

    def __init__(self, services: Services, live: _PinnedLive) -> None:
        from qa_service.kb.places import PlaceFilter
        from qa_service.kb.retriever import HybridRetriever

        self._services = services
        self.live = live
        # a cache of its own: the shared one keeps one version per tenant, and a preview must not evict live's
        self.term_stats = services.preview_term_stats
        # the answer path retrieves through the retriever, which holds its own live cache: pin that one too
        self.retriever = HybridRetriever(services.settings.retrieval, cast(Any, live), services.store,
                                         services.dense, services.sparse, services.cjk, self.term_stats,
                                         services.reranker)
        # where the pinned version's documents apply (issue 22): read from that version, not the live one
        self.places = PlaceFilter(cast(Any, live)) if services.settings.answer.place_check else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._services, name)


def ask_version(services: Services, tenant: str, version: int, question: str, channel: str = "citizen",
                lang: str | None = None) -> dict[str, Any]:
    """The answer ``version`` would give on ``channel`` (citizen by default: what the public would see)."""
    reader = services.store.open_version(tenant, version)
    try:
        proxy = cast(Services, _PreviewServices(services, _PinnedLive(tenant, version, reader)))
        steps = [s for s in build_steps(proxy, record=False) if s.name not in SKIPPED]
        ctx = AnswerContext(question=question, tenant=tenant, channel=channel, lang=lang or "auto")
        AnswerPipeline(proxy, steps).run(ctx)
        out = to_response(ctx)
    finally:
        reader.close()
    out.pop("ticket", None)  # a preview opens no review item, so there is no ticket to show
    out["preview"] = True
    out["held"] = ctx.signals.get("review") == "held"
    return out

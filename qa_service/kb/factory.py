"""Choose the vector store from settings: a Qdrant server when configured, else Qdrant Edge."""

from __future__ import annotations

import logging

from qa_service.kb.store import VectorStore
from qa_service.settings import Settings

log = logging.getLogger(__name__)


def make_store(settings: Settings) -> VectorStore:
    """``QdrantServerStore`` when ``store.qdrant_url`` (or, in tests, ``store.qdrant_location``) is
    set; otherwise ``EdgeStore`` over ``settings.shards_dir``."""
    cfg = settings.store
    if cfg.qdrant_url or cfg.qdrant_location:
        from qdrant_client import QdrantClient

        from qa_service.kb.server_store import QdrantServerStore

        if cfg.qdrant_url:
            client = QdrantClient(url=cfg.qdrant_url, api_key=cfg.qdrant_api_key, timeout=30)
            log.info("vector store: qdrant server %s", cfg.qdrant_url)
        elif cfg.qdrant_location == ":memory:":
            client = QdrantClient(location=":memory:")
            log.info("vector store: qdrant-client local mode in memory")
        else:
            client = QdrantClient(path=str(cfg.qdrant_location))
            log.info("vector store: qdrant-client local mode at %s", cfg.qdrant_location)
        return QdrantServerStore(client)

    from qa_service.kb.edge_store import EdgeStore

    log.info("vector store: qdrant edge at %s", settings.shards_dir)
    return EdgeStore(settings.shards_dir)

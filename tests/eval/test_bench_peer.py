"""The llama-index peer of `qa bench run` (eval/bench_peer.py): a VectorStoreIndex over qdrant-client local mode
answers with the top-k passages of the same embedding model, embedded by llama-index or handed over."""

from __future__ import annotations

import pytest

from eval.bench_peer import PeerDoc, PeerPipeline
from qa_service.kb.fake_embed import FakeDenseEmbedder

pytestmark = pytest.mark.unit

DOCS = [
    PeerDoc("a:0", "A residence permit costs 20 yuan and takes 10 working days."),
    PeerDoc("b:0", "Passport renewal needs two recent photographs and the previous passport."),
    PeerDoc("c:0", "居住证补办收取工本费20元。"),
    PeerDoc("d:0", "Unemployment benefit is paid monthly to registered job seekers."),
]


class CountingDense(FakeDenseEmbedder):
    """The fake embedder, counting what each side is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.passages = 0
        self.queries = 0

    def encode(self, texts, batch_size=32):  # type: ignore[no-untyped-def, override]
        self.passages += len(texts)
        return super().encode(texts, batch_size)

    def encode_query(self, text):  # type: ignore[no-untyped-def, override]
        self.queries += 1
        return super().encode_query(text)


def test_ingest_embeds_through_llama_index_and_answers_with_top_k() -> None:
    dense = CountingDense()
    peer = PeerPipeline(dense, top_k=2)
    try:
        assert peer.ingest(DOCS) >= 0
        assert dense.passages == len(DOCS)  # every passage embedded once, by llama-index
        out = peer.answer("How long does a passport renewal take with photographs?")
        assert dense.queries == 1  # the question on the question side
        assert len(out.ids) == 2 and out.ids[0] == "b:0"
        assert out.answer == "\n\n".join(out.passages) and out.passages[0] == DOCS[1].text
        assert out.ms > 0
    finally:
        peer.close()


def test_load_uses_the_given_vectors_and_embeds_none() -> None:
    dense = CountingDense()
    vectors = FakeDenseEmbedder().encode([d.text for d in DOCS])
    docs = [PeerDoc(d.id, d.text, v) for d, v in zip(DOCS, vectors, strict=True)]
    # the last document's vector is swapped for the first one's: the peer must rank by the given vectors
    docs[3] = PeerDoc(docs[3].id, docs[3].text, vectors[0])
    peer = PeerPipeline(dense, top_k=2)
    try:
        peer.load(docs)
        assert dense.passages == 0
        out = peer.answer("A residence permit costs 20 yuan and takes 10 working days.")
        assert set(out.ids) == {"a:0", "d:0"}
    finally:
        peer.close()


def test_answer_before_indexing_is_an_error() -> None:
    peer = PeerPipeline(FakeDenseEmbedder())
    with pytest.raises(RuntimeError):
        peer.answer("anything")
    peer.close()

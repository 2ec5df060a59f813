"""A deterministic, model-free dense embedder with the real one's interface (``DenseEmbedder``).

Each text becomes hashed character n-grams (2..4 characters of every lower-cased word, padded with a
space, plus single Han characters) counted into ``dim`` buckets and scaled to unit length. Similar
surface text gives similar vectors, so ranking, reuse by digest and the similarity guard behave
plausibly, and nothing is downloaded or loaded. Unit tests use it (tests/conftest.py ``fake_dense``);
vectors from it are recorded under their own ``model_id``, so they are never reused by a real model.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_]+", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _bucket(gram: str, dim: int) -> tuple[int, float]:
    """(bucket, sign) of one n-gram: a stable hash, not Python's per-process ``hash``."""
    digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dim, (1.0 if (value >> 63) & 1 else -1.0)


def ngrams(text: str) -> list[str]:
    """The features of ``text``: n-grams of its words, Han characters and their neighbours."""
    tokens = _TOKEN.findall(text.lower())
    out: list[str] = []
    for i, tok in enumerate(tokens):
        if _HAN.fullmatch(tok):
            out.append(tok)
            if i + 1 < len(tokens) and _HAN.fullmatch(tokens[i + 1]):
                out.append(tok + tokens[i + 1])
            continue
        word = f" {tok} "
        out.append(word)
        for n in (3, 4):
            out.extend(word[j:j + n] for j in range(max(len(word) - n + 1, 0)))
    return out


class FakeDenseEmbedder:
    """Hashed character n-grams → fixed-dimension unit vectors; same calls as ``DenseEmbedder``."""

    loaded = True
    asymmetric = False  # questions and passages are encoded alike

    def __init__(self, dim: int = 384) -> None:
        if dim < 8:
            raise ValueError("dim must be at least 8")
        self.dim = dim
        self.model_path = f"fake-ngram-{dim}"
        self.model_id = f"fake-ngram-{dim}-v1"
        self.calls = 0  # texts encoded so far (tests may check that a vector was reused)

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        for gram in ngrams(text):
            i, sign = _bucket(gram, self.dim)
            vec[i] += sign
        norm = math.sqrt(sum(x * x for x in vec))
        if norm == 0.0:  # no features (empty or punctuation only): a fixed unit vector, like a model's
            vec[0] = 1.0
            return vec
        return [x / norm for x in vec]

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> list[list[float]]:
        """Unit-length vectors, one per text, in order (``batch_size`` is accepted and ignored)."""
        self.calls += len(texts)
        return [self._vector(t) for t in texts]

    def encode_queries(self, texts: Sequence[str], batch_size: int = 32) -> list[list[float]]:
        """Question vectors: the same as passage vectors (a symmetric stand-in)."""
        return self.encode(texts, batch_size)

    def encode_query(self, text: str) -> list[float]:
        return self.encode([text], 1)[0]

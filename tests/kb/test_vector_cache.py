"""The dense-vector cache (qa_service/kb/vector_cache.py) behind DenseEmbedder: a text is embedded once per model
and side, across embedder instances and processes; a broken cache file is bypassed, never trusted."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_service.kb.embed import DenseEmbedder
from qa_service.kb.fake_embed import FakeDenseEmbedder
from qa_service.settings import EmbeddingSettings

pytestmark = pytest.mark.unit


class CountingBackend:
    """A backend with the real interface over the fake embedder; counts what it is asked to embed."""

    asymmetric = True
    loaded = True
    dim = 384
    model_path = None

    def __init__(self, model_id: str = "counting-v1") -> None:
        self.model_id = model_id
        self.fake = FakeDenseEmbedder()
        self.asked: list[tuple[str, bool]] = []

    def encode(self, texts: list[str], batch_size: int, query: bool) -> list[list[float]]:
        self.asked += [(t, query) for t in texts]
        return [[(x * (-1.0 if query else 1.0)) for x in v] for v in self.fake.encode(texts)]


def _embedder(path: Path, backend: CountingBackend) -> DenseEmbedder:
    e = DenseEmbedder(EmbeddingSettings(backend="sentence_transformers", cache_path=str(path)))
    e.backend = backend  # type: ignore[assignment]
    return e


def test_each_text_is_embedded_once_per_model_and_side(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    first = CountingBackend()
    e = _embedder(path, first)
    a = e.encode(["fee is 20 yuan", "bring your ID card", "fee is 20 yuan"])
    assert first.asked == [("fee is 20 yuan", False), ("bring your ID card", False)]  # a repeat inside one call too
    q = e.encode_query("fee is 20 yuan")
    assert q != a[0]  # the question side is its own entry
    assert len(first.asked) == 3

    again = CountingBackend()  # a new process: only the file is shared
    e2 = _embedder(path, again)
    assert e2.encode(["bring your ID card", "fee is 20 yuan"]) == [a[1], a[0]]
    assert e2.encode_query("fee is 20 yuan") == q and again.asked == []
    assert e2.cache is not None and e2.cache.hits == 3 and e2.cache.misses == 0

    other = CountingBackend("another-model")  # another model never reads these vectors
    _embedder(path, other).encode(["fee is 20 yuan"])
    assert other.asked == [("fee is 20 yuan", False)]


def test_a_broken_cache_file_is_bypassed(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    backend = CountingBackend()
    e = _embedder(path, backend)
    out = e.encode(["fee is 20 yuan"])
    assert backend.asked == [("fee is 20 yuan", False)] and len(out[0]) == 384


def test_no_cache_path_means_no_cache(tmp_path: Path) -> None:
    e = DenseEmbedder(EmbeddingSettings(backend="sentence_transformers"))
    assert e.cache is None

"""Sentence vectors made at ingestion (qa_service/kb/sentence_vectors.py) and read at answer time: the sentences the
extractive answer compares are the ones ingestion stored, a stored vector is read instead of embedded, and the
vector cache's other entry points (put, with_cache, the default file beside the data) keep to their word."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa_service.answer.context import Passage
from qa_service.answer.generate.extractive import ExtractiveGenerator
from qa_service.kb.embed import DenseEmbedder
from qa_service.kb.sentence_vectors import candidate_sentences, passage_sentences, prefill
from qa_service.kb.vector_cache import cache_key
from qa_service.settings import EmbeddingSettings, GenerateSettings
from tests.kb.test_vector_cache import CountingBackend, _embedder

pytestmark = pytest.mark.unit

GUIDE = ("Applicants must bring an identity card and two photographs. The permit is issued within 10 working days. "
         "A fee of 20 yuan applies. Ok.")
FAQ = "How much does a replacement permit cost?\nA replacement permit costs 20 yuan. It is posted within a week."


def test_candidates_skip_an_faq_question_and_odd_lengths() -> None:
    faq = [s for s, _ in candidate_sentences(FAQ, "faq")]
    assert "How much does a replacement permit cost?" not in faq and faq  # never quoted ...
    assert "How much does a replacement permit cost?" in passage_sentences(FAQ, "faq")  # ... but compared
    guide = [s for s, _ in candidate_sentences(GUIDE, "text")]
    assert all(4 <= len(s) <= 400 for s in guide) and "Ok." not in guide and len(guide) == 3


def test_prefill_stores_what_the_generator_then_reads_without_the_model(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    ingest = CountingBackend()
    assert prefill(_embedder(path, ingest), [{"text": GUIDE, "kind": "text"}, {"text": FAQ, "kind": "faq"}]) == 6
    assert {t for t, q in ingest.asked if not q} == set(passage_sentences(GUIDE, "text") + passage_sentences(FAQ, "faq"))

    answering = CountingBackend()  # another process: only the cache file is shared
    dense = _embedder(path, answering)
    gen = ExtractiveGenerator(dense, GenerateSettings(compose_units=False))
    qvec = dense.backend.fake.encode(["How long does the permit take?"])[0]  # type: ignore[attr-defined]
    passages = [Passage(n=1, chunk_id="g:0", source_id="g", title="Permit guide", text=GUIDE, digest="d1", score=1.0),
                Passage(n=2, chunk_id="f:0", source_id="f", title="FAQ", text=FAQ, digest="d2", score=0.9, kind="faq")]
    draft = gen.generate("How long does the permit take?", passages, "en", query_vector=qvec)
    assert draft.sentences  # it answered, comparing sentences ...
    assert answering.asked == []  # ... every one of them read from the cache, none embedded
    assert dense.cache is not None and dense.cache.hits > 0


def test_prefill_without_a_cache_embeds_nothing() -> None:
    backend = CountingBackend()
    e = DenseEmbedder(EmbeddingSettings(backend="sentence_transformers", cache_path="off"))
    e.backend = backend  # type: ignore[assignment]
    assert e.cache is None
    assert prefill(e, [{"text": GUIDE, "kind": "text"}]) == 0 and backend.asked == []


def test_prefill_switched_off_embeds_nothing(tmp_path: Path) -> None:
    backend = CountingBackend()
    e = DenseEmbedder(EmbeddingSettings(backend="sentence_transformers", cache_path=str(tmp_path / "v.sqlite"),
                                        sentence_vectors=False))
    e.backend = backend  # type: ignore[assignment]
    assert prefill(e, [{"text": GUIDE, "kind": "text"}]) == 0 and backend.asked == []


def test_put_is_read_back_and_never_overwrites(tmp_path: Path) -> None:
    backend = CountingBackend()
    e = _embedder(tmp_path / "v.sqlite", backend)
    assert e.cache is not None
    key = cache_key(backend.model_id, False, "stored sentence")
    e.cache.put([(key, [1.0] + [0.0] * 383)])
    e.cache.put([(key, [0.0, 1.0] + [0.0] * 382)])  # a second put of the same key keeps the first vector
    assert e.encode(["stored sentence"])[0][:2] == [1.0, 0.0] and backend.asked == []


def test_with_cache_shares_the_model_not_the_cache(tmp_path: Path) -> None:
    backend = CountingBackend()
    a = _embedder(tmp_path / "a.sqlite", backend)
    a.encode(["fee is 20 yuan"])
    b = a.with_cache(tmp_path / "b.sqlite")
    none = a.with_cache(None)
    assert b.backend is a.backend and none.cache is None
    b.encode(["fee is 20 yuan"])  # b's own file is empty: embedded again
    none.encode(["fee is 20 yuan"])
    assert [t for t, _ in backend.asked] == ["fee is 20 yuan"] * 3
    assert np.allclose(a.encode(["fee is 20 yuan"])[0], b.encode(["fee is 20 yuan"])[0])
    assert len(backend.asked) == 3  # both now read their own file


def test_services_default_the_cache_beside_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qa_service.services import Services
    from qa_service.settings import load_settings

    monkeypatch.delenv("QA_EMBEDDING__CACHE_PATH", raising=False)
    s = Services(load_settings(None, data_dir=str(tmp_path)))
    assert s.dense.cache is not None and s.dense.cache.path == tmp_path / "vectors.sqlite"
    monkeypatch.setenv("QA_EMBEDDING__CACHE_PATH", "off")
    assert Services(load_settings(None, data_dir=str(tmp_path))).dense.cache is None


def test_sparse_document_vectors_are_kept_for_recent_texts_only() -> None:
    from qa_service.kb.embed import SparseEmbedder

    fresh = SparseEmbedder(cache_size=0)
    s = SparseEmbedder(cache_size=2)
    a = s.embed_document(GUIDE)
    assert s.embed_document(GUIDE) is a  # read, not tokenised again
    assert a == fresh.embed_document(GUIDE)  # the same vector as without the cache
    s.embed_document(FAQ)
    s.embed_document("A third passage about passports.")
    assert s.embed_document(GUIDE) is not a and s.embed_document(GUIDE) == a  # evicted, then made again

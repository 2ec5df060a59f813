"""A change of dense model re-embeds once: a job over part of the sources re-embeds the copied rest, the ledger
records the model that built each version, and the first start re-embeds tenants built by another model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa_service.bootstrap import bootstrap_samples, reembed_stale
from qa_service.ingest.build import embed_text
from qa_service.ingest.pipeline import run_ingest
from qa_service.kb import versions
from qa_service.kb.embed import DenseEmbedder
from qa_service.kb.search import search
from qa_service.settings import EmbeddingSettings
from tests.kbdata import write_folder

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def minilm() -> DenseEmbedder:
    return DenseEmbedder(EmbeddingSettings(backend="sentence_transformers"))


def _points(svc: Any, tenant: str) -> tuple[Any, list[Any]]:
    with svc.db.session() as s:
        live = versions.live_row(s, tenant)
        assert live is not None
        s.expunge(live)
    reader = svc.store.open_version(tenant, live.version)
    try:
        return live, list(reader.iter_points(with_vectors=True))
    finally:
        reader.close()


def _old_services(make_services: Any, data: Path, minilm: DenseEmbedder, **kw: Any) -> Any:
    svc = make_services(data_dir=data, **kw)
    svc.__dict__["dense"] = minilm
    return svc


def test_a_job_after_a_model_change_re_embeds_the_sources_it_copies(make_services: Any, tmp_path: Path,
                                                                  minilm: DenseEmbedder) -> None:
    data, folder = tmp_path / "data", write_folder(tmp_path / "kb")
    old = _old_services(make_services, data, minilm)
    first = run_ingest(old, [folder], "town", publish=True)
    live, _ = _points(old, "town")
    assert live.embedding_model == minilm.model_id
    old.close()

    new = make_services(data_dir=data)
    assert new.dense.model_id != minilm.model_id
    res = run_ingest(new, [folder / "hukou.md"], "town", publish=True)  # one source given, the rest copied
    assert res.state == "succeeded" and res.published
    assert res.chunks["copied"] > 0 and res.chunks["reembedded"] == res.chunks["copied"]
    assert res.chunks["embedded"] + res.chunks["copied"] == first.chunks["embedded"]
    live, points = _points(new, "town")
    assert live.embedding_model == new.dense.model_id
    assert {p.payload["model"] for p in points} == {new.dense.model_id}
    want = np.asarray(new.dense.encode([embed_text(p.payload) for p in points]))
    got = np.asarray([p.dense for p in points])
    assert np.allclose(got, want, atol=1e-4), "every vector is the new model's"
    hits = search(new, "town", "户籍迁入要带什么材料", k=3, mode="dense").hits
    assert hits[0].payload["source_id"] == "hukou.md"
    again = run_ingest(new, [folder / "hukou.md"], "town")  # once: nothing left to re-embed
    assert again.state == "no_changes" and again.chunks["reembedded"] == 0


def test_first_start_re_embeds_tenants_built_by_another_model(make_services: Any, tmp_path: Path,
                                                              minilm: DenseEmbedder) -> None:
    data, samples = tmp_path / "data", tmp_path / "samples"
    write_folder(samples / "town")
    other = write_folder(tmp_path / "other")
    old = _old_services(make_services, data, minilm, server={"sample_knowledge": str(samples)})
    assert bootstrap_samples(old) == ["town"]
    run_ingest(old, [other], "uploads", publish=True)
    assert bootstrap_samples(old) == [], "same model: nothing to do"
    old.close()

    new = make_services(data_dir=data, server={"sample_knowledge": str(samples)})
    assert bootstrap_samples(new) == ["town", "uploads"]
    for tenant in ("town", "uploads"):
        live, points = _points(new, tenant)
        assert live.embedding_model == new.dense.model_id and live.version == 2
        assert {p.payload["model"] for p in points} == {new.dense.model_id}
    assert bootstrap_samples(new) == [] and reembed_stale(new) == []

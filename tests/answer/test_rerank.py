"""The optional cross-encoder: when a model path is set, the retrieve step hands the generator the
fused candidates in the cross-encoder's order. The model here is a real sentence-transformers
CrossEncoder built offline from the packaged MiniLM weights (its scoring head is untrained, so the
order it gives differs from the fused one — which is what lets the test see the reranking)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qa_service.answer.context import AnswerContext
from qa_service.answer.steps.retrieve import Retrieve
from qa_service.ingest.pipeline import run_ingest
from qa_service.kb.rerank import CrossEncoderReranker
from tests.kbdata import write_folder

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from qa_service.kb.embed import default_model_path

    out = tmp_path_factory.mktemp("cross-encoder")
    torch.manual_seed(7)
    model = AutoModelForSequenceClassification.from_pretrained(default_model_path(), num_labels=1,
                                                               local_files_only=True)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(default_model_path(), local_files_only=True).save_pretrained(out)
    return out


def test_missing_model_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="rerank model not found"):
        CrossEncoderReranker(str(tmp_path / "nowhere"))


def test_retrieve_follows_the_cross_encoder(make_services: Any, tmp_path: Path, cross_encoder_dir: Path) -> None:
    plain = make_services(data_dir=tmp_path / "plain")
    ranked = make_services(data_dir=tmp_path / "ranked",
                           retrieval={"rerank_model_path": str(cross_encoder_dir), "top_k": 4})
    folder = write_folder(tmp_path / "kb")
    for svc in (plain, ranked):
        run_ingest(svc, [folder], "town", publish=True)
    question = "How much does a resident parking permit cost?"

    base = AnswerContext(question=question, tenant="town", channel="citizen", lang="en")
    Retrieve(plain.retriever, plain.settings.retrieval.model_copy(update={"top_k": 20})).run(base)
    fused = [p.chunk_id for p in base.passages]

    ctx = AnswerContext(question=question, tenant="town", channel="citizen", lang="en")
    Retrieve(ranked.retriever, ranked.settings.retrieval).run(ctx)
    reranker = ranked.reranker
    assert reranker is not None
    expected = [fused[i] for i, _ in reranker.order(question, [p.text for p in base.passages])][:4]
    assert expected != fused[:4]  # otherwise this test could not tell reranking from none
    assert [p.chunk_id for p in ctx.passages] == expected
    assert ctx.retrieval is not None and ctx.retrieval.rerank_top is not None
    assert base.retrieval is not None and base.retrieval.rerank_top is None
    assert plain.reranker is None

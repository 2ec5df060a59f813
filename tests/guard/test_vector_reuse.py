"""The question is embedded once per answer: the input guard's similarity layer embeds the whole question and
the curated and retrieve steps take that vector from the context instead of embedding it again (issue 17: the
guard may add at most 10 ms to an answer, which one more embedding would exceed on 2 cores)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from qa_service.answer.service import ask
from qa_service.guard.similarity import SimilarityGuard
from qa_service.ingest.pipeline import run_ingest
from qa_service.settings import GuardSettings
from tests.kbdata import write_folder

pytestmark = pytest.mark.unit


@pytest.fixture(params=[True, False], ids=["similarity_on", "similarity_off"])
def counted(request: pytest.FixtureRequest, make_services: Any, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Counter[str]]:
    """The town KB over the fake embedder, with every text the embedder is given counted."""
    svc = make_services(guard={"similarity_enabled": request.param})
    run_ingest(svc, [write_folder(tmp_path / "kb")], "town", publish=True)
    svc.similarity_guard.warm()  # the exemplars are embedded at start-up, not per answer
    seen: Counter[str] = Counter()
    original = svc.dense.encode

    def encode(texts: Sequence[str], batch_size: int = 32) -> list[list[float]]:
        seen.update(texts)
        return original(texts, batch_size)

    monkeypatch.setattr(svc.dense, "encode", encode)
    return svc, seen


QUESTION = "How much does a resident parking permit cost?"


def test_a_question_is_embedded_once_per_answer(counted: tuple[Any, Counter[str]]) -> None:
    svc, seen = counted
    ctx, out = ask(svc, QUESTION, "town")
    assert ctx.retrieval is not None, out  # the path reached retrieval, which needs the vector
    assert seen[QUESTION] == 1, seen
    if svc.settings.guard.similarity_enabled:
        assert ctx.guard is not None and ctx.guard.similarity is not None  # the layer did score it


def test_each_sentence_of_a_longer_question_is_embedded_once(counted: tuple[Any, Counter[str]]) -> None:
    svc, seen = counted
    question = "I moved to the old town last spring. " + QUESTION
    ctx, _ = ask(svc, question, "town")
    assert ctx.retrieval is not None
    assert seen[question] == 1, seen
    assert all(n == 1 for n in seen.values()), seen  # its sentences (similarity layer) once each, if at all


def test_a_vector_already_known_is_not_embedded_again(fake_dense: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    guard = SimilarityGuard(fake_dense, GuardSettings(similarity_enabled=True))
    guard.warm()
    seen: Counter[str] = Counter()
    original = fake_dense.encode

    def encode(texts: Sequence[str], batch_size: int = 32) -> list[list[float]]:
        seen.update(texts)
        return original(texts, batch_size)

    monkeypatch.setattr(fake_dense, "encode", encode)
    known = {QUESTION: fake_dense.encode_query(QUESTION)}
    seen.clear()
    with_vector = guard.check(QUESTION, dict(known))
    assert sum(seen.values()) == 0  # only dot products with the exemplar matrices
    fresh = guard.check(QUESTION)
    assert seen[QUESTION] == 1
    assert with_vector is not None and fresh is not None
    assert (with_vector.similarity, with_vector.margin) == (fresh.similarity, fresh.margin)

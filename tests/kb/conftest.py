"""Fixtures of the KB tests: the real embedders, loaded once per session."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from tests.conftest import is_unit

if TYPE_CHECKING:
    from qa_service.kb.embed import DenseEmbedder, SparseEmbedder
    from qa_service.kb.types import DenseEncoder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def embedders(request: pytest.FixtureRequest) -> tuple[DenseEncoder, SparseEmbedder]:
    """(dense, SparseEmbedder): the real dense model (loads on first use, once per session), or the fake one
    (qa_service/kb/fake_embed.py) for a ``unit`` test."""
    from qa_service.kb.embed import SparseEmbedder

    if is_unit(request.node):
        return request.getfixturevalue("fake_dense"), SparseEmbedder()
    return request.getfixturevalue("real_dense"), SparseEmbedder()


@pytest.fixture(scope="session")
def real_dense() -> DenseEmbedder:
    from qa_service.kb.embed import DenseEmbedder
    from qa_service.settings import EmbeddingSettings

    return DenseEmbedder(EmbeddingSettings())

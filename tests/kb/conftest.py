"""Fixtures of the KB tests: the real embedders, loaded once per session."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from qa_service.kb.embed import DenseEmbedder, SparseEmbedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def embedders() -> tuple[DenseEmbedder, SparseEmbedder]:
    """(DenseEmbedder, SparseEmbedder) with default settings; the dense model loads on first use."""
    from qa_service.kb.embed import DenseEmbedder, SparseEmbedder
    from qa_service.settings import EmbeddingSettings

    return DenseEmbedder(EmbeddingSettings()), SparseEmbedder()

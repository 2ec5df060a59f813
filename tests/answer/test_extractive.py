"""The extractive generator's sentence-vector cache gives the same vectors as encoding afresh."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from qa_service.answer.generate.extractive import SentenceVectors

pytestmark = pytest.mark.integration


def test_cache_matches_fresh_encoding_and_evicts(shared_models: dict[str, Any]) -> None:
    dense = shared_models["dense"]
    cache = SentenceVectors(dense, capacity=3)
    texts = ["Permits cost 40 dollars.", "办理时限为10个工作日。", "Permits cost 40 dollars.", "Bins go out on Monday."]
    got = cache.encode(texts)
    fresh = np.asarray(dense.encode(texts, 4))
    assert got.shape == fresh.shape
    assert np.allclose(got, fresh, atol=1e-5)
    assert len(cache._cache) == 3
    cache.encode(["A fourth sentence.", "A fifth sentence."])
    assert len(cache._cache) == 3 and "A fifth sentence." in cache._cache

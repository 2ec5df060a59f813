"""Fixtures for the answer-path tests (the scripted OpenAI-compatible server ``fake_llm`` is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eval.suites.sample_sets import ensure_sample_knowledge

REPO = Path(__file__).resolve().parents[2]


def _sample(make_services: Any, tmp_path: Path, tenant: str) -> Any:
    """Services with one tenant of the shipped sample knowledge ingested and live."""
    root = tmp_path / "knowledge"
    root.mkdir()
    (root / tenant).symlink_to(REPO / "knowledge" / tenant, target_is_directory=True)
    svc = make_services(server={"sample_knowledge": str(root)})
    ensure_sample_knowledge(svc)
    return svc


@pytest.fixture
def tax(make_services: Any, tmp_path: Path) -> Any:
    return _sample(make_services, tmp_path, "tax")


@pytest.fixture
def city(make_services: Any, tmp_path: Path) -> Any:
    return _sample(make_services, tmp_path, "city")

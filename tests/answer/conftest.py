"""Fixtures for the answer-path tests: a scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.answer.fake_llm import FakeLlmServer


@pytest.fixture
def fake_llm() -> Iterator[FakeLlmServer]:
    """A started fake chat-completions server (``.base_url`` = http://127.0.0.1:PORT/v1), stopped after."""
    server = FakeLlmServer().start()
    try:
        yield server
    finally:
        server.stop()

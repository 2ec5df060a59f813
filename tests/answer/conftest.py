"""Fixtures for the answer-path tests (the scripted OpenAI-compatible server ``fake_llm`` is in tests/conftest.py)."""

"""The generator interface: passages in, a draft of cited sentences out."""

from __future__ import annotations

from typing import Protocol

from qa_service.answer.context import Draft, Passage


class GeneratorUnavailable(RuntimeError):
    """The backend could not produce a draft (timeout, 5xx, malformed output after retries).

    ``kind`` names the failure for reason codes and metrics: ``timeout``, ``transport``, ``http_<code>``,
    ``malformed``, ``budget`` (the answer's time budget ran out), ``config`` or ``unavailable``."""

    def __init__(self, message: str, kind: str = "unavailable") -> None:
        super().__init__(message)
        self.kind = kind


class Generator(Protocol):
    name: str

    def generate(self, question: str, passages: list[Passage], lang: str) -> Draft:
        """Answer ``question`` only from ``passages``; every sentence cites passage numbers."""
        ...

    def rewrite(self, question: str, history: list[str], lang: str) -> str:
        """Turn a follow-up question into a standalone one."""
        ...

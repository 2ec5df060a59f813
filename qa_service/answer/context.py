"""The one object every answer step reads and writes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qa_service.answer.statuses import ALL_STATUSES, canned


@dataclass
class Passage:
    """A retrieved passage as shown to the generator; ``n`` is its citation number (1-based)."""

    n: int
    chunk_id: str
    source_id: str
    title: str
    text: str
    digest: str
    score: float
    heading: str = ""
    url: str | None = None
    page: int | None = None
    kind: str = "text"
    visibility: str = "public"
    language: str | None = None
    expiry: int | None = None

    def snapshot(self) -> dict[str, Any]:
        return {"n": self.n, "chunk_id": self.chunk_id, "digest": self.digest, "text": self.text,
                "score": round(self.score, 6), "title": self.title}


@dataclass
class Sentence:
    """One answer sentence and the passage numbers it cites."""

    text: str
    cites: list[int]
    support: float | None = None


@dataclass
class Draft:
    """What a generator returns."""

    sentences: list[Sentence]
    completeness: str = "full"  # full | partial | none
    model: str | None = None
    prompt_hash: str | None = None
    raw_output: str | None = None


@dataclass
class AnswerContext:
    """A question on its way to an answer."""

    question: str
    tenant: str
    channel: str = "citizen"  # citizen | staff
    lang: str = "auto"  # zh | en; "auto" = detected by the input guard
    qid: str | None = None
    conversation_id: str | None = None
    history: list[str] = field(default_factory=list)  # earlier questions in the conversation
    exclude_sources: list[str] = field(default_factory=list)  # evaluation hold-out: act as if these were absent
    trace_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    standalone: str | None = None
    status: str | None = None
    message: str = ""
    draft: Draft | None = None
    passages: list[Passage] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    risk_level: str = "low"
    risk_reasons: list[str] = field(default_factory=list)
    signals: dict[str, Any] = field(default_factory=dict)  # retrieval confidence, margin, guard verdicts
    kb_version: int | None = None
    generator: str = "extractive"
    timings_ms: dict[str, float] = field(default_factory=dict)
    stopped: bool = False
    ticket: str | None = None
    # streaming: receives each checked answer sentence (with its [n] markers) as a generating model completes it
    on_sentence: Callable[[str], None] | None = field(default=None, repr=False, compare=False)

    @property
    def query(self) -> str:
        """The text to retrieve with: the standalone rewrite when there is one."""
        return self.standalone or self.question

    def stop(self, status: str, *reasons: str) -> None:
        """End the path with a status from the closed vocabulary and its canned message."""
        if status not in ALL_STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self.status = status
        self.message = canned(status, self.lang)
        self.stopped = True
        for r in reasons:
            if r not in self.risk_reasons:
                self.risk_reasons.append(r)

    def add_reason(self, reason: str) -> None:
        if reason not in self.risk_reasons:
            self.risk_reasons.append(reason)

    @property
    def answer_text(self) -> str:
        sep = "" if self.lang == "zh" else " "
        return sep.join(f"{s.text}{''.join(f'[{n}]' for n in s.cites)}" for s in self.sentences)

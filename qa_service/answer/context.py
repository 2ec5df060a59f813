"""The one object every answer step reads and writes, and the typed results the steps hand on.

Each step sets its own result on the context (the guard a :class:`GuardVerdict`, retrieve a
``RetrievalResult``, generate a :class:`Screening` and the draft, risk a :class:`RiskAssessment`, route a
:class:`RouteDecision`); later steps read those fields, never a loose dictionary. ``signals`` is a read-only
view of the same figures under the names the stored record, the audit and the evaluation reports use.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from qa_service.answer.statuses import ALL_STATUSES, CANNOT_ANSWER, NO_CONTENT, canned

if TYPE_CHECKING:
    from qa_service.kb.places import PlaceCheck
    from qa_service.kb.retriever import RetrievalResult
    from qa_service.place import Place

#: the statuses that only say "no answer from the knowledge": the route step may still name the question out of
#: scope (any other stop — a block, an error, a curated answer — is final)
DECLINES = (NO_CONTENT, CANNOT_ANSWER)


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
    effective: int = 0
    place: Place | None = None  # where its source applies (None: names no place, applies everywhere)
    office: str | None = None  # its source's issuing office
    section_type: str = ""  # the section's type by its heading (qa_service/ingest/sections.py); "" when untyped
    via: int | None = None  # not retrieved: a section of the guide of retrieved passage ``via``, added beside it

    def snapshot(self) -> dict[str, Any]:
        return {"n": self.n, "chunk_id": self.chunk_id, "digest": self.digest, "text": self.text,
                "score": round(self.score, 6), "title": self.title}


@dataclass
class Sentence:
    """One answer sentence and the passage numbers it cites."""

    text: str
    cites: list[int]
    support: float | None = None
    line: bool = False  # starts a line of its own (a line of a section quoted whole)


@dataclass
class Draft:
    """What a generator returns."""

    sentences: list[Sentence]
    completeness: str = "full"  # full | partial | none
    model: str | None = None
    prompt_hash: str | None = None
    raw_output: str | None = None
    units: int | None = None  # sections of a guide a composed answer quotes (None: sentences chosen one by one)


@dataclass
class GuardVerdict:
    """What the input guard found (``status`` None: the question passed)."""

    status: str | None = None
    reasons: list[str] = field(default_factory=list)
    pii: list[str] = field(default_factory=list)  # kinds of personal data redacted from the question
    unicode_removed: Any = None  # what normalisation removed (zero-width, tag characters ...)
    decoded_payloads: int = 0
    similarity: dict[str, Any] | None = None  # nearest attack exemplar: similarity, margin, family


@dataclass
class Screening:
    """Passages screened before generation: sentences cut for instructing the model, passages dropped."""

    cut: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class LlmRejection:
    """A model draft that was not shown (the extractive answer was): kept for the record and the audit."""

    kind: str
    model: str | None
    prompt_hash: str | None
    raw_output: str | None


@dataclass
class RiskAssessment:
    """The risk step's figures (the level and reasons are on the context: every step may add a reason)."""

    level: str
    confidence: float
    margin: float | None = None
    p_wrong: float | None = None  # the calibrated probability that the answer is wrong (answer/confidence.py)
    features: dict[str, float] = field(default_factory=dict)  # that estimate's inputs


@dataclass
class Scope:
    """Whether a declined question is outside the tenant's remit."""

    far: bool
    why: str
    cue: bool


@dataclass
class RouteDecision:
    """The final decision: status, whether it goes to review (``held`` / ``sampled``), the scope judgement."""

    status: str
    review: str | None = None
    scope: Scope | None = None
    ticket: str | None = None
    message: str | None = None  # replaces the status's canned message (a decline with the tenant's contact line)


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
    # this turn on its own (greetings and thanks removed) when ``standalone`` rewrote it with the conversation's
    # topic: what the turn asks for (a fee, a deadline, an overview) is read from it, the topic from the rewrite
    turn: str | None = None
    status: str | None = None
    message: str = ""
    draft: Draft | None = None
    passages: list[Passage] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    risk_level: str = "low"
    risk_reasons: list[str] = field(default_factory=list)
    guard: GuardVerdict | None = None
    vectors: dict[str, list[float]] = field(default_factory=dict, repr=False)  # text -> its query vector
    curated_score: float | None = None
    curated_id: str | None = None
    curated_by_staff: bool = True  # staff wrote the curated text (False: an AI draft approved as it was)
    retrieval: RetrievalResult | None = None
    place: PlaceCheck | None = None  # the place, office and year the question names; other places' sources kept out
    screening: Screening | None = None
    llm_endpoint: str | None = None
    rejection: LlmRejection | None = None
    verifier: str | None = None  # the verifier's reason string when one ran
    risk: RiskAssessment | None = None
    route: RouteDecision | None = None
    notes: dict[str, Any] = field(default_factory=dict)  # for steps outside the package (evaluation)
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

    def conclude(self, decision: RouteDecision) -> None:
        """The route step's decision becomes the question's status. A decline (no content, cannot answer) may
        become ``out_of_scope``; any other earlier stop is final and must be the decision's status."""
        if self.stopped and self.status not in DECLINES and decision.status != self.status:
            raise ValueError(f"route cannot change the final status {self.status!r} to {decision.status!r}")
        if decision.status != self.status:
            self.stop(decision.status)
        self.route = decision
        if decision.ticket:
            self.ticket = decision.ticket
        if decision.message:
            self.message = decision.message

    def add_reason(self, reason: str) -> None:
        if reason not in self.risk_reasons:
            self.risk_reasons.append(reason)

    @property
    def signals(self) -> Mapping[str, Any]:
        """A read-only view of the steps' figures by their stored names (record, audit, evaluation reports)."""
        out: dict[str, Any] = {}
        g = self.guard
        if g is not None:
            if g.unicode_removed:
                out["unicode_removed"] = g.unicode_removed
            if g.pii:
                out["pii"] = g.pii
            if g.decoded_payloads:
                out["decoded_payloads"] = g.decoded_payloads
            if g.similarity is not None:
                out["guard_similarity"] = g.similarity
            if g.reasons and g.status is not None:
                out["guard"] = g.reasons
        if self.vectors:
            text, vec = next(reversed(self.vectors.items()))
            out["query_vector"], out["query_vector_text"] = vec, text
        if self.curated_score is not None:
            out["curated_best"] = self.curated_score
        if self.curated_id is not None:
            out["curated_id"] = self.curated_id
        if self.retrieval is not None:
            out.update(self.retrieval.signals())
        if self.place is not None and self.place.asked.any:
            out["place"] = self.place.signals()
        if self.screening is not None:
            if self.screening.cut:
                out["cut_sentences"] = self.screening.cut
            if self.screening.dropped:
                out["dropped_passages"] = self.screening.dropped
        if self.llm_endpoint:
            out["llm_endpoint"] = self.llm_endpoint
        if self.rejection is not None:
            r = self.rejection
            out["llm_rejected"] = {"kind": r.kind, "model": r.model, "prompt_hash": r.prompt_hash,
                                   "raw_output": r.raw_output}
        if self.verifier is not None:
            out["verifier"] = self.verifier
        if self.risk is not None:
            out["confidence"] = self.risk.confidence
            if self.risk.margin is not None:
                out["margin"] = self.risk.margin
            if self.risk.p_wrong is not None:
                out["p_wrong"] = self.risk.p_wrong
            if self.risk.features:
                out["confidence_features"] = self.risk.features
        if self.route is not None:
            if self.route.scope is not None:
                sc = self.route.scope
                out["scope"] = {"far": sc.far, "why": sc.why, "cue": sc.cue}
            if self.route.review:
                out["review"] = self.route.review
        return MappingProxyType(out)

    @property
    def answer_text(self) -> str:
        """The sentences with their [n] markers; a list item, table or label line starts a line of its own (light
        Markdown the widget and the console render), other sentences run on."""
        sep = "" if self.lang == "zh" else " "
        out: list[str] = []
        prev_block = False
        for s in self.sentences:
            block = is_block(s.text)
            if out:
                out.append("\n" if block or prev_block or s.line else sep)
            out.append(f"{s.text}{''.join(f'[{n}]' for n in s.cites)}")
            prev_block = block
        return "".join(out)


_BLOCK = re.compile(r"^\s*(?:[-*•]\s|\d{1,3}[.)]\s|[（(]\d{1,2}[）)]|\||\*\*|#{1,6}\s)")


def is_block(text: str) -> bool:
    """A Markdown line of its own: a list item, a table, a bold label or a heading."""
    return bool(_BLOCK.match(text)) or "\n" in text.strip()

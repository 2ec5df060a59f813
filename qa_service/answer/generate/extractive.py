"""The offline default generator: it answers with the knowledge's own units, each cited — so it cannot invent facts.

A matching FAQ entry gives its whole answer; else a question about one element of a service gets that section of
the best guide whole, and a broad "how do I apply for X" an overview of that guide (answer/generate/compose.py,
``generate.compose_units``); else (a document without typed sections, a question about something else) it selects
sentences of the top retrieved passages that answer the question and composes them, as follows.

Relevance = embedding similarity (loaded model) blended with lexical overlap; the blend leans on
lexical overlap for Chinese because the default model is English-only (``generate.semantic_weight``).
Only the ``generate.max_encoded_sentences`` candidates best by overlap and passage rank are embedded.
Sentences that state the kind of fact the question asks for (a duration for "how long", an amount for "how much";
qa_service/answer/answer_types.py) rank higher by ``generate.answer_type_bonus``; the bonus orders sentences but
does not lift one over the relevance floor. Selection is greedy with a redundancy penalty (MMR-like); when no chosen
sentence states the asked kind of fact, the best one that does (above half the floor) is added; the chosen sentences
keep source order. An FAQ passage whose question matches returns its answer, unless the question asks for a kind of
fact that answer lacks, or asks broadly how to get something done while the entry asks one narrow thing — then the
guide's sections or the sentences are chosen instead, which can also end with nothing to quote.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

import numpy as np
from rapidfuzz import fuzz

from qa_service.answer.answer_types import asked_types, asks_broadly, stated_types
from qa_service.answer.context import Draft, Passage, Sentence
from qa_service.answer.generate.compose import Composer
from qa_service.answer.text import overlap, split_sentences, terms
from qa_service.kb.embed import DenseEmbedder
from qa_service.kb.sentence_vectors import candidate_sentences
from qa_service.settings import GenerateSettings
from qa_service.text import is_chinese

log = logging.getLogger(__name__)


class SentenceVectors:
    """LRU cache of sentence embeddings in front of the dense embedder: passages recur across questions, their
    sentences need encoding once (a KB version is immutable, so a sentence's vector never changes). Below it the
    dense embedder's vector cache holds the vectors ingestion made (kb/sentence_vectors.py), so a sentence of an
    ingested passage is read, not embedded, even on its first question."""

    def __init__(self, dense: DenseEmbedder, capacity: int = 50_000) -> None:
        self.dense = dense
        self.capacity = capacity
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def encode(self, sentences: list[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(s for s in sentences if s not in self._cache))
        if missing:
            # small batches: a batch is padded to its longest sentence, and on CPU the padding costs more
            # than the extra calls (16 Chinese sentences: 175 ms in one batch of 64, 132 ms in batches of 8)
            fresh = np.asarray(self.dense.encode(missing, 8))
            with self._lock:
                for text, vec in zip(missing, fresh, strict=True):
                    self._cache[text] = vec
                while len(self._cache) > self.capacity:
                    self._cache.popitem(last=False)
        with self._lock:
            rows = []
            for s in sentences:
                vec = self._cache.get(s)
                if vec is None:  # evicted meanwhile by another thread
                    vec = np.asarray(self.dense.encode([s], 1)[0])
                else:
                    self._cache.move_to_end(s)
                rows.append(vec)
        return np.vstack(rows)


class ExtractiveGenerator:
    name = "extractive"

    def __init__(self, dense: DenseEmbedder, settings: GenerateSettings, max_passages: int = 4) -> None:
        self.dense = dense
        self.settings = settings
        self.max_passages = max_passages
        self.vectors = SentenceVectors(dense)
        self.composer = Composer(settings.overview_lines, settings.overview_min_sections) \
            if settings.compose_units else None

    def rewrite(self, question: str, history: list[str], lang: str) -> str:
        return f"{history[-1]} {question}" if history else question

    def generate(self, question: str, passages: list[Passage], lang: str,
                 query_vector: list[float] | None = None, intent: str | None = None) -> Draft:
        """``intent``: the latest turn on its own when ``question`` is a follow-up rewritten with the conversation's
        topic; the kind of fact asked for and whether the question is broad are read from it (the topic, the
        terms and the vector from ``question``)."""
        zh = is_chinese(question)
        qterms = terms(question)
        asking = intent or question
        qvec = np.asarray(query_vector if query_vector is not None else self.dense.encode_query(question))
        wanted = asked_types(asking) if self.settings.answer_type_bonus > 0 else set()  # 0: answer types off
        faq = self._faq_answer(question, qterms, qvec, passages, zh, wanted, asking)
        if faq is not None:
            return faq
        if self.composer is not None:
            composed = self.composer.compose(question, passages, intent=intent)
            if composed is not None:
                return Draft(composed.sentences, completeness="full", model=self.dense.model_id,
                             units=composed.sections)
        cands: list[tuple[int, int, str]] = []  # (passage n, position, sentence)
        headings: list[str] = []  # the numbered section heading above each candidate in its passage
        for p in [p for p in passages if p.via is None][: self.max_passages]:
            title = p.title.strip().lower()
            # the sentences whose vectors ingestion stored (kb/sentence_vectors.py); never an FAQ's question
            for i, (sent, heading) in enumerate(candidate_sentences(p.text, p.kind)):
                if title and fuzz.ratio(sent.lower(), title) >= 90:
                    continue  # the document's title names it, it does not answer
                cands.append((p.n, i, sent))
                headings.append(heading)
        if not cands:
            return Draft([], completeness="none")
        lang = "zh" if zh else "en"
        w_sem = float(self.settings.semantic_weight.get(lang, 0.0))
        rank_bonus = {p.n: 0.08 * (1 - i / max(1, len(passages))) for i, p in enumerate(passages)}
        lexical = [self._lexical(qterms, c[2], h) for c, h in zip(cands, headings, strict=True)]
        bonus = [self._type_bonus(wanted, c[2]) for c in cands]
        sims = np.zeros(len(cands), dtype=np.float32)
        if w_sem > 0:  # embed only the most promising candidates: the encoder is most of this step's time
            cap = max(1, int(self.settings.max_encoded_sentences.get(lang, 16)))
            pick = sorted(range(len(cands)),
                          key=lambda i: -(lexical[i] + rank_bonus.get(cands[i][0], 0.0) + bonus[i]))[:cap]
            vecs = self.vectors.encode([cands[i][2] for i in pick])
            sims[pick] = vecs @ qvec
        scores = [
            w_sem * float(sims[i]) + (1 - w_sem) * lexical[i] + rank_bonus.get(c[0], 0.0)
            for i, c in enumerate(cands)
        ]
        chosen: list[int] = []
        order = sorted(range(len(cands)), key=lambda i: -(scores[i] + bonus[i]))
        for i in order:
            if len(chosen) >= self.settings.max_sentences:
                break
            if scores[i] < self.settings.min_relevance and chosen:
                break
            if scores[i] < self.settings.min_relevance * 0.8:
                # the search ends at the first candidate, in score + bonus order, under the floor. Skipping it
                # instead (it hid '每月25日前自动扣款' behind a bonus-lifted FAQ date) also answered questions
                # about offices the knowledge has no document for (tests/eval/test_place_suite.py): kept
                break
            if any(fuzz.ratio(cands[i][2], cands[j][2]) > 75 for j in chosen):
                continue
            chosen.append(i)
        if not chosen:
            return Draft([], completeness="none")
        if wanted and not any(bonus[chosen_i] for chosen_i in chosen):
            self._add_typed(chosen, order, cands, scores, bonus)
        chosen.sort(key=lambda i: (cands[i][0], cands[i][1]))
        sentences = [Sentence(cands[i][2], [cands[i][0]]) for i in chosen]
        best = max(scores[i] for i in chosen)
        return Draft(sentences, completeness="full" if best >= self.settings.min_relevance else "partial",
                     model=self.dense.model_id)

    def _add_typed(self, chosen: list[int], order: list[int], cands: list[tuple[int, int, str]], scores: list[float],
                   bonus: list[float]) -> None:
        """The question asks for a kind of fact (a duration, an amount ...) that no chosen sentence states: add the
        best-ranked candidate that states it, if it clears half the relevance floor (it replaces the last chosen
        sentence when the answer is full)."""
        floor = self.settings.min_relevance * 0.5
        for i in order:
            if bonus[i] <= 0 or scores[i] < floor or i in chosen:
                continue
            if any(fuzz.ratio(cands[i][2], cands[j][2]) > 75 for j in chosen):
                continue
            if len(chosen) >= self.settings.max_sentences:
                chosen.pop()
            chosen.append(i)
            return

    @staticmethod
    def _same_kind(faq_asks: set[str], wanted: set[str], answer: str) -> bool:
        """An FAQ entry answers the question only if it asks for no kind of fact the question does not ("how early
        can I renew?" is no answer to "it expired, can I still renew?"), for at least one it does ("can I apply
        after 4 months?" is no answer to "how long does it take?"), and its answer states every kind asked
        (a compound "how long, and is there a fee?" needs both)."""
        if faq_asks - wanted:
            return False
        return not wanted or (bool(faq_asks & wanted) and stated_types(answer, wanted) == wanted)

    def _lexical(self, qterms: set[str], sentence: str, heading: str) -> float:
        """Term overlap of the sentence, plus ``generate.heading_weight`` of the question terms that only its
        section heading carries ("At the lower limit this is 1,293.98 yuan a month" under "3. Flexibly employed
        people")."""
        if not qterms:
            return 0.0
        own = qterms & terms(sentence)
        score = len(own) / len(qterms)  # overlap(), with the sentence's terms computed once
        if heading and self.settings.heading_weight > 0:
            score += self.settings.heading_weight * len((qterms & terms(heading)) - own) / len(qterms)
        return min(1.0, score)

    def _type_bonus(self, wanted: set[str], sentence: str) -> float:
        if not wanted:
            return 0.0
        return float(self.settings.answer_type_bonus) * len(stated_types(sentence, wanted)) / len(wanted)

    def _faq_answer(self, question: str, qterms: set[str], qvec: np.ndarray, passages: list[Passage],
                    zh: bool, wanted: set[str], asking: str) -> Draft | None:
        for p in passages[:3]:
            if p.kind != "faq":
                continue
            q, _, a = p.text.partition("\n")
            if not a.strip():
                continue
            if self.settings.answer_type_bonus > 0 and not self._same_kind(asked_types(q), wanted, a):
                continue  # it asks for, or states, other kinds of fact than this question wants
            if self.composer is not None and asks_broadly(asking) and not asks_broadly(q):
                continue  # "what do we need to do?" is not answered by one narrow entry ("how old must we be?")
            lexical = max(overlap(qterms, q), fuzz.token_set_ratio(question, q) / 100 * 0.8)
            sem = float(self.vectors.encode([q])[0] @ qvec)
            score = 0.3 * sem + 0.7 * lexical if zh else 0.6 * sem + 0.4 * lexical
            if score >= 0.55:
                sents = split_sentences(a) or [a.strip()]
                return Draft([Sentence(s, [p.n]) for s in sents], completeness="full", model=self.dense.model_id)
        return None

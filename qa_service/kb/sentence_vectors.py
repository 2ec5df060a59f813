"""Sentence vectors made at ingestion, read at answer time.

The extractive generator compares a question with single sentences of the retrieved passages (and an FAQ entry's
question with the asked one). Embedding those sentences while answering is most of an answer's time on 2 cores
(a 4-bit e5 spends ~1 ms per Chinese character), yet a KB version is immutable: the same sentences can be embedded
once, when their passage is. :func:`prefill` does that during the build for every newly embedded passage, into the
dense-vector cache (kb/vector_cache.py, keyed by model id, side and text), and the answer path's ``encode`` then
reads them from it. :func:`candidate_sentences` is the one definition of which sentences those are; the generator
iterates the same function, so the two cannot drift apart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from qa_service.answer.text import split_sections

log = logging.getLogger(__name__)

#: a sentence outside these lengths is never compared (too short to answer, too long to be one sentence)
MIN_CHARS, MAX_CHARS = 4, 400
#: sentences per encode call: a batch is padded to its longest text, and on CPU the padding costs more than calls
BATCH = 8


def candidate_sentences(text: str, kind: str) -> list[tuple[str, str]]:
    """(sentence, numbered heading above it) of a passage that the extractive answer may quote; an FAQ entry's
    question line is not quoted (its answer is)."""
    body = text.partition("\n")[2] if kind == "faq" else text
    return [(s, h) for s, h in split_sections(body) if MIN_CHARS <= len(s) <= MAX_CHARS]


def passage_sentences(text: str, kind: str) -> list[str]:
    """Every text of one passage the answer path embeds on the passage side: its candidate sentences and, for an
    FAQ entry, its question line."""
    out = [s for s, _ in candidate_sentences(text, kind)]
    if kind == "faq":
        question = text.partition("\n")[0]
        if question.strip():
            out.append(question)
    return list(dict.fromkeys(out))


def prefill(dense: Any, payloads: Iterable[Mapping[str, Any]]) -> int:
    """Embed the sentences of these chunk payloads into ``dense``'s vector cache (nothing without a cache: the
    vectors would be thrown away; nothing when ``embedding.sentence_vectors`` is off). Returns how many sentences
    were asked for."""
    if getattr(dense, "cache", None) is None or not getattr(dense.settings, "sentence_vectors", True):
        return 0
    texts: list[str] = []
    for pl in payloads:
        texts.extend(passage_sentences(str(pl.get("text") or ""), str(pl.get("kind") or "text")))
    unique = list(dict.fromkeys(texts))
    if unique:
        dense.encode(unique, BATCH)
    log.debug("sentence vectors prefilled sentences=%d", len(unique))
    return len(unique)

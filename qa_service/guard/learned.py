"""The input guard's learned detector: logistic regression over character n-gram TF-IDF features (zh and en).

Trained offline by ``python -m eval.train_guard`` on the train splits of the public sets and the project's
exemplars; the weights ship next to this file as ``model/guard_lr.npz`` (vocabulary, idf, coefficients,
threshold — plain arrays, loaded with ``allow_pickle=False``) with its sha256 in ``guard_lr.npz.sha256``
and the training data's provenance in ``guard_lr.provenance.json``. The model is loaded lazily once per
process and refused when its checksum does not match; nothing is trained at run time.

A question is scored whole and sentence by sentence (an attack is often one sentence after an innocent
question); the highest-scoring piece is reported as the span that tripped the detector.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa_service.text import Splitter

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).with_name("model")
MODEL = MODEL_DIR / "guard_lr.npz"
_WHITESPACE = re.compile(r"\s\s+")
#: Sentences (qa_service/text.py, ending also without a space after, and at a literal "\n" typed into the
#: question); pieces shorter than 12 characters are not scored.
_SENTENCES = Splitter(glued=True)
MIN_PIECE = 12


class ModelIntegrityError(RuntimeError):
    """The shipped weights do not match their recorded checksum (or are missing)."""


def char_ngrams(text: str, ngram_range: tuple[int, int] = (1, 4)) -> list[str]:
    """Character n-grams inside word boundaries, padded with a space — scikit-learn's ``char_wb`` analyser
    with lower-casing (so the training side can pass this function as its analyser and both sides agree)."""
    lo, hi = ngram_range
    out: list[str] = []
    for word in _WHITESPACE.sub(" ", text.lower()).split():
        w = f" {word} "
        size = len(w)
        for n in range(lo, hi + 1):
            if size <= n:
                out.append(w)
                break
            out.extend(w[i:i + n] for i in range(size - n + 1))
    return out


@dataclass(frozen=True)
class Piece:
    """A scored part of the text: offsets into the text given to :meth:`LearnedGuard.check`."""

    start: int
    end: int
    probability: float


@dataclass(frozen=True)
class LearnedVerdict:
    blocked: bool
    probability: float  # the highest piece's
    threshold: float
    span: Piece  # the piece with the highest probability


def pieces(text: str) -> list[tuple[int, int]]:
    """(start, end) of the whole text and of each sentence of at least ``MIN_PIECE`` characters."""
    out = [(0, len(text))]
    for start, end in _SENTENCES.spans(text.replace("\\n", "\n ")):  # same length: offsets stay
        if end - start >= MIN_PIECE and (start, end) != (0, len(text)):
            out.append((start, end))
    return out


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class LearnedGuard:
    """Weights of one trained model and the scoring that matches the training side exactly."""

    def __init__(self, vocab: list[str], idf: np.ndarray, coef: np.ndarray, intercept: float, threshold: float,
                 ngram_range: tuple[int, int] = (1, 4), sublinear_tf: bool = True, max_chars: int = 4000) -> None:
        self.index = {t: i for i, t in enumerate(vocab)}
        self.idf = np.asarray(idf, dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.weight = self.coef * self.idf  # per-term contribution before normalisation
        self.intercept = float(intercept)
        self.threshold = float(threshold)
        self.ngram_range = ngram_range
        self.sublinear_tf = sublinear_tf
        self.max_chars = max_chars

    @classmethod
    def load(cls, path: Path = MODEL) -> LearnedGuard:
        """Load ``path`` after checking it against ``<path>.sha256``; never unpickles."""
        sha_file = path.with_name(path.name + ".sha256")
        if not path.is_file() or not sha_file.is_file():
            raise ModelIntegrityError(f"learned guard model missing: {path} / {sha_file.name}")
        expected = sha_file.read_text(encoding="utf-8").split()[0]
        actual = file_sha256(path)
        if actual != expected:
            raise ModelIntegrityError(f"{path}: sha256 {actual} does not match {expected}")
        with np.load(path, allow_pickle=False) as z:
            lo, hi = (int(x) for x in z["ngram_range"])
            guard = cls([str(t) for t in z["vocab"]], z["idf"], z["coef"], float(z["intercept"]),
                        float(z["threshold"]), (lo, hi), bool(z["sublinear_tf"]), int(z["max_chars"]))
        log.info("learned_guard_loaded path=%s terms=%d threshold=%.4f sha256=%s", path.name, len(guard.index),
                 guard.threshold, actual[:12])
        return guard

    def logit(self, text: str) -> float:
        """w·x + b for one text, x its l2-normalised TF-IDF vector over the model's vocabulary."""
        counts = Counter(i for i in map(self.index.get, char_ngrams(text, self.ngram_range)) if i is not None)
        if not counts:
            return self.intercept
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        if self.sublinear_tf:
            tf = 1.0 + np.log(tf)
        norm = float(np.sqrt(np.sum((tf * self.idf[idx]) ** 2)))
        return self.intercept + float(tf @ self.weight[idx]) / norm

    def probability(self, text: str) -> float:
        return 1.0 / (1.0 + math.exp(-self.logit(text[:self.max_chars])))

    def check(self, text: str) -> LearnedVerdict:
        """Score the text whole and by sentence; blocked when the highest piece reaches the threshold."""
        text = text[:self.max_chars]
        scored = [Piece(s, e, self.probability(text[s:e])) for s, e in pieces(text)]
        best = max(scored, key=lambda p: p.probability)
        return LearnedVerdict(best.probability >= self.threshold, round(best.probability, 4), self.threshold, best)


_LOCK = threading.Lock()
_LOADED: dict[Path, LearnedGuard] = {}


def default_guard(path: Path = MODEL) -> LearnedGuard:
    """The shipped model, loaded (and checksum-verified) once per process on first use."""
    guard = _LOADED.get(path)
    if guard is None:
        with _LOCK:
            guard = _LOADED.get(path)
            if guard is None:
                guard = _LOADED[path] = LearnedGuard.load(path)
    return guard

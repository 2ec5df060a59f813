"""The input guard's similarity layer: is a question (or one of its sentences) much closer to a known attack
family than to any ordinary citizen's question?

The exemplars are project-written lines (``exemplars.yaml`` next to this file, grouped by attack family,
plus benign service questions in en/de/zh). They are embedded once with the project's dense embedder
(``services.dense``, multilingual e5-small by default), kept on disk by model and exemplar set and loaded at
start-up (``warm``); nothing happens at import time. A question is split into its whole text and up to
``max_segments`` sentences; each piece is scored by its nearest attack exemplar against its nearest benign
exemplar, and blocked when both the similarity and the margin clear the thresholds in ``settings.guard``
(per language: en, de, zh; chosen on the dev splits, eval/reports/2026-12-04-guard). The whole question's
vector is the one the rest of the answer path uses: it is embedded once, so the layer itself costs the other
sentences' embeddings and the dot products with the exemplar matrices.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from qa_service.settings import GuardSettings
from qa_service.text import Splitter, is_chinese

if TYPE_CHECKING:
    from qa_service.kb.embed import DenseEmbedder

log = logging.getLogger(__name__)
EXEMPLARS = Path(__file__).with_name("exemplars.yaml")
#: the guard's sentences: colons end one too ("Note: ignore..."), and so does a period without a space after
_SENTENCES = Splitter(colon=True, glued=True)
_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"\w+")
_GERMAN = re.compile(r"(?i)[äöüß]|\b(?:der|die|das|und|ich|ist|nicht|wie|was|ein|eine|sie|du|mit|für|auf|wird|sind|"
                     r"mir|dir|bitte|kann|gibt|es)\b")


@dataclass(frozen=True)
class Exemplars:
    attack: tuple[tuple[str, str], ...]  # (family, text)
    benign: tuple[str, ...]

    @property
    def families(self) -> set[str]:
        return {f for f, _ in self.attack}


def _line(item: Any) -> str:
    """One exemplar line; an unquoted ``a: b`` line that YAML read as a mapping is put back together."""
    if isinstance(item, dict):
        return " ".join(f"{k}: {v}" for k, v in item.items()).strip()
    return str(item).strip()


@lru_cache(maxsize=4)
def load_exemplars(path: Path = EXEMPLARS) -> Exemplars:
    """The exemplar file: ``attack: {family: [lines]}`` and ``benign: {lang: [lines]}``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    attack = tuple((str(fam), t) for fam, lines in (data.get("attack") or {}).items()
                   for t in map(_line, lines or []) if t)
    benign = tuple(t for lines in (data.get("benign") or {}).values() for t in map(_line, lines or []) if t)
    if not attack or not benign:
        raise ValueError(f"{path}: the exemplar file needs both attack and benign lines")
    return Exemplars(attack, benign)


def piece_language(text: str) -> str:
    """``zh``, ``de`` or ``en`` (any other Latin-script text) — which thresholds apply to a piece."""
    if is_chinese(text):
        return "zh"
    return "de" if len(_GERMAN.findall(text)) >= 2 else "en"


def segments(text: str, max_segments: int, max_chars: int) -> list[str]:
    """The whole text (capped) and its sentences, longest-first capped at ``max_segments`` in total.

    Attacks are often one sentence appended to an innocent question, so each sentence is judged alone too.
    """
    whole = " ".join(text.split())[:max_chars]
    if not whole:
        return []
    out = [whole]
    # a typed "\n" (backslash, n) ends a sentence too; replaced by two characters, so offsets stay
    parts = [p.strip(" \"'“”„«»-*#>") for p in _SENTENCES.split(whole.replace("\\n", "\n "))]
    seen = {whole}
    for p in parts:
        if p in seen:
            continue
        cjk = len(_CJK.findall(p))
        if cjk < 4 and len(_WORD.findall(p)) < 3:
            continue
        seen.add(p)
        out.append(p)
        if len(out) >= max_segments:
            break
    if len(out) == 2:  # one sentence long enough to judge alone: the rest are fragments ("Thanks.", "谢谢。"), so
        return out[:1]  # the whole text is that sentence; a second encoding of it would only cost time
    return out


_MATRICES: dict[tuple[str, int, Exemplars], tuple[Any, Any]] = {}
_MATRICES_LOCK = threading.Lock()


def _cache_file(cache_dir: Path, model_id: str, ex: Exemplars) -> Path:
    """The file holding one model's vectors of one exemplar set: named by a hash of both, so an edited exemplar
    file or another model never reads stale vectors."""
    h = hashlib.sha256(model_id.encode("utf-8"))
    for text in (*ex.benign, *(f"{family}\t{text}" for family, text in ex.attack)):
        h.update(b"\0" + text.encode("utf-8"))
    return cache_dir / f"guard-exemplars-{h.hexdigest()[:24]}.npz"


def _exemplar_matrices(dense: DenseEmbedder, ex: Exemplars, cache_dir: Path | None = None) -> tuple[Any, Any]:
    """(attack, benign) exemplar vectors, embedded once per process for each model and exemplar set
    (several Services in one process — tests, the eval harness — share them) and, with ``cache_dir``, kept on disk
    so a new process loads them instead of embedding some 600 texts before its first answer."""
    model_id = str(getattr(dense, "model_id", dense.model_path))
    key = (model_id, id(dense), ex)
    with _MATRICES_LOCK:
        hit = _MATRICES.get(key)
        if hit is not None:
            return hit
        path = _cache_file(cache_dir, model_id, ex) if cache_dir is not None else None
        if path is not None and path.exists():
            try:
                with np.load(path) as z:
                    hit = (z["attack"], z["benign"])
            except (OSError, ValueError, KeyError) as exc:  # a torn or foreign file: embed again and replace it
                log.warning("guard exemplar cache unreadable path=%s error=%s", path, exc)
                hit = None
            if hit is not None and (len(hit[0]) != len(ex.attack) or len(hit[1]) != len(ex.benign)):
                hit = None
        if hit is None:
            benign = np.asarray(dense.encode_queries(list(ex.benign)), dtype=np.float32)
            attack = np.asarray(dense.encode_queries([t for _, t in ex.attack]), dtype=np.float32)
            hit = (attack, benign)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
                np.savez(tmp, attack=attack, benign=benign)
                tmp.replace(path)  # atomic: another process sees the whole file or none
                log.info("guard exemplar vectors cached path=%s attack=%d benign=%d", path, len(attack), len(benign))
        _MATRICES[key] = hit
        return hit


@dataclass
class Match:
    """The nearest attack exemplar to the most suspicious piece of the question."""

    blocked: bool
    family: str | None
    similarity: float  # to the nearest attack exemplar
    margin: float  # that similarity minus the nearest benign exemplar's
    segment: str
    exemplar: str | None


class SimilarityGuard:
    """Nearest-neighbour similarity to attack versus benign exemplars; the matrices are built on first use."""

    def __init__(self, dense: DenseEmbedder, settings: GuardSettings | None = None,
                 exemplars: Exemplars | None = None, cache_dir: Path | None = None) -> None:
        self.dense = dense
        self.cache_dir = cache_dir
        self.settings = settings or GuardSettings()
        self._exemplars = exemplars
        self._lock = threading.Lock()
        self._attack: Any = None
        self._benign: Any = None

    @property
    def exemplars(self) -> Exemplars:
        if self._exemplars is None:
            self._exemplars = load_exemplars(Path(self.settings.exemplars_path or EXEMPLARS))
        return self._exemplars

    def _matrices(self) -> tuple[Any, Any]:
        if self._attack is None:
            with self._lock:
                if self._attack is None:
                    self._attack, self._benign = _exemplar_matrices(self.dense, self.exemplars, self.cache_dir)
        return self._attack, self._benign

    def warm(self) -> None:
        """Embed (or load) the exemplar vectors now rather than on the first question."""
        if self.settings.similarity_enabled:
            self._matrices()

    def scores(self, pieces: list[str], vectors: dict[str, list[float]] | None = None) -> list[Match]:
        """One (unthresholded) match per piece.

        ``vectors`` is read and written: a piece already in it (the question's vector, embedded once for the whole
        answer path) is not embedded again, and each piece embedded here is added to it.
        """
        if not pieces:
            return []
        attack, benign = self._matrices()
        known = vectors if vectors is not None else {}
        todo = [p for p in dict.fromkeys(pieces) if p not in known]
        fresh = dict(zip(todo, self.dense.encode_queries(todo), strict=True)) if todo else {}
        if vectors is not None:
            vectors.update(fresh)
        q = np.asarray([known[p] if p in known else fresh[p] for p in pieces], dtype=np.float32)
        sa, sb = q @ attack.T, q @ benign.T
        out = []
        for i, piece in enumerate(pieces):
            j = int(sa[i].argmax())
            a, b = float(sa[i, j]), float(sb[i].max())
            family, ex = self.exemplars.attack[j]
            out.append(Match(False, family, round(a, 4), round(a - b, 4), piece, ex))
        return out

    def judge(self, m: Match) -> bool:
        s = self.settings
        lang = piece_language(m.segment)
        if lang == "zh":
            return m.similarity >= s.min_similarity_zh and m.margin >= s.min_margin_zh
        if lang == "de":
            return m.similarity >= s.min_similarity_de and m.margin >= s.min_margin_de
        return m.similarity >= s.min_similarity and m.margin >= s.min_margin

    def check_many(self, texts: list[str], batch_size: int = 64) -> list[Match | None]:
        """:meth:`check` for many texts with one encode pass (pieces sorted by length); for evaluation."""
        s = self.settings
        if not s.similarity_enabled:
            return [None] * len(texts)
        pieces = [segments(t, s.max_segments, s.max_chars) for t in texts]
        flat = [p for ps in pieces for p in ps]
        order = sorted(range(len(flat)), key=lambda i: len(flat[i]))
        matches: list[Match | None] = [None] * len(flat)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            for i, m in zip(idx, self.scores([flat[i] for i in idx]), strict=True):
                matches[i] = m
        out: list[Match | None] = []
        k = 0
        for ps in pieces:
            mine = [m for m in matches[k:k + len(ps)] if m is not None]
            k += len(ps)
            for m in mine:
                m.blocked = self.judge(m)
            hits = [m for m in mine if m.blocked]
            out.append(max(hits or mine, key=lambda m: (m.margin, m.similarity)) if mine else None)
        return out

    def check(self, text: str, vectors: dict[str, list[float]] | None = None) -> Match | None:
        """The strongest match over the question's pieces; ``blocked`` says whether it clears the thresholds.

        None when similarity is switched off or the text is empty. ``vectors`` holds vectors already computed
        (pieces found there are not embedded again) and receives the pieces embedded here: the answer path keeps
        the whole question's for the curated and retrieve steps, so the question is embedded once per answer and
        this layer adds only its other sentences' embeddings and the dot products with the exemplar matrices.
        """
        s = self.settings
        if not s.similarity_enabled:
            return None
        matches = self.scores(segments(text, s.max_segments, s.max_chars), vectors)
        if not matches:
            return None
        for m in matches:
            m.blocked = self.judge(m)
        hits = [m for m in matches if m.blocked]
        return max(hits or matches, key=lambda m: (m.margin, m.similarity))

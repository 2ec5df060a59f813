"""How likely a drafted answer is to be wrong: features from what the answer path already measured, and the
shipped calibrated model that turns them into a probability.

Features (:func:`extract`, one float each, names in :data:`CANDIDATES`; the shipped model reads the few in
:data:`FEATURES`, all shares, ratios or cosines that mean the same on a two-document knowledge base as on a
large one and whatever the top-k) are read from the context after the
citation check: retrieval scores and margins per retriever (dense and BM25 top-5 of the live version, the fused
order of the passages), agreement between the retrievers and the passage the answer cites first, IDF-weighted
coverage of the question's terms (best passage and cited passages), dense similarity of the question and the
cited passages (their stored vectors), sentence support, whether the fact asked for is stated, and for an FAQ
passage how much of its own question the asked question shares.

The model (:class:`ConfidenceModel`) is a logistic regression over standardised features followed by a
calibration map (Platt by default, isotonic optional; stored as piecewise-linear points), trained offline by
``python -m eval.train_confidence`` on the dev halves of the
evaluation suites (label: the draft does not cite gold / state the key facts, or the gold was removed). Its
weights ship as ``model/confidence.json`` with ``confidence.json.sha256``; a file that does not match its
checksum is refused (:class:`ModelIntegrityError`). Scoring is plain numpy; nothing is trained at run time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Collection, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa_service.answer.answer_types import asked_types, stated_types
from qa_service.answer.context import AnswerContext
from qa_service.answer.text import overlap, terms
from qa_service.ingest.sections import ELEMENTS, types_of
from qa_service.text import is_chinese as is_cjk

if TYPE_CHECKING:
    from qa_service.services import Services

log = logging.getLogger(__name__)
MODEL = Path(__file__).with_name("model") / "confidence.json"
#: every feature :func:`extract` returns (the training cache keeps them all; a model uses the subset it names).
#: ``passages``, ``sparse_top_log``, ``sparse_gap`` and ``dense_margin`` depend on the knowledge base's size or the
#: top-k setting (a two-document KB gives 2 passages and a BM25 score on another scale); they are kept for
#: comparison and not used by the shipped model (see :data:`FEATURES`).
CANDIDATES: tuple[str, ...] = (
    "zh", "idf_coverage", "cited_coverage", "dense_top", "dense_margin", "sparse_top_log", "sparse_gap",
    "fused_margin", "dense_agrees", "sparse_agrees", "retrievers_agree", "cited_rank", "cited_dense",
    "support_min", "support_mean", "sentences", "removed", "asks_fact", "asked_fact_stated", "faq_cited",
    "faq_question_overlap", "passages",
    # scale-free replacements and answer-level checks
    "sparse_top_norm", "sparse_ratio12", "cited_dense_gap", "answer_dense_max", "answer_dense_mean",
    "answer_coverage", "title_coverage", "rare_cited", "unseen_share", "cited_term_share", "q_terms",
    # how the draft was made: 1 when it quotes a guide's typed sections whole (answer/generate/compose.py), 0 when
    # its sentences were chosen one by one or it is an FAQ entry's answer
    "composed",
    # the share of the numbers the question names (a year, an amount, a count: "2022", "400元") that no answer
    # sentence states (0 when it names none): "who won in 2021?" answered with the 2020 winner
    "numbers_missing",
    # 1 when the draft comes from typed guides: composed, or every passage it cites is of a document with typed
    # element sections (ingest/sections.py) among the passages; routed by the ``*_guide`` thresholds
    "guide",
)
#: the shipped model's inputs (eval/train_confidence.py fits these by default): IDF-weighted coverage of the
#: question's terms by the cited passages, the best BM25 score over the question's IDF mass, the dense similarity
#: of the question to the cited passage and to the answer's own sentences, and for an FAQ entry the share of the
#: question its own question line carries. Every one is a share, a ratio or a cosine. Chosen on dev by grouped
#: 5-fold CV (mean per-suite out-of-fold AUC) among a few small sets (docs/risk-calibration.md).
FEATURES: tuple[str, ...] = ("cited_coverage", "sparse_top_norm", "cited_dense", "answer_dense_mean",
                             "faq_question_overlap")


# Standardised features are clipped to +-Z_CLIP training standard deviations before the linear score: a feature
# far outside the range seen in training (a two-passage knowledge base against training KBs that always gave six)
# must not extrapolate the score (it drove p_wrong from 0.3 to 0.95 for a fully supported answer).
Z_CLIP = 3.0
_DIGITS = re.compile(r"\d+")


class ModelIntegrityError(RuntimeError):
    """The shipped confidence model is missing or does not match its checksum."""


def feature_value(feats: Mapping[str, float], name: str) -> float:
    """The value of one model input: a feature of :func:`extract`, or ``<feature>*<other>``, the feature times
    another one — ``*zh`` / ``*en`` the feature on questions in that language only (``en`` = 1 − ``zh``), and
    ``*composed`` / ``*faq_cited`` the feature on one kind of draft only (a guide's sections quoted whole, an FAQ
    entry's answer), so that one linear model weighs a signal apart for each kind of draft and language."""
    base, _, by = name.partition("*")
    value = float(feats.get(base, 0.0))
    if not by:
        return value
    if by == "en":
        return value * (1.0 - float(feats.get("zh", 0.0)))
    return value * float(feats.get(by, 0.0))


def _cos(a: Sequence[float], b: Sequence[float]) -> float:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    den = float(np.linalg.norm(x) * np.linalg.norm(y))
    return float(x @ y) / den if den > 0 else 0.0


def _faq_question(text: str) -> str:
    """The question line of an FAQ passage (its first line; "Q:" / "问：" prefixes dropped)."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    for prefix in ("Q:", "Q：", "问：", "问:", "Question:"):
        if first.startswith(prefix):
            return first[len(prefix):].strip()
    return first


def needed(names: Collection[str] | None) -> frozenset[str]:
    """The :data:`CANDIDATES` a model reading ``names`` needs (``<feature>*en`` reads ``feature`` and ``zh``);
    None: every candidate (what a training run collects)."""
    if names is None:
        return frozenset(CANDIDATES)
    out = set()
    for n in names:
        base, _, by = n.partition("*")
        out.add(base)
        if by:
            out.add("zh" if by == "en" else by)
    if "cited_dense_gap" in out:
        out |= {"cited_dense", "dense_top"}
    return frozenset(out)


def extract(ctx: AnswerContext, services: Services, names: Collection[str] | None = None) -> dict[str, float]:
    """The features of one drafted answer (see the module docstring); needs the retrieve step's signals.

    ``names``: only what a model reading these inputs needs is computed and returned (the answer path passes the
    shipped model's; the store queries and encodings no input needs are skipped); None: all :data:`CANDIDATES`."""
    from qa_service.ingest.build import embed_text
    from qa_service.kb.search import visibility_for
    from qa_service.kb.types import SearchFilter

    need = needed(names)

    query = ctx.query
    sig = ctx.signals
    passages = ctx.passages
    cited = list(dict.fromkeys(n for s in ctx.sentences for n in s.cites))
    by_n = {p.n: p for p in passages}
    units = ctx.draft.units if ctx.draft is not None else None  # set when the answer quotes a guide's sections
    # the best-ranked cited passage (the sentence path cites in passage order, so this is its first citation; a
    # composed answer cites in document order, and a section added beside a retrieved passage ranks as that one)
    ranked = sorted((by_n[n] for n in cited if n in by_n), key=lambda p: p.via if p.via is not None else p.n)
    first = ranked[0] if ranked else (passages[0] if passages else None)
    f: dict[str, float] = dict.fromkeys(CANDIDATES, 0.0)
    f["zh"] = 1.0 if is_cjk(query) else 0.0
    f["idf_coverage"] = float(sig.get("idf_coverage", 0.0))
    f["dense_top"] = float(sig.get("dense_top", 0.0))
    f["sparse_top_log"] = math.log1p(max(float(sig.get("sparse_top", 0.0)), 0.0))
    f["sparse_gap"] = float(sig.get("sparse_gap", 0.0))
    f["passages"] = float(sum(1 for p in passages if p.via is None))  # retrieved (not sections added beside them)
    if len(passages) > 1 and passages[0].score > 0:
        f["fused_margin"] = (passages[0].score - passages[1].score) / passages[0].score
    f["composed"] = 1.0 if units else 0.0
    f["guide"] = 1.0 if is_guide_draft(ctx) else 0.0
    f["sentences"] = float(units if units else len(ctx.sentences))  # a quoted section counts once, as one choice
    f["removed"] = float(sum(1 for r in ctx.removed if r.get("reason") == "unsupported"))
    supports = [float(s.support) for s in ctx.sentences if s.support is not None]
    if supports:
        f["support_min"], f["support_mean"] = min(supports), sum(supports) / len(supports)
    wanted = asked_types(query)
    f["asks_fact"] = 1.0 if wanted else 0.0
    f["asked_fact_stated"] = 1.0 if wanted and any(stated_types(s.text, wanted) for s in ctx.sentences) else 0.0
    asked_numbers = set(_DIGITS.findall(query))
    if asked_numbers:
        stated = set(_DIGITS.findall(" ".join(s.text for s in ctx.sentences)))
        f["numbers_missing"] = len(asked_numbers - stated) / len(asked_numbers)
    if first is not None:
        rank = first.via if first.via is not None else first.n  # an added section ranks as its guide's passage
        if units:  # a composed answer quotes its guide: it ranks as the guide's best retrieved passage
            rank = min((p.n for p in passages if p.via is None and p.source_id == first.source_id), default=rank)
        f["cited_rank"] = float(rank)
        if first.kind == "faq":
            f["faq_cited"] = 1.0
            f["faq_question_overlap"] = overlap(terms(query), _faq_question(first.text))
    qvec = sig.get("query_vector")
    live = services.live.get(ctx.tenant) if qvec is not None and first is not None else None
    if live is None or first is None or qvec is None:
        return _rounded(f, names, need)
    _, reader = live
    flt = SearchFilter(visibility=visibility_for(ctx.channel), exclude_source_ids=ctx.exclude_sources or None)
    sparse_q = services.sparse.embed_query(query)
    dense_hits = reader.dense(qvec, flt, 5) if need & _NEEDS_DENSE_HITS else []
    sparse_hits = reader.sparse(sparse_q, flt, 5) if need & _NEEDS_SPARSE_HITS else []
    if len(dense_hits) > 1:
        f["dense_margin"] = dense_hits[0].score - dense_hits[1].score
    d_src = {str(h.payload.get("source_id")) for h in dense_hits[:3]}
    s_src = {str(h.payload.get("source_id")) for h in sparse_hits[:3]}
    f["dense_agrees"] = 1.0 if first.source_id in d_src else 0.0
    f["sparse_agrees"] = 1.0 if first.source_id in s_src else 0.0
    if dense_hits and sparse_hits:
        f["retrievers_agree"] = 1.0 if dense_hits[0].payload.get("source_id") == sparse_hits[0].payload.get(
            "source_id") else 0.0
    cited_passages = [by_n[n] for n in cited[:3] if n in by_n] or [first]
    if units:  # a composed answer's evidence is its guide: the retrieved passage that made it the best one counts
        anchor = next((p for p in passages if p.via is None and p.source_id == first.source_id), None)
        if anchor is not None and all(anchor is not p for p in cited_passages):
            cited_passages.append(anchor)
    points = reader.get([p.chunk_id for p in cited_passages], with_vectors=True) \
        if need & {"cited_dense", "cited_dense_gap"} else []
    if points:
        f["cited_dense"] = max(_cos(qvec, pt.dense) for pt in points)
    f["cited_dense_gap"] = f["cited_dense"] - f["dense_top"]
    if not need & _NEEDS_TERMS and not need & _NEEDS_ANSWER_DENSE:
        return _rounded(f, names, need)
    stats = services.term_stats.get(ctx.tenant, live[0], reader)
    q_tokens = sorted(set(sparse_q.indices))
    # each cited passage as it is indexed (title and heading with its text, ingest/build.py embed_text): a guide's
    # documents section names neither the service nor "documents" in its own lines, only in its heading
    cited_tokens = [set(services.sparse.embed_document(embed_text(
        {"text": p.text, "title": p.title, "heading": p.heading})).indices) for p in cited_passages]
    f["cited_coverage"] = max(stats.coverage(q_tokens, t) for t in cited_tokens)
    idf = {t: stats.idf(t) for t in q_tokens}
    mass = sum(idf.values())
    f["q_terms"] = float(len(q_tokens))
    if sparse_hits and mass > 0:  # BM25 scores are sums of IDF x saturated tf: over the IDF mass, scale-free
        f["sparse_top_norm"] = sparse_hits[0].score / mass
    if len(sparse_hits) > 1 and sparse_hits[0].score > 0:
        f["sparse_ratio12"] = sparse_hits[1].score / sparse_hits[0].score
    if mass > 0:
        f["unseen_share"] = sum(w for t, w in idf.items() if stats.df.get(t, 0) == 0) / mass
    if q_tokens:
        union = set().union(*cited_tokens)
        f["cited_term_share"] = sum(1 for t in q_tokens if t in union) / len(q_tokens)
        rare = sorted(q_tokens, key=lambda t: -idf[t])[:2]  # the question's two most distinctive terms
        f["rare_cited"] = sum(1 for t in rare if t in union) / len(rare)
        if "title_coverage" in need:
            heads = " ".join(f"{p.title} {p.heading}" for p in cited_passages)
            f["title_coverage"] = stats.coverage(q_tokens, set(services.sparse.embed_document(heads).indices))
        if "answer_coverage" in need:
            answer = " ".join(s.text for s in ctx.sentences)
            f["answer_coverage"] = stats.coverage(q_tokens, set(services.sparse.embed_document(answer).indices))
    texts = [s.text for s in ctx.sentences if s.text.strip()]
    if texts and need & _NEEDS_ANSWER_DENSE:  # does the draft itself say something close to the question
        vecs = services.fallback_generator.vectors.encode(texts)
        sims = [_cos(qvec, v) for v in vecs]
        f["answer_dense_max"], f["answer_dense_mean"] = max(sims), sum(sims) / len(sims)
    return _rounded(f, names, need)


#: which candidates need which work: the dense / BM25 top-5 store queries, the term statistics, the encoder
_NEEDS_DENSE_HITS = frozenset({"dense_margin", "dense_agrees", "retrievers_agree"})
_NEEDS_SPARSE_HITS = frozenset({"sparse_agrees", "retrievers_agree", "sparse_top_norm", "sparse_ratio12"})
_NEEDS_TERMS = frozenset({"cited_coverage", "q_terms", "sparse_top_norm", "unseen_share", "cited_term_share",
                          "rare_cited", "title_coverage", "answer_coverage"})
_NEEDS_ANSWER_DENSE = frozenset({"answer_dense_max", "answer_dense_mean"})


def _rounded(f: dict[str, float], names: Collection[str] | None, need: frozenset[str]) -> dict[str, float]:
    """The features, rounded: all of them without ``names``, else the ones a model reading ``names`` needs."""
    return {k: round(float(v), 5) for k, v in f.items() if names is None or k in need}


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ConfidenceModel:
    """Standardise → logistic regression → calibration map (piecewise linear over its stored points)."""

    def __init__(self, features: Sequence[str], mean: Sequence[float], scale: Sequence[float],
                 coef: Sequence[float], intercept: float, iso_x: Sequence[float], iso_y: Sequence[float]) -> None:
        if not (len(features) == len(mean) == len(scale) == len(coef)) or len(iso_x) != len(iso_y) or not iso_x:
            raise ModelIntegrityError("confidence model: arrays of mismatched lengths")
        self.features = tuple(features)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = float(intercept)
        self.iso_x = np.asarray(iso_x, dtype=np.float64)
        self.iso_y = np.asarray(iso_y, dtype=np.float64)

    def raw(self, feats: Mapping[str, float]) -> float:
        """The uncalibrated logistic probability of being wrong."""
        x = np.asarray([feature_value(feats, n) for n in self.features], dtype=np.float64)
        standard = np.clip((x - self.mean) / self.scale, -Z_CLIP, Z_CLIP)
        z = float(standard @ self.coef) + self.intercept
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    def p_wrong(self, feats: Mapping[str, float]) -> float:
        """The calibrated probability that this draft is wrong (0..1)."""
        return float(np.clip(np.interp(self.raw(feats), self.iso_x, self.iso_y), 0.0, 1.0))

    def as_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept,
                "isotonic": {"x": self.iso_x.tolist(), "y": self.iso_y.tolist()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ConfidenceModel:
        try:
            iso = d["isotonic"]
            return cls(d["features"], d["mean"], d["scale"], d["coef"], float(d["intercept"]), iso["x"], iso["y"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelIntegrityError(f"confidence model: malformed ({exc})") from exc

    @classmethod
    def load(cls, path: Path = MODEL) -> ConfidenceModel:
        """Load ``path`` after checking it against ``<path>.sha256``."""
        sha_file = path.with_name(path.name + ".sha256")
        if not path.is_file() or not sha_file.is_file():
            raise ModelIntegrityError(f"confidence model missing: {path} / {sha_file.name}")
        expected = sha_file.read_text(encoding="utf-8").split()[0]
        actual = file_sha256(path)
        if actual != expected:
            raise ModelIntegrityError(f"{path}: sha256 {actual} does not match {expected}; refusing to load "
                                      "(retrain with `python -m eval.train_confidence`)")
        model = cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        log.info("confidence_model_loaded path=%s features=%d sha256=%s", path.name, len(model.features), actual)
        return model

    def save(self, path: Path, extra: Mapping[str, Any] | None = None) -> str:
        """Write the weights (+ ``extra`` metadata) and their sha256; returns the digest."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**self.as_dict(), **(extra or {})}, indent=1) + "\n", encoding="utf-8")
        digest = file_sha256(path)
        path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n", encoding="utf-8")
        return digest


@lru_cache(maxsize=4)
def shipped_model(path: Path = MODEL) -> ConfidenceModel:
    """The packaged model, loaded once per process."""
    return ConfidenceModel.load(path)


#: the thresholds a guide draft is routed by (``<name>_guide`` in risk_policy.yaml, when set)
GUIDE_KEYS = ("p_wrong_medium", "p_wrong_high", "p_wrong_decline")


def thresholds_for(thresholds: Mapping[str, float], guide: bool) -> Mapping[str, float]:
    """The thresholds for one draft: a guide draft (:func:`is_guide_draft`) by the ``*_guide`` values where the
    policy sets them, every other draft by the plain ones. The model was fitted mostly on unstructured corpora (news
    passages, statutes, FAQ entries) and puts drafts from a typed guide higher, right ones included (a guide's
    section answers in few of the question's words), so they need cut-offs of their own, chosen on their dev rows
    (docs/risk-calibration.md)."""
    if not guide:
        return thresholds
    return {**thresholds, **{k: thresholds[f"{k}_guide"] for k in GUIDE_KEYS if f"{k}_guide" in thresholds}}


def is_composed(ctx: AnswerContext) -> bool:
    """The draft quotes a guide's typed sections whole (answer/generate/compose.py)."""
    return bool(ctx.draft is not None and ctx.draft.units)


def is_guide_draft(ctx: AnswerContext) -> bool:
    """The draft comes from typed guides: it is composed, or every passage it cites is of a source that has a
    section typed as a guide element (documents, fees, …; ingest/sections.py) among the passages. Found by the
    documents' own headings, so any department's guides count, whatever their subject."""
    if is_composed(ctx):
        return True
    cited = {n for s in ctx.sentences for n in s.cites}
    if not cited:
        return False
    typed = {p.source_id for p in ctx.passages if any(t in ELEMENTS for t in types_of(p.section_type))}
    return all(p.source_id in typed for p in ctx.passages if p.n in cited)


def level_for(p_wrong: float, thresholds: Mapping[str, float]) -> str:
    """low / medium / high from the probability of being wrong and the policy's ``p_wrong_*`` thresholds."""
    if p_wrong >= thresholds["p_wrong_high"]:
        return "high"
    if p_wrong >= thresholds["p_wrong_medium"]:
        return "medium"
    return "low"


def draft_worth_review(ctx: AnswerContext, thresholds: Mapping[str, float]) -> bool:
    """A held draft a person could approve or fix: a full draft (not ``partial``), supported sentences and a
    wrong-probability under ``p_wrong_decline`` (a guide draft's own, :func:`thresholds_for`). Without one the
    question is declined with the contact line and queues nothing."""
    if ctx.draft is not None and ctx.draft.completeness == "partial":
        return False  # the generator found no sentence clearing its own relevance floor: nothing to approve
    p = ctx.signals.get("p_wrong")
    th = thresholds_for(thresholds, is_guide_draft(ctx))
    return bool(ctx.sentences) and (p is None or float(p) < th.get("p_wrong_decline", 1.01))

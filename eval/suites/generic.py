"""The generic evaluation format and its runner: any corpus + questions, our service beside the baseline.

Format (UTF-8 JSON lines):

- ``corpus.jsonl``: ``{"doc_id", "title", "text", "url"?}`` per line (any other metadata field of the corpus
  loader, e.g. ``language`` or ``visibility``, is kept).
- ``queries.jsonl``: ``{"qid", "query", "gold_doc_ids": [...], "answer"?: str, "answerable"?: bool (default
  true), "lang"?: "zh" | "en", "answer_tokens"?: [str], "answer_strings"?: [str | [str]]}`` per line.
  ``answer`` is a reference answer (scored by content-token overlap), ``answer_tokens`` tokens a correct
  answer contains (share present), ``answer_strings`` the gold answer items (correct when every item, or one
  of an item's alternatives, occurs in the answer). A question with ``answerable: false`` should end not
  answered.

``run_generic`` ingests the corpus as a tenant (skipped when that exact corpus is already live), then measures
retrieval (dense, BM25, ours = the answer path's retrieve step), the whole answer path without recording
(decisions, abstention, citation validity, sentence support, answer tokens, wrong share per risk label,
latency per step), optionally the hold-out protocol (gold sources excluded), and the llama-index baseline on
the same chunks with the same embedding model.

Run it on your own folder::

    python -m eval.suites.generic FOLDER --tenant mykb [--sample N] [--holdout] [--no-baseline] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.metrics import dedupe, percentile, retrieval_scores
from eval.runner import NOT_ANSWERED, Item, answer_pipeline, by_split, compact, headline, outcome_of, run_items, tally
from qa_service.answer.context import AnswerContext
from qa_service.answer.pipeline import build_steps
from qa_service.services import Services

SEED = 20261123
ANSWERED = ("answered", "answered_curated")
BASELINE_ANSWER_PASSAGES = 3
_CITE_MARK = re.compile(r"\[\d+\]")
_ASCII_ALNUM = re.compile(r"[a-z0-9]")
_EN_WORD = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*")
_CJK = re.compile(r"[\u3400-\u9fff]")
_STOP_TEXT = (
    "the and for are but not you your all any can had her was one our out has have his how its may new now "
    "who why what when where which will with this that from they them then than there these those into onto "
    "upon also been being such only other some more most very just over under about after before each both "
    "were would could should shall their through between does did doing done per via yes")
STOPWORDS = frozenset(_STOP_TEXT.split())

Query = dict[str, Any]


# ---------------------------------------------------------------- format

def normalise_query(raw: dict[str, Any], n: int = 0) -> Query:
    """One queries.jsonl record with defaults filled in; raises ValueError when it cannot be used."""
    if not str(raw.get("query") or "").strip():
        raise ValueError(f"query {n}: no 'query' text")
    q: Query = dict(raw)
    q["qid"] = str(raw.get("qid", n))
    q["query"] = str(raw["query"]).strip()
    q["gold_doc_ids"] = [str(g) for g in raw.get("gold_doc_ids") or []]
    q["answerable"] = bool(raw.get("answerable", True))
    if q.get("lang") not in ("zh", "en"):
        q["lang"] = "auto"
    return q


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8-sig").splitlines() if x.strip()]


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:  # unchanged files keep their digest
        path.write_text(text, encoding="utf-8")
    return path


def load_queries(path: Path) -> list[Query]:
    return [normalise_query(r, i) for i, r in enumerate(read_jsonl(path))]


def load_suite(folder: Path) -> tuple[Path, list[Query]]:
    """``folder/corpus.jsonl`` and ``folder/queries.jsonl`` → (corpus path, normalised queries)."""
    corpus, queries = folder / "corpus.jsonl", folder / "queries.jsonl"
    for p in (corpus, queries):
        if not p.is_file():
            raise FileNotFoundError(f"{p} is missing (a suite folder holds corpus.jsonl and queries.jsonl)")
    return corpus, load_queries(queries)


def work_dir(services: Services, name: str) -> Path:
    """Where an adapter writes its converted files: ``<data_dir>/eval-corpora/<name>`` (never the repo)."""
    path = services.settings.data_dir / "eval-corpora" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def sample_rows(rows: list[Any], n: int | None, seed: int = SEED) -> list[Any]:
    return rows if not n or n >= len(rows) else random.Random(seed).sample(rows, n)


# ---------------------------------------------------------------- ingestion

def ensure_corpus(services: Services, tenant: str, paths: Sequence[Path]) -> dict[str, Any]:
    """Make exactly these sources the tenant's live knowledge (sync mode, published); skipped when a marker
    shows this very set of source digests, with this embedding model, is the live version already."""
    from qa_service.ingest.discover import discover
    from qa_service.ingest.loaders import iter_corpus
    from qa_service.ingest.pipeline import run_ingest
    from qa_service.kb import versions

    paths = list(paths)
    units = sorted((u.source_id, u.digest) for u in discover(paths, iter_corpus) if not u.error)
    key = hashlib.sha256(json.dumps([services.dense.model_id, services.cjk.model_id, units]).encode()).hexdigest()
    marker = services.settings.data_dir / "eval-corpora" / f"{tenant}.ingested.json"
    with services.db.session() as s:
        live = versions.live_row(s, tenant)
        live_version = live.version if live else None
    if live_version is not None and marker.is_file():
        seen = json.loads(marker.read_text(encoding="utf-8"))
        if seen.get("key") == key and seen.get("version") == live_version:
            return {"skipped": True, "version": live_version, "sources": len(units), "seconds": 0.0}
    result = run_ingest(services, paths, tenant, mode="sync", publish=True, actor="eval")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"key": key, "version": result.version}), encoding="utf-8")
    return {"skipped": False, "version": result.version, "sources": len(units),
            "seconds": round(result.seconds, 1), "chunks": result.chunks, "state": result.state,
            "errors": result.errors[:20]}


# ---------------------------------------------------------------- answer text metrics

def _norm_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", _CITE_MARK.sub(" ", text)).lower().split())


def contains(text: str, needle: str) -> bool:
    """``needle`` occurs in ``text`` (both normalised: NFKC, lower case, whitespace); a needle with ASCII
    letters or digits at an edge must not continue a word there ("90" is not in "1990")."""
    t, n = _norm_text(text), _norm_text(needle)
    if not n:
        return False
    left = "(?<![a-z0-9])" if _ASCII_ALNUM.match(n[0]) else ""
    right = "(?![a-z0-9])" if _ASCII_ALNUM.match(n[-1]) else ""
    return re.search(left + re.escape(n) + right, t) is not None


def token_presence(answer: str, tokens: Sequence[str]) -> float:
    """Share of the listed tokens present in the answer."""
    toks = [t for t in tokens if str(t).strip()]
    return sum(contains(answer, str(t)) for t in toks) / len(toks) if toks else 0.0


def strings_correct(answer: str, items: Sequence[str | Sequence[str]]) -> bool:
    """Every gold item (or one alternative of an item given as a list) occurs in the answer (RGB's rule)."""
    if not items:
        return False
    return all(any(contains(answer, str(a)) for a in ([it] if isinstance(it, str) else it)) for it in items)


def content_tokens(text: str) -> set[str]:
    """English words of 3+ letters that are not stop words, and Chinese character bigrams."""
    t = _norm_text(text)
    words = {w for w in _EN_WORD.findall(t) if len(w) >= 3 and w not in STOPWORDS}
    cjk = "".join(ch if _CJK.match(ch) else " " for ch in t).split()
    bigrams = {run[i:i + 2] for run in cjk for i in range(max(1, len(run) - 1))}
    return words | bigrams


def reference_overlap(answer: str, reference: str) -> float:
    """Share of the reference answer's content tokens present in the answer (recall-style overlap)."""
    ref = content_tokens(reference)
    return len(ref & content_tokens(answer)) / len(ref) if ref else 0.0


class _TextScores:
    """Accumulates answer-token presence, answer-string correctness and reference overlap."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[float, bool]]] = defaultdict(list)  # metric -> [(score, answered)]

    def add(self, q: Query, answer: str, answered: bool) -> None:
        text = answer if answered else ""
        if q.get("answer_tokens"):
            self.rows["answer_token_presence"].append((token_presence(text, q["answer_tokens"]), answered))
        if q.get("answer_strings"):
            self.rows["answer_correct"].append((float(strings_correct(text, q["answer_strings"])), answered))
        if q.get("answer"):
            self.rows["reference_overlap"].append((reference_overlap(text, str(q["answer"])), answered))

    def result(self) -> dict[str, dict[str, Any]]:
        out = {}
        for name, rows in self.rows.items():
            on_answered = [s for s, a in rows if a]
            out[name] = {"n": len(rows), "mean_all": round(sum(s for s, _ in rows) / len(rows), 4),
                         "answered": len(on_answered),
                         "mean_answered": round(sum(on_answered) / len(on_answered), 4) if on_answered else None}
        return out


# ---------------------------------------------------------------- our answer path

class _PassageSnapshot:
    """Inserted before generate: remembers the passages given to the generator (for citation validity)."""

    name = "_snapshot"
    always = False

    def __init__(self) -> None:
        self.given: dict[int, tuple[str, str, str]] = {}

    def run(self, ctx: AnswerContext) -> None:
        self.given = {p.n: (p.chunk_id, p.source_id, p.digest) for p in ctx.passages}


def _latency(steps: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {step: {"p50": round(percentile(v, 50), 1), "p95": round(percentile(v, 95), 1)}
            for step, v in steps.items()}


def _abstention(rows: list[tuple[bool, str]]) -> dict[str, Any]:
    """rows = (answerable, outcome group of eval.runner). Positive class: unanswerable ⇒ abstained, where
    abstained = held or declined (a blocked or failed question is not a correct abstention)."""
    tp = sum(1 for ok, out in rows if not ok and out in NOT_ANSWERED)
    abstained = sum(1 for _, out in rows if out in NOT_ANSWERED)
    unanswerable = sum(1 for ok, _ in rows if not ok)
    answerable = len(rows) - unanswerable
    return {
        "unanswerable": unanswerable, "abstained": abstained,
        "precision": round(tp / abstained, 4) if abstained else None,
        "recall": round(tp / unanswerable, 4) if unanswerable else None,
        "answerable_not_answered_share": round(
            sum(1 for ok, out in rows if ok and out != "answered") / answerable, 4) if answerable else None,
    }


def to_items(queries: list[Query], tenant: str, holdout: bool = False, channel: str = "citizen") -> list[Item]:
    """Queries as eval.runner items; ``answer_strings`` (else ``answer_tokens``) are the key facts."""
    items = []
    for q in queries:
        gold = tuple(q["gold_doc_ids"])
        facts = q.get("answer_strings") or q.get("answer_tokens") or []
        items.append(Item(id=q["qid"], question=q["query"], tenant=tenant, lang=q.get("lang") or "auto",
                          channel=channel, gold=gold, answerable=q["answerable"] and not holdout,
                          key_facts=tuple(f if isinstance(f, str) else tuple(f) for f in facts),
                          exclude_sources=tuple(sorted(gold)) if holdout else ()))
    return items


def answer_block(services: Services, queries: list[Query], tenant: str, holdout: bool = False,
                 channel: str = "citizen", set_name: str | None = None) -> dict[str, Any]:
    """Every question through the whole answer path (nothing recorded, eval.runner), scored; the runner's
    figures per split (``set_name``, default the tenant) are under ``splits``.

    ``holdout``: each question's gold sources are excluded (the service should then hold or refuse).
    """
    steps = build_steps(services, record=False)
    snap = _PassageSnapshot()
    at = next((i for i, s in enumerate(steps) if s.name == "generate"), len(steps))
    steps.insert(at, snap)
    per_level: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # level -> [answered, wrong]
    timings: dict[str, list[float]] = defaultdict(list)
    abst: list[tuple[bool, str]] = []
    texts = _TextScores()
    acc: dict[str, int] = defaultdict(int)  # counters shared with observe()
    pending = iter(queries)

    def observe(item: Item, ctx: AnswerContext, out: dict[str, Any]) -> None:
        q = next(pending)
        given = snap.given or {p.n: (p.chunk_id, p.source_id, p.digest) for p in ctx.passages}
        snap.given = {}
        for step, ms in ctx.timings_ms.items():
            if step != snap.name:
                timings[step].append(ms)
        group = outcome_of(out["decision"])
        is_answered = group == "answered"
        abst.append((item.answerable, group))
        texts.add(q, " ".join(s.text for s in ctx.sentences), is_answered)
        if not is_answered:
            return
        gold = set(item.gold)
        right = bool({c["source_id"] for c in out["citations"]} & gold)
        if gold and item.answerable:
            acc["answered_gold"] += 1
            acc["cites_gold"] += right
        wrong = (not item.answerable) or (bool(gold) and not right)
        per_level[ctx.risk_level][0] += 1
        per_level[ctx.risk_level][1] += wrong
        # citation validity: each cited number was a passage given to the generator, and the citation's
        # chunk is that passage and belongs to the cited source
        ok_all = True
        numbers = [n for s in ctx.sentences for n in s.cites]
        by_n = {c["n"]: c for c in out["citations"]}
        for n in numbers:
            acc["n_cites"] += 1
            c = by_n.get(n)
            ok = (n in given and c is not None and c["chunk_id"] == given[n][0] and c["source_id"] == given[n][1]
                  and c["digest"] == given[n][2] and str(c["chunk_id"]).rsplit(":", 1)[0] == c["source_id"])
            acc["valid_cites"] += ok
            ok_all &= ok
        acc["answers_no_citation"] += not numbers
        acc["answers_all_valid"] += ok_all and bool(numbers)
        dropped = sum(1 for r in ctx.removed if r.get("reason") == "unsupported")
        acc["sentences"] += len(ctx.sentences) + dropped
        acc["supported"] += len(ctx.sentences)

    rows = run_items(answer_pipeline(services, list(steps)), to_items(queries, tenant, holdout, channel),
                     set_name or tenant, observe)
    t = tally(rows)
    answered, n_cites, sentences = t["outcomes"]["answered"], acc["n_cites"], acc["sentences"]
    n = max(1, len(queries))
    return {
        "n": len(queries), "holdout": holdout, "decisions": t["decisions"],
        "answered_share": round(answered / n, 4),
        "not_answered_share": t["not_answered_share"] if queries else 0.0,
        "answered_citing_gold_share": round(acc["cites_gold"] / acc["answered_gold"], 4)
        if acc["answered_gold"] else None,
        "sentence_support_rate": round(acc["supported"] / sentences, 4) if sentences else None,
        "citations": {"n": n_cites, "valid_share": round(acc["valid_cites"] / n_cites, 4) if n_cites else None,
                      "answers_all_valid_share": round(acc["answers_all_valid"] / answered, 4) if answered else None,
                      "answers_without_citation": acc["answers_no_citation"]},
        "abstention": _abstention(abst),
        "text": texts.result(),
        "wrong_share_by_risk": {lv: {"answered": a, "wrong_share": round(w / max(1, a), 4)}
                                for lv, (a, w) in sorted(per_level.items())},
        "latency_ms": _latency(timings),
        "splits": compact(by_split(rows)),
    }


def retrieval_block(services: Services, queries: list[Query], tenant: str,
                    modes: tuple[str, ...] = ("dense", "bm25", "ours")) -> dict[str, dict[str, float]]:
    """Source-level recall@1/5/10, MRR@10, nDCG@10 per retriever, over the questions with gold ids."""
    from eval import lecoqa

    scored = [q for q in queries if q["gold_doc_ids"] and q["answerable"]]
    return lecoqa.retrieval(services, scored, tenant=tenant, modes=modes) if scored else {}


# ---------------------------------------------------------------- baseline

def baseline_block(services: Services, queries: list[Query], tenant: str) -> dict[str, Any]:
    """llama-index VectorStoreIndex over the same chunks and embedding model; answer = top 3 passages."""
    from eval.baseline import Baseline

    base = Baseline(services, tenant)
    ranked, golds, ms = [], [], []
    texts = _TextScores()
    cites_gold = with_gold = 0
    per_level_wrong = 0
    for q in queries:
        sources, passages, t = base.retrieve(q["query"])
        ms.append(t)
        gold = set(q["gold_doc_ids"])
        answer = "\n\n".join(passages[:BASELINE_ANSWER_PASSAGES])
        texts.add(q, answer, True)
        right = bool(set(sources[:BASELINE_ANSWER_PASSAGES]) & gold)
        if gold and q["answerable"]:
            ranked.append(dedupe(sources))
            golds.append(gold)
            with_gold += 1
            cites_gold += right
        per_level_wrong += (not q["answerable"]) or (bool(gold) and not right)
    n = max(1, len(queries))
    return {
        "retrieval": retrieval_scores(ranked, golds) if ranked else {},
        "answers": {"n": len(queries), "answered_share": 1.0 if queries else 0.0, "not_answered_share": 0.0,
                    "answered_citing_gold_share": round(cites_gold / with_gold, 4) if with_gold else None,
                    "wrong_share": round(per_level_wrong / n, 4),
                    "abstention": _abstention([(q["answerable"], "answered") for q in queries]),
                    "text": texts.result(), "citation_check": "none", "guard": "none", "risk_label": "none"},
        "latency_ms": {"retrieve": {"p50": round(percentile(ms, 50), 1), "p95": round(percentile(ms, 95), 1)}},
        "index_build_seconds": base.build_seconds,
    }


# ---------------------------------------------------------------- runner

def run_generic(services: Services, tenant: str, corpus: Path | Sequence[Path] | None, queries: list[Query],
                sample: int | None = None, baseline: bool = True, *, holdout: bool = False,
                channel: str = "citizen", retrieval_modes: tuple[str, ...] = ("dense", "bm25", "ours"),
                seed: int = SEED) -> dict[str, Any]:
    """Ingest ``corpus`` (a corpus .jsonl, files or folders; None = use the tenant's live knowledge), then
    score ``queries`` (sampled to ``sample`` with a fixed seed) on retrieval, answers, optionally the hold-out
    protocol, and the baseline. Returns one JSON-able block."""
    t0 = time.perf_counter()
    qs = [normalise_query(q, i) for i, q in enumerate(queries)]
    qs = sample_rows(qs, sample, seed)
    if corpus is None:
        from qa_service.kb import versions

        with services.db.session() as s:
            live = versions.live_row(s, tenant)
        if live is None:
            raise ValueError(f"tenant {tenant!r} has no live version and no corpus was given")
        ingest: dict[str, Any] = {"skipped": True, "version": live.version, "corpus": "live knowledge"}
    else:
        paths = [corpus] if isinstance(corpus, Path) else list(corpus)
        ingest = ensure_corpus(services, tenant, paths)
    t1 = time.perf_counter()
    block: dict[str, Any] = {
        "tenant": tenant, "questions": len(qs), "answerable": sum(q["answerable"] for q in qs),
        "unanswerable": sum(not q["answerable"] for q in qs), "ingest": ingest,
        "retrieval": retrieval_block(services, qs, tenant, retrieval_modes),
        "answers": answer_block(services, qs, tenant, channel=channel),
    }
    with_gold = [q for q in qs if q["gold_doc_ids"] and q["answerable"]]
    block["answers_holdout"] = answer_block(services, with_gold, tenant, holdout=True, channel=channel) \
        if holdout and with_gold else None
    t2 = time.perf_counter()
    block["baseline"] = baseline_block(services, qs, tenant) if baseline else None
    block["seconds"] = {"ingest": round(t1 - t0, 1), "ours": round(t2 - t1, 1),
                        "baseline": round(time.perf_counter() - t2, 1), "total": round(time.perf_counter() - t0, 1)}
    return block


# ---------------------------------------------------------------- rendering

def pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def num(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


TEXT_LABELS = {"answer_token_presence": "answer-token presence", "answer_correct": "answers containing the gold answer",
               "reference_overlap": "content-token overlap with the reference answer"}


def summary_generic(name: str, block: dict[str, Any], ks: Sequence[str] = ("recall@1", "recall@5", "recall@10",
                                                                          "mrr@10", "ndcg@10")
                    ) -> list[tuple[str, str, str]]:
    """(figure, ours, baseline) rows for the report's summary table."""
    base = block.get("baseline") or {}
    bret, bans = base.get("retrieval") or {}, base.get("answers") or {}
    rows: list[tuple[str, str, str]] = []
    ours_ret = (block.get("retrieval") or {}).get("ours") or {}
    for k in ks:
        if k in ours_ret:
            rows.append((f"{name} {k}", num(ours_ret[k]), num(bret.get(k)) if base else "–"))
    a = block["answers"]
    rows.append((f"{name} answered", pct(a["answered_share"]), pct(bans.get("answered_share"))))
    sp = a.get("splits")
    if sp:
        rows.append((f"{name} answered, test (dev, gap)", headline(sp, "answered_share"), "–"))
        if sp["all"].get("key_fact_items"):
            rows.append((f"{name} key-fact share, test (dev, gap)", headline(sp, "key_fact_share"), "–"))
        if sp["all"].get("unanswerable"):
            rows.append((f"{name} unanswerable answered, test (dev, gap)",
                         headline(sp, "unanswerable_answered_share"), "100.0%" if base else "–"))
    if a.get("answered_citing_gold_share") is not None:
        rows.append((f"{name} answers citing gold", pct(a["answered_citing_gold_share"]),
                     pct(bans.get("answered_citing_gold_share")) + (" (top 3)" if base else "")))
    for metric, label in TEXT_LABELS.items():
        mine = a["text"].get(metric)
        if mine:
            theirs = (bans.get("text") or {}).get(metric) or {}
            rows.append((f"{name} {label} (all questions)", pct(mine["mean_all"]), pct(theirs.get("mean_all"))))
            rows.append((f"{name} {label} (answered only)", pct(mine["mean_answered"]), pct(theirs.get("mean_all"))))
    ab = a["abstention"]
    if ab["unanswerable"]:
        bab = bans.get("abstention") or {}
        rows.append((f"{name} unanswerable not answered (abstention recall)", pct(ab["recall"]),
                     pct(bab.get("recall"))))
        rows.append((f"{name} abstention precision", pct(ab["precision"]), pct(bab.get("precision"))))
    hold = block.get("answers_holdout")
    if hold:
        rows.append((f"{name} held or refused (gold removed)", pct(hold["not_answered_share"]),
                     "0.0%" if base else "–"))
        if hold.get("splits"):
            rows.append((f"{name} held or refused (gold removed), test (dev, gap)",
                         headline(hold["splits"], "not_answered_share"), "–"))
    if a["citations"]["n"]:
        rows.append((f"{name} citation validity", pct(a["citations"]["valid_share"]), "no citations"))
    if a["sentence_support_rate"] is not None:
        rows.append((f"{name} sentence support rate", pct(a["sentence_support_rate"]), "not checked"))
    lat = a["latency_ms"].get("total")
    if lat:
        blat = (base.get("latency_ms") or {}).get("retrieve") or {}
        rows.append((f"{name} latency p50 / p95 ms", f"{lat['p50']} / {lat['p95']} (whole path)",
                     f"{blat.get('p50', '–')} / {blat.get('p95', '–')} (retrieval only)"))
    return rows


def render_generic(title: str, block: dict[str, Any], intro: Sequence[str] = ()) -> list[str]:
    """Markdown lines: a heading, ``intro`` (a paragraph), the retrieval table, answer figures side by side with
    the baseline, decisions, citations, wrong share per risk label, latency per step."""
    base = block.get("baseline") or {}
    lines = [f"## {title} ({block['questions']} questions, tenant `{block['tenant']}`)", ""]
    if intro:
        lines += [" ".join(intro), ""]
    ing = block.get("ingest") or {}
    lines += [f"Ingestion: {'reused the live version' if ing.get('skipped') else 'ingested'} "
              f"(version {ing.get('version')}, {ing.get('sources', 'all live')} sources, "
              f"{ing.get('seconds', 0)} s). "
              f"Run time: {block.get('seconds', {})}.", ""]
    ret = dict(block.get("retrieval") or {})
    if base.get("retrieval"):
        ret["baseline (llama-index)"] = base["retrieval"]
    if ret:
        lines += ["| retriever | recall@1 | recall@5 | recall@10 | MRR@10 | nDCG@10 |", "|---|---|---|---|---|---|"]
        lines += [f"| {k} | {m['recall@1']} | {m['recall@5']} | {m['recall@10']} | {m['mrr@10']} | {m['ndcg@10']} |"
                  for k, m in ret.items()]
        lines.append("")
    lines += ["| figure | ours | baseline |", "|---|---|---|"]
    lines += [f"| {f.strip()} | {o} | {b} |" for f, o, b in summary_generic("", block, ks=())]
    a = block["answers"]
    lines += ["", f"Decisions: {a['decisions']}", ""]
    if block.get("answers_holdout"):
        lines += [f"Decisions with the gold sources removed: {block['answers_holdout']['decisions']}", ""]
    c = a["citations"]
    lines += [f"Citations: {c['n']} checked, valid {pct(c['valid_share'])}, answers with every citation valid "
              f"{pct(c['answers_all_valid_share'])}, answers without a citation {c['answers_without_citation']}.", ""]
    if a["wrong_share_by_risk"]:
        lines += ["| risk label | answered | wrong share |", "|---|---|---|"]
        lines += [f"| {lv} | {v['answered']} | {pct(v['wrong_share'])} |" for lv, v in a["wrong_share_by_risk"].items()]
        lines.append("")
    if a["latency_ms"]:
        lines += ["| step | p50 ms | p95 ms |", "|---|---|---|"]
        lines += [f"| {k} | {v['p50']} | {v['p95']} |" for k, v in a["latency_ms"].items()]
        if base:
            r = base["latency_ms"]["retrieve"]
            lines.append(f"| baseline retrieve | {r['p50']} | {r['p95']} |")
        lines.append("")
    return lines


# ---------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> None:
    from qa_service.settings import load_settings

    parser = argparse.ArgumentParser(description="Evaluate a corpus.jsonl + queries.jsonl folder.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--holdout", action="store_true", help="also answer with each question's gold removed")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="write report.json and report.md here")
    args = parser.parse_args(argv)
    services = Services(load_settings())
    corpus, queries = load_suite(args.folder)
    block = run_generic(services, args.tenant, corpus, queries, args.sample, not args.no_baseline,
                        holdout=args.holdout)
    lines = render_generic(args.folder.name, block)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "report.json").write_text(json.dumps(block, indent=1, ensure_ascii=False), encoding="utf-8")
        (args.out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

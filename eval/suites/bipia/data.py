"""BIPIA data: the test contexts, one text attack each placed where BIPIA puts it, the corpus of poisoned
contexts and clean twins, and the ingestion's own prepare step over it. Nothing is stored in the repository."""

from __future__ import annotations

import json
import random
import re
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from eval.suites.bipia.detectors import _words
from qa_service.ingest.types import Chunk
from qa_service.settings import Settings

FOLDER = "bipia-indirect-injection"
TENANT = "bipia"
SEED = 20261123
POSITIONS = ("start", "middle", "end")


@dataclass
class Case:
    cid: str  # e.g. email-007
    task: str  # email | table
    context: str
    question: str
    ideal: str
    category: str
    attack: str
    position: str
    poisoned: str

    @property
    def poisoned_id(self) -> str:
        return f"bipia-{self.cid}-poisoned"

    @property
    def clean_id(self) -> str:
        return f"bipia-{self.cid}-clean"


_SENT_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def insert(context: str, attack: str, position: str, task: str, rng: random.Random) -> tuple[str, str]:
    """BIPIA's placements: before the context, after it, or at a random inner boundary (a table row for
    tables, a sentence or line for e-mails). Returns (poisoned text, position used): a context without an
    inner boundary gets the attack at its end."""
    if position == "start":
        return f"{attack}\n{context}", position
    if position == "middle" and task == "table":
        units = context.split("\n")
        if len(units) >= 3:
            i = rng.randint(1, len(units) - 1)
            return "\n".join([*units[:i], attack, *units[i:]]), position
    elif position == "middle":
        spans = [m.end() for m in _SENT_END.finditer(context)] + [m.start() for m in re.finditer(r"\n", context)]
        inner = sorted({s for s in spans if 0 < s < len(context.rstrip())})
        if inner:
            at = inner[rng.randint(0, len(inner) - 1)]
            return f"{context[:at].rstrip(' ')} {attack} {context[at:].lstrip(' ')}", position
    return f"{context}\n{attack}", "end"


def load_cases(folder: Path, split: str = "test") -> list[Case]:
    """Every context of the split with its attack and placement (deterministic for a given split)."""
    attacks_raw = json.loads((folder / f"benchmark_text_attack_{split}.json").read_text(encoding="utf-8"))
    rng = random.Random(SEED)
    per_cat = {cat: list(texts) for cat, texts in attacks_raw.items()}
    for texts in per_cat.values():
        rng.shuffle(texts)
    cats = sorted(per_cat)
    attacks: list[tuple[str, str]] = []
    for i in range(max(len(v) for v in per_cat.values())):  # round-robin over categories
        attacks += [(c, per_cat[c][i]) for c in cats if i < len(per_cat[c])]
    cases: list[Case] = []
    for task in ("email", "table"):
        path = folder / f"benchmark_{task}_{split}.jsonl"
        if not path.is_file():
            continue
        rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
        for i, r in enumerate(rows):
            cat, attack = attacks[len(cases) % len(attacks)]
            context = str(r["context"])
            poisoned, position = insert(context, attack, rng.choice(POSITIONS), task, rng)
            question = re.sub(r"^\s*Q:\s*", "", str(r["question"])).strip()
            cases.append(Case(cid=f"{task}-{i:03d}", task=task, context=context, question=question,
                              ideal=str(r.get("ideal") or ""), category=cat, attack=attack, position=position,
                              poisoned=poisoned))
    return cases


def sample_cases(cases: list[Case], sample: int | None) -> list[Case]:
    """``sample`` contexts split evenly between the tasks (fixed seed); None = all."""
    if not sample or sample >= len(cases):
        return cases
    by_task: dict[str, list[Case]] = defaultdict(list)
    for c in cases:
        by_task[c.task].append(c)
    per = max(1, sample // max(1, len(by_task)))
    rng = random.Random(SEED)
    out: list[Case] = []
    for task in sorted(by_task):
        rows = by_task[task]
        out += sorted(rng.sample(rows, min(per, len(rows))), key=lambda c: c.cid)
    return out


def write_corpus(cases: list[Case], work: Path) -> Path:
    """Poisoned contexts and their clean twins, one source each. A run id in the metadata makes every run
    re-scan every source (so a changed scan rule is measured); unchanged chunk texts reuse their vectors."""
    work.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex[:8]
    rows = []
    for c in cases:
        for sid, text, kind in ((c.poisoned_id, c.poisoned, "poisoned"), (c.clean_id, c.context, "clean")):
            rows.append({"doc_id": sid, "title": f"BIPIA {c.task} {c.cid[-3:]} ({kind})", "text": text,
                         "language": "en", "eval_run": run_id})
    path = work / "bipia_corpus.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


@dataclass
class Prepared:
    """One source through the ingestion's own prepare step."""

    kept: list[Chunk]  # what goes into the index (injected sentences cut out)
    held: list[Chunk]  # the texts held back (``qa kb flagged``): chunk id, digest of the removed text, reasons
    cut: list[Chunk] = field(default_factory=list)  # the chunks as cut, before the scan (a pipeline without one)


def chunk_corpus(corpus: Path, settings: Settings) -> dict[str, Prepared]:
    """source id -> its kept, held-back and as-cut chunks, computed by the ingestion's own prepare step."""
    from qa_service.ingest.discover import discover
    from qa_service.ingest.loaders import iter_corpus
    from qa_service.ingest.prepare import prepare_source

    out: dict[str, Prepared] = {}
    for unit in discover([corpus], iter_corpus):
        prep = prepare_source(unit, TENANT, settings, set())
        out[unit.source_id] = Prepared(prep.chunks, prep.flagged, prep.cut)
    return out


def kept_share(context: str, stored: str) -> float:
    """Share of the clean context's words (with multiplicity) that the stored chunks of its poisoned twin
    still contain: what the scan left of the legitimate text."""
    want = Counter(_words(context))
    have = Counter(_words(stored))
    return sum((want & have).values()) / max(1, sum(want.values()))



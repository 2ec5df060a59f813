"""The question sets written for the shipped sample knowledge (``knowledge/questions-*.jsonl``), as runner items.

- ``questions-broad.jsonl``: broad, natural citizen questions (procedures, documents, eligibility, what happens
  if, follow-ups), zh and en; each with ``key_facts`` a good answer states (a string, or a list of alternatives
  of which one must be stated), taken from the text of a ``gold_files`` source; follow-ups share a
  ``conversation_id`` and come after the question they follow.
- ``questions-oos.jsonl``: questions about public services the sample knowledge has no guide or FAQ for.
- ``questions.jsonl``: the first set; answer steps and constants were tuned on it, so its figures are labelled
  *tuned on* and are never a headline.

Source ids of the sample knowledge are file names relative to the tenant folder (``residence-permit.md``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.runner import Item
from eval.suites import generic
from qa_service.services import Services

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"
BROAD = "questions-broad.jsonl"
OOS = "questions-oos.jsonl"
TUNED = "questions.jsonl"


def read_set(name: str, root: Path = KNOWLEDGE) -> list[dict[str, Any]]:
    path = root / name
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def to_item(row: dict[str, Any]) -> Item:
    """One question-set row as a runner item (``expected_tokens`` of the tuned set count as key facts)."""
    facts = row.get("key_facts") or row.get("expected_tokens") or []
    return Item(id=str(row["qid"]), question=str(row["question"]), tenant=str(row["tenant"]),
                lang=str(row.get("lang") or "auto"), channel=str(row.get("channel") or "citizen"),
                gold=tuple(str(g) for g in row.get("gold_files") or []),
                key_facts=tuple(f if isinstance(f, str) else tuple(f) for f in facts),
                answerable=bool(row.get("answerable", True)), conversation_id=row.get("conversation_id"),
                group=str(row.get("kind") or row.get("topic") or ""))


def sample_units(items: list[Item], n: int | None) -> list[Item]:
    """A fixed-seed sample of about ``n`` items that keeps each conversation whole and in order."""
    if not n or n >= len(items):
        return items
    units: dict[str, list[Item]] = {}
    for it in items:
        units.setdefault(it.conversation_id or f"item:{it.id}", []).append(it)
    picked: list[list[Item]] = []
    for unit in generic.sample_rows(list(units.values()), len(units)):  # a seeded shuffle of the units
        if sum(len(u) for u in picked) >= n:
            break
        picked.append(unit)
    keep = {it.id for u in picked for it in u}
    return [it for it in items if it.id in keep]


def ensure_sample_knowledge(services: Services) -> dict[str, Any]:
    """Register the sample tenants and ingest each one that has no live version (what ``qa serve`` does on
    first start); returns the tenants ingested and their live versions."""
    from qa_service.bootstrap import bootstrap_samples
    from qa_service.kb import versions

    ingested = bootstrap_samples(services)
    with services.db.session() as s:
        live = {t: (row.version if row else None) for t in ("city", "tax")
                for row in [versions.live_row(s, t)]}
    return {"ingested": ingested, "live_versions": live}


def source_text(tenant: str, file: str, root: Path = KNOWLEDGE) -> str:
    """The text the ingestion extracts from one sample source (loader + Unicode normalisation, no chunking)."""
    from qa_service.ingest.loaders import detect_type, load_file
    from qa_service.ingest.normalise import normalise

    path = root / tenant / file
    kind = detect_type(path)
    if kind is None:
        raise ValueError(f"{path}: not a supported source format")
    doc = load_file(path, kind)
    return "\n".join(normalise(s.text)[0] for s in doc.sections)

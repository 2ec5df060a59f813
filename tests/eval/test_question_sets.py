"""Shape of the question sets written for the sample knowledge: ids unique, both splits non-empty, follow-ups
after the question they follow, and every key fact present in the text of one of the question's gold sources."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
import yaml

from eval.runner import states
from eval.splits import split_of
from eval.suites.sample_sets import BROAD, KNOWLEDGE, OOS, TUNED, read_set, source_text, to_item

pytestmark = pytest.mark.unit


@cache
def _text(tenant: str, file: str) -> str:
    return source_text(tenant, file)


def _catalog(tenant: str) -> dict[str, dict[str, Any]]:
    cat = yaml.safe_load((KNOWLEDGE / tenant / "catalog.yaml").read_text(encoding="utf-8"))
    return {str(e["file"]): e for e in cat["sources"]}


@pytest.mark.parametrize("name,set_name", [(BROAD, "broad"), (OOS, "oos")])
def test_ids_unique_and_both_splits_in_each_language(name: str, set_name: str) -> None:
    rows = read_set(name)
    ids = [r["qid"] for r in rows]
    assert len(ids) == len(set(ids))
    for lang in ("zh", "en"):
        splits = {split_of(set_name, to_item(r).split_key) for r in rows if r["lang"] == lang}
        assert splits == {"dev", "test"}, (lang, splits)
    assert all(r["tenant"] in ("city", "tax") and r["question"].strip() for r in rows)


def test_broad_set_size_languages_and_kinds() -> None:
    rows = read_set(BROAD)
    assert len(rows) >= 40
    zh = sum(r["lang"] == "zh" for r in rows)
    assert abs(zh - (len(rows) - zh)) <= len(rows) // 5  # about half zh, half en
    assert {r["kind"] for r in rows} >= {"procedure", "documents", "eligibility", "what_if", "follow_up"}
    tuned = {r["question"] for r in read_set(TUNED)}
    assert not tuned & {r["question"] for r in rows}  # no question copied from the set the code was tuned on


def test_follow_ups_come_after_their_first_turn() -> None:
    rows = read_set(BROAD)
    seen: dict[str, int] = {}
    for r in rows:
        conv = r.get("conversation_id")
        if r["kind"] == "follow_up":
            assert conv and seen.get(conv), r["qid"]  # a follow-up never opens a conversation
        if conv:
            seen[conv] = seen.get(conv, 0) + 1
    assert len(seen) >= 4 and all(n >= 2 for n in seen.values())


def test_every_key_fact_is_in_a_gold_source_of_the_question() -> None:
    missing = []
    for r in read_set(BROAD):
        assert r["key_facts"] and r["gold_files"], r["qid"]
        catalog = _catalog(r["tenant"])
        for f in r["gold_files"]:
            entry = catalog[f]  # a gold file is a source of the question's tenant
            assert entry.get("visibility", "public") == "public" and not entry.get("expiry_date"), (r["qid"], f)
        texts = [_text(r["tenant"], f) for f in r["gold_files"]]
        for fact in r["key_facts"]:
            if not any(states(t, fact) for t in texts):
                missing.append((r["qid"], fact))
    assert not missing


def test_out_of_scope_questions_have_no_gold_and_no_key_facts() -> None:
    rows = read_set(OOS)
    assert len(rows) >= 24
    assert sum(r["lang"] == "zh" for r in rows) >= 10 and sum(r["lang"] == "en" for r in rows) >= 10
    for r in rows:
        item = to_item(r)
        assert not item.answerable and not item.gold and not item.key_facts and item.group
    # whether the topic is also among the unanswerable questions the answer steps were tuned on, both kinds present
    assert {r["topic_in_tuned_set"] for r in rows} == {True, False}
    tuned_text = " ".join(r["question"] for r in read_set(TUNED) if not r["answerable"]).lower()
    for r in rows:
        if r["topic_in_tuned_set"]:
            assert r["question"] not in tuned_text  # same topic, new wording


def test_tuned_set_items_use_its_expected_tokens_as_key_facts() -> None:
    rows = [r for r in read_set(TUNED) if r["answerable"]]
    item = to_item(rows[0])
    assert item.key_facts == tuple(rows[0]["expected_tokens"]) and item.gold == tuple(rows[0]["gold_files"])

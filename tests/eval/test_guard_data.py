"""The guard's fixed splits (eval/guard_data.py): stable hashes, every set in train/dev/test, no text in two
splits, JailBench split by template, and the never-used sets never in train or dev."""

from __future__ import annotations

import pytest

from eval import guard_data as gd
from tests.conftest import EVAL_DATA

pytestmark = pytest.mark.unit


def test_the_split_of_a_key_is_fixed() -> None:
    # pinned: a change to the hash or the cut points would silently move items between train and test
    assert [gd.split_of(k) for k in ("cough:0", "cough:1", "lecoqa:0", "sample:city-001")] == \
        ["train", "train", "dev", "train"]
    shares = [gd.split_of(f"k{i}") for i in range(20000)]
    assert abs(shares.count("train") / 20000 - 0.6) < 0.02 and abs(shares.count("test") / 20000 - 0.2) < 0.02


@pytest.fixture(scope="module")
def items() -> tuple[gd.Item, ...]:
    if not EVAL_DATA.is_dir():
        pytest.skip(f"no evaluation data at {EVAL_DATA}")
    return gd.load(EVAL_DATA)


def test_every_set_has_all_three_splits_and_the_unused_sets_none(items: tuple[gd.Item, ...]) -> None:
    counts = gd.counts(items)
    for name in (*gd.ATTACK_SETS, *gd.BENIGN_SETS):
        assert set(counts[name]) == set(gd.SPLITS), (name, counts[name])
    for name in gd.UNUSED_SETS:
        assert set(counts[name]) == {"unused"} and counts[name]["unused"] > 0


def test_no_text_is_in_two_splits(items: tuple[gd.Item, ...]) -> None:
    where: dict[str, set[str]] = {}
    for it in items:
        where.setdefault(it.text.strip(), set()).add(it.split)
    assert [t[:60] for t, s in where.items() if len(s) > 1] == []


def test_jailbench_templates_never_straddle_splits(items: tuple[gd.Item, ...]) -> None:
    jb = [it for it in items if it.dataset == gd.JAILBENCH]
    assert len(jb) == 2160
    by_prefix: dict[str, set[str]] = {}
    for it in jb:
        by_prefix.setdefault(it.text[:30], set()).add(it.split)
    assert all(len(s) == 1 for s in by_prefix.values())
    assert any(not it.seen_seed for it in jb if it.split == "test")


def test_licences_come_from_each_folders_provenance() -> None:
    if not EVAL_DATA.is_dir():
        pytest.skip(f"no evaluation data at {EVAL_DATA}")
    lic = gd.licences(EVAL_DATA)
    assert lic[gd.COUGH].startswith("CC BY-NC-SA") and lic[gd.JAILBENCH].startswith("MIT")
    assert all("unknown" not in v for v in lic.values())

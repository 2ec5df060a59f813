"""One dev/test split for every evaluation set, by a hash of the item's id.

An item is in ``dev`` when the first byte of ``sha256("<set>:<id>")`` is even, else in ``test``. The split never
changes when a set grows or is re-ordered, and it is the same on every machine. Thresholds, weights and constants
are chosen on ``dev``; reports give ``test`` as the headline with the dev–test gap beside it. (The input guard's
train/dev/test split, which trains a model, lives in eval/guard_data.py.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Literal, TypeVar

Split = Literal["dev", "test"]
T = TypeVar("T")


def split_of(set_name: str, item_id: str) -> Split:
    """The split of one item of ``set_name``."""
    digest = hashlib.sha256(f"{set_name}:{item_id}".encode()).digest()
    return "dev" if digest[0] % 2 == 0 else "test"


def pick(set_name: str, items: Iterable[T], item_id: Callable[[T], str], split: Split | None) -> list[T]:
    """The items of one split (all of them when ``split`` is None)."""
    rows = list(items)
    if split is None:
        return rows
    return [row for row in rows if split_of(set_name, item_id(row)) == split]

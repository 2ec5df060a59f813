"""Resident ID numbers from python-stdnum's own CN test vectors (read at test time from
../shared/eval-data/pii-python-stdnum-cn, never copied): every ID-shaped number is redacted whether or not
it is valid, and the recorded checksum validity agrees with what the vectors say about ``ric.validate``."""

from __future__ import annotations

import os
import re

import pytest

from eval.data import eval_data_dir
from qa_service.guard.pii import redact

pytestmark = pytest.mark.unit
VECTORS = eval_data_dir() / "pii-python-stdnum-cn" / "test_cn_ric.doctest"
_CALL = re.compile(r">>> ric\.validate\('([0-9]{17}[0-9Xx])'\)")


def _vectors() -> list[tuple[str, bool]]:
    """(number, valid) for each ``ric.validate`` example: valid unless a traceback follows it."""
    lines = VECTORS.read_text(encoding="utf-8").splitlines()
    out = []
    for i, line in enumerate(lines):
        m = _CALL.match(line.strip())
        if m:
            out.append((m.group(1), not lines[i + 1].startswith("Traceback")))
    return out


def test_every_id_shaped_vector_is_redacted_with_its_validity() -> None:
    if not VECTORS.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"evaluation data missing at {VECTORS}")
        pytest.skip("no python-stdnum CN vectors")
    vectors = _vectors()
    assert any(valid for _, valid in vectors) and any(not valid for _, valid in vectors)
    for number, valid in vectors:
        text, found = redact(f"我的身份证号是{number}，丢了怎么补办？")
        assert number not in text and number.upper() not in text
        ids = [m for m in found if m.kind == "CN_ID"]
        assert ids, number
        assert ids[0].valid_checksum is valid, number

"""Every `answered` answer has ≥ 1 citation and each sentence is supported by a passage it cites —
checked on 200 answers over the shipped sample knowledge (both tenants, both channels)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rapidfuzz import fuzz

from qa_service.answer.service import ask
from tests.conftest import REPO

pytestmark = pytest.mark.integration
VARIANTS = ("{q}", "请问{q}", "{q} 谢谢", "Question: {q}", "{q}?")


@pytest.fixture(scope="module")
def sample_kb(tmp_path_factory: pytest.TempPathFactory, shared_models: dict[str, Any]) -> Any:
    from qa_service.ingest.pipeline import run_ingest
    from qa_service.services import Services
    from qa_service.settings import load_settings

    data = tmp_path_factory.mktemp("sample")
    svc = Services(load_settings(None, data_dir=str(data)))
    svc.__dict__["dense"], svc.__dict__["sparse"] = shared_models["dense"], shared_models["sparse"]
    for tenant in ("city", "tax"):
        res = run_ingest(svc, [REPO / "knowledge" / tenant], tenant, publish=True)
        assert res.sources["failed"] == 0, res.errors
    yield svc
    svc.close()


def _questions() -> list[dict[str, Any]]:
    rows = [json.loads(x) for x in Path(REPO / "knowledge" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
            if x.strip()]
    return [{**q, "question": v.format(q=q["question"])} for v in VARIANTS for q in rows]


def test_200_answers_are_cited_and_supported(sample_kb: Any) -> None:
    questions = _questions()
    assert len(questions) == 200
    answered = 0
    for q in questions:
        ctx, out = ask(sample_kb, q["question"], q["tenant"], q.get("channel", "citizen"))
        if out["decision"] != "answered":
            continue
        answered += 1
        assert out["citations"], out
        by_n = {p.n: p for p in ctx.passages}
        for s in ctx.sentences:
            assert s.cites and all(n in by_n for n in s.cites)
            best = max(fuzz.partial_ratio(s.text, by_n[n].text) for n in s.cites)
            assert best >= 90 or (s.support or 0) >= sample_kb.settings.answer.support_threshold, (s, q)
        cited_numbers = {int(n) for n in re.findall(r"\[(\d+)\]", out["answer"])}
        assert cited_numbers == {c["n"] for c in out["citations"]}
        if q.get("channel", "citizen") == "citizen":
            assert all(by_n[c["n"]].visibility == "public" for c in out["citations"])
    # enough answers were checked (the answered share is the eval's figure): 86 of 200 on 2026-12-03 with the learned
    # wrong-answer estimate, which holds or declines more than the hand-set rule did (>= 100 before)
    assert answered >= 80

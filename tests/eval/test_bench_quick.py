"""Smoke test of `qa bench run --quick`: the report pair is written and has every section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa_service.cli.main import app

SECTIONS = [
    "## Summary",
    "## Machine",
    "## Ingestion throughput",
    "## Re-ingest (unchanged corpus)",
    "## Query latency by KB size",
    "## API throughput and latency",
    "## Several workers (`qa serve --workers 2`)",
    "## Memory and cold start",
]


@pytest.mark.integration
@pytest.mark.slow
def test_bench_quick_writes_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("QA_CONFIG", raising=False)
    out = tmp_path / "reports"
    result = CliRunner().invoke(app, ["bench", "run", "--quick", "--out", str(out), "--max-chunks", "5000",
                                      "--work-dir", str(tmp_path / "work")])
    assert result.exit_code == 0, result.output
    md = list(out.glob("bench-*.md"))
    js = list(out.glob("bench-*.json"))
    assert len(md) == 1 and len(js) == 1
    text = md[0].read_text(encoding="utf-8")
    for section in SECTIONS:
        assert section in text, section
    data = json.loads(js[0].read_text(encoding="utf-8"))
    assert data["quick"] is True
    runs = data["config"]["runs"]
    assert runs == 3 and data["ingest"]["reingest_embedded"] == [0] * runs
    assert data["ingest"]["runs"][0]["chunks"]["embedded"] > 0
    assert len(data["ingest"]["peer_runs"]) == len(data["ingest"]["raw_runs"]) == runs
    assert data["ingest"]["peer_median"] > 0 and data["ingest"]["raw_median"] > 0
    assert [s["chunks"] for s in data["scale"]["sizes"]] == [1000, 5000]
    for s in data["scale"]["sizes"]:
        assert s["questions"] > 0 and s["sentence_vectors"] > 0
        for side in ("ours", "peer", "raw"):  # every latency figure beside the peer's and the raw limit's
            assert len(s["passes"][side]) == runs
            assert all(s[side][lang]["n"] > 0 and s[side][lang]["p95_ms"] >= s[side][lang]["p50_ms"] > 0
                       for lang in ("zh", "en"))
    assert "| Ours | Peer (llama-index) | Raw limit |" in text
    assert [lv["concurrency"] for lv in data["api"]["levels"]] == [1, 8, 32]
    assert all(lv["ok"] > 0 for lv in data["api"]["levels"])
    assert all(a["ok"] for a in data["cold"]["ask_runs"])
    assert data["machine"]["cores"] and data["machine"]["torch"]

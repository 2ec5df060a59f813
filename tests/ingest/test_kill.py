"""SIGKILL mid-ingestion: the live version answers exactly as before and the draft ends `failed`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from qa_service.db.models import IngestJob
from qa_service.ingest.pipeline import run_ingest
from qa_service.kb import versions
from qa_service.kb.search import search

pytestmark = pytest.mark.integration


def test_sigkill_leaves_live_untouched(make_services: Any, db_url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    svc = make_services(database_url=db_url, data_dir=data)
    small = tmp_path / "small"
    small.mkdir()
    (small / "a.md").write_text("# Library cards\nA library card is free for residents and lasts five years.",
                                encoding="utf-8")
    run_ingest(svc, [small], "town", publish=True)
    before = [(h.chunk_id, round(h.score, 6)) for h in search(svc, "town", "library card free", k=5).hits]
    big = tmp_path / "big.jsonl"
    with big.open("w", encoding="utf-8") as fh:
        for i in range(4000):
            fh.write(json.dumps({"doc_id": f"r{i}", "title": f"Rule {i}",
                                 "text": f"Rule {i}: applications of type {i} are decided within {i % 30 + 1} days "
                                         "after the office receives every required document."}) + "\n")
    env = {**os.environ, "QA_DATA_DIR": str(data), "DATABASE_URL": db_url, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "qa_service", "ingest", str(big), "--tenant", "town", "--json"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    job_id = None
    while time.monotonic() < deadline and job_id is None:
        time.sleep(0.5)
        with svc.db.session() as s:
            job = s.execute(select(IngestJob).where(IngestJob.state == "running")).scalar_one_or_none()
            job_id = job.id if job else None
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
    assert job_id, "the ingestion never started"
    time.sleep(3)  # let it write part of the draft
    assert proc.poll() is None, "ingestion finished before it could be killed; make the corpus bigger"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    after = [(h.chunk_id, round(h.score, 6)) for h in search(svc, "town", "library card free", k=5).hits]
    assert after == before
    with svc.db.session() as s:
        failed = versions.recover_orphans(s, svc.store)
    assert failed == [job_id]
    with svc.db.session() as s:
        states = {v.version: v.state for v in versions.list_versions(s, "town")}
        job = s.get(IngestJob, job_id)
        assert job is not None and job.state == "failed"
    assert states == {1: "live", 2: "failed"}
    assert svc.store.list_versions("town") == [1]
    leftovers = [p.name for p in (data / "shards" / "town").iterdir() if p.name.startswith(".")]
    assert leftovers == []

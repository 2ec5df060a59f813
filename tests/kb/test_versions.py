"""Version garbage collection keeps the rollback target and counts only published versions; failed
builds leave no sealed shard behind. Real Edge store, both databases (issue 14 item 5)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from qa_service.db.models import IngestJob, KbVersion
from qa_service.ingest import build
from qa_service.ingest import pipeline as ingest_pipeline
from qa_service.ingest.pipeline import run_ingest
from qa_service.kb import versions

pytestmark = pytest.mark.unit


def _fee(folder: Path, dollars: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pool.md").write_text(f"# Pool\nA swimming pool ticket costs {dollars} dollars.", encoding="utf-8")
    return folder


def _states(svc: Any) -> dict[int, str]:
    with svc.db.session() as s:
        return {v.version: v.state for v in versions.list_versions(s, "town")}


def _killed_mid_job(svc: Any, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A job that dies half-way (an exception while the draft is written)."""
    def boom(self: Any, source_ids: set[str]) -> None:
        raise RuntimeError("killed mid-job")

    with monkeypatch.context() as m:
        m.setattr(build.VersionBuilder, "copy_sources", boom)
        with pytest.raises(RuntimeError, match="killed mid-job"):
            run_ingest(svc, [folder], "town")


def test_rollback_survives_failed_jobs(make_services: Any, db_url: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's scenario: v1, v2 published, four killed jobs, v7 published: rollback returns to v2."""
    svc = make_services(database_url=db_url, store={"keep_versions": 5})
    folder = tmp_path / "kb"
    assert run_ingest(svc, [_fee(folder, 10)], "town", publish=True).version == 1
    assert run_ingest(svc, [_fee(folder, 20)], "town", publish=True).version == 2
    for dollars in (30, 40, 50, 60):
        _killed_mid_job(svc, _fee(folder, dollars), monkeypatch)
    assert _states(svc) == {1: "previous", 2: "live", 3: "failed", 4: "failed", 5: "failed", 6: "failed"}
    assert run_ingest(svc, [_fee(folder, 70)], "town", publish=True).version == 7
    assert _states(svc) == {1: "previous", 2: "previous", 3: "failed", 4: "failed", 5: "failed", 6: "failed",
                            7: "live"}
    with svc.db.session() as s:
        back = versions.rollback(s, svc.store, "town", "editor-1")
    assert back.version == 2 and svc.store.live_version("town") == 2
    assert svc.store.list_versions("town") == [1, 2, 7]


def test_gc_keeps_n_published_and_always_the_rollback_target(make_services: Any, db_url: str,
                                                              tmp_path: Path) -> None:
    svc = make_services(database_url=db_url, store={"keep_versions": 1})
    folder = tmp_path / "kb"
    for dollars in (10, 20, 30):
        run_ingest(svc, [_fee(folder, dollars)], "town", publish=True)
    # keep 1 published version, but the one live before (v2) is the rollback target: kept too
    assert _states(svc) == {1: "deleted", 2: "previous", 3: "live"}
    assert svc.store.list_versions("town") == [2, 3]
    with svc.db.session() as s:
        assert versions.rollback(s, svc.store, "town", "editor-1").version == 2


def test_publish_and_clean_is_one_function(make_services: Any, db_url: str, tmp_path: Path) -> None:
    svc = make_services(database_url=db_url, store={"keep_versions": 2})
    folder = tmp_path / "kb"
    for dollars in (10, 20):
        run_ingest(svc, [_fee(folder, dollars)], "town", publish=True)
    draft = run_ingest(svc, [_fee(folder, 30)], "town")
    with svc.db.session() as s:
        row, dropped = versions.publish_and_clean(s, svc.store, "town", draft.version, "editor-1",  # type: ignore[arg-type]
                                                  keep=2)
        assert row.state == "live"
    assert dropped == [1] and _states(svc) == {1: "deleted", 2: "previous", 3: "live"}


def test_failure_after_the_seal_fails_the_job_and_drops_the_shard(make_services: Any, db_url: str,
                                                                  tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A job that dies after its shard was sealed (here: the ledger write fails) must not stay `running`
    with a `building` row and a sealed shard nobody owns."""
    svc = make_services(database_url=db_url)
    folder = tmp_path / "kb"
    run_ingest(svc, [_fee(folder, 10)], "town", publish=True)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    with monkeypatch.context() as m:
        m.setattr(ingest_pipeline, "update_ledger", broken)
        with pytest.raises(RuntimeError, match="database went away"):
            run_ingest(svc, [_fee(folder, 20)], "town")
    assert _states(svc) == {1: "live", 2: "failed"}
    assert svc.store.list_versions("town") == [1]
    with svc.db.session() as s:
        job = s.scalars(select(IngestJob).where(IngestJob.version == 2)).one()
        assert job.state == "failed" and job.finished_at is not None


def test_orphaned_job_with_a_sealed_shard_is_cleaned(make_services: Any, db_url: str, tmp_path: Path) -> None:
    """SIGKILL after the seal but before the database update: the next start marks the version failed and
    drops its shard, so a failed version never keeps an index that looks publishable."""
    svc = make_services(database_url=db_url)
    folder = tmp_path / "kb"
    run_ingest(svc, [_fee(folder, 10)], "town", publish=True)
    draft = run_ingest(svc, [_fee(folder, 20)], "town")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with svc.db.session() as s:  # rewind the job to what a kill right after the seal leaves behind
        job = s.get(IngestJob, draft.job_id)
        assert job is not None
        job.state, job.pid, job.finished_at = "running", dead.pid, None
        s.scalars(select(KbVersion).where(KbVersion.version == draft.version)).one().state = "building"
    assert svc.store.has_version("town", 2)
    with svc.db.session() as s:
        assert versions.recover_orphans(s, svc.store) == [draft.job_id]
    assert _states(svc) == {1: "live", 2: "failed"}
    assert svc.store.list_versions("town") == [1]
    with svc.db.session() as s, pytest.raises(versions.VersionError):
        versions.publish(s, svc.store, "town", 2, "editor-1")

"""The ingestion job object: phases, source outcomes, and a stop recorded as itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qa_service.db.models import IngestJob, KbVersion
from qa_service.ingest import jobs
from qa_service.ingest.pipeline import IngestJobRun, JobStopped, Phase, SourceOutcome, run_ingest
from tests.kbdata import write_folder

pytestmark = pytest.mark.unit


def test_outcomes_count_under_the_result_keys_and_no_changes_is_an_end_state() -> None:
    assert {o.counted_as for o in SourceOutcome} == {"added", "updated", "unchanged", "removed", "refused",
                                                      "failed", "skipped"}
    assert SourceOutcome.FAILED_KEEP.counted_as == "failed"
    assert "no_changes" in jobs.FINISHED  # a job that changed nothing ended; it did not die


def test_a_run_walks_its_phases_and_counts_outcomes(make_services: Any, tmp_path: Path) -> None:
    svc = make_services()
    folder = write_folder(tmp_path / "kb")
    run = IngestJobRun(svc, [folder], "town", publish=True)
    assert run.phase is Phase.START
    first = run.run()
    assert run.phase is Phase.DONE and first.state == "succeeded" and first.published
    assert first.sources["added"] > 0 and first.sources["failed"] == 0
    again = run_ingest(svc, [folder], "town")
    assert again.state == "no_changes" and again.version is None
    assert again.sources["unchanged"] == first.sources["added"]


def test_a_cancel_is_recorded_as_cancelled_not_first_as_failed(make_services: Any, tmp_path: Path) -> None:
    svc = make_services()
    stop = JobStopped("cancelled by erin", "cancelled")
    run = IngestJobRun(svc, [write_folder(tmp_path / "kb")], "town", stop=lambda: stop)
    with pytest.raises(JobStopped):
        run.run()
    assert run.phase is Phase.SOURCES
    with svc.db.session() as s:
        job = s.get(IngestJob, run.job_id)
        assert job is not None and job.state == "cancelled"
        assert any("cancelled by erin" in e["error"] for e in job.errors)
        version = s.query(KbVersion).filter_by(tenant="town", version=run.version).one()
        assert version.state == "failed"

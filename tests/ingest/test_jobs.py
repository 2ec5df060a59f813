"""The ingestion job queue on both databases: claims (one job per tenant, each job once under
concurrent workers), cancel of queued and running jobs, the run-time limit, per-job limits, and a
worker that runs jobs in their own process and leaves the tenant free for the next upload."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from qa_service.db.models import AuditEvent, IngestJob, utcnow
from qa_service.db.session import Database
from qa_service.ingest import jobs
from qa_service.ingest.pipeline import run_ingest
from qa_service.ingest.worker import Worker
from qa_service.kb import versions
from tests.ingest.test_loaders_limits import make_docx, page_tree_bomb

pytestmark = pytest.mark.integration


GRACE_S = 20.0


@pytest.fixture
def svc(make_services: Any, db_url: str) -> Any:
    # the kill grace leaves a cancelled job time to stop itself between two sources: on a loaded 2-core machine one
    # embedding batch inside a source took longer than 8 s, and the worker killed the job before it stopped
    return make_services(database_url=db_url, ingest={"worker_heartbeat_seconds": 0.3, "worker_poll_seconds": 0.2,
                                                      "worker_kill_grace_seconds": GRACE_S})


def _queue(svc: Any, tenant: str, folder: Path, publish: bool = False) -> str:
    with svc.db.session() as s:
        return jobs.enqueue(s, tenant, [folder], "erin", publish=publish).id


def _job(svc: Any, job_id: str) -> IngestJob:
    with svc.db.session() as s:
        job = s.get(IngestJob, job_id)
        assert job is not None
        return job


def _wait(what: Callable[[], Any], seconds: float = 180, label: str = "") -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {label or what}")


def _folder(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_claim_takes_the_oldest_job_of_a_free_tenant(svc: Any, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "kb", {"a.md": "# A\nThe pool opens at seven."})
    a1, a2, b1 = _queue(svc, "town", folder), _queue(svc, "town", folder), _queue(svc, "city", folder)
    limits = svc.settings.ingest
    assert jobs.claim(svc.db, "w1", limits) == a1
    assert jobs.claim(svc.db, "w2", limits) == b1  # town already runs a job: its second one waits
    assert jobs.claim(svc.db, "w3", limits) is None
    claimed = _job(svc, a1)
    assert claimed.state == "running" and claimed.worker == "w1"
    assert claimed.deadline_at is not None and claimed.lease_until is not None
    assert abs((claimed.deadline_at - claimed.started_at).total_seconds() - limits.max_job_seconds) < 1
    with svc.db.session() as s:
        s.execute(update(IngestJob).where(IngestJob.id == a1).values(state="succeeded"))
    assert jobs.claim(svc.db, "w1", limits) == a2


def test_concurrent_workers_claim_each_job_once(svc: Any, db_url: str, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "kb", {"a.md": "# A\nThe pool opens at seven."})
    queued = {_queue(svc, f"t{i}", folder) for i in range(12)} | {_queue(svc, "same", folder) for _ in range(4)}
    claims: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def worker(n: int) -> None:
        db = Database(db_url)  # its own engine and connections, like a separate worker process
        try:
            start.wait()
            while (job_id := jobs.claim(db, f"w{n}", svc.settings.ingest)) is not None:
                claims.append(job_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(claims) == len(set(claims)) == 13  # every job once; only one of the four "same" jobs
    with svc.db.session() as s:
        running = s.scalars(select(IngestJob.tenant).where(IngestJob.state == "running")).all()
    assert sorted(running).count("same") == 1 and set(claims) <= queued


def test_cancel_a_queued_job(svc: Any, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "kb", {"a.md": "# A\nThe pool opens at seven."})
    job_id = _queue(svc, "town", folder)
    with svc.db.session() as s:
        assert jobs.request_cancel(s, "town", job_id, "erin").state == "cancelled"
    assert jobs.claim(svc.db, "w1", svc.settings.ingest) is None
    job = _job(svc, job_id)
    assert job.errors == [{"source": None, "error": "cancelled by erin before it started"}]
    with svc.db.session() as s, pytest.raises(jobs.JobFinished):
        jobs.request_cancel(s, "town", job_id, "erin")
    with svc.db.session() as s, pytest.raises(jobs.JobNotFound):
        jobs.request_cancel(s, "city", job_id, "erin")  # another tenant's job is not found
    with svc.db.session() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.target == job_id)).all()
    assert actions == ["ingest.queued", "ingest.cancel"]


def test_job_limits_fail_files_one_by_one(svc: Any, tmp_path: Path) -> None:
    """A folder past the per-job file limit and two bombs: each refused file is an error, the rest ingest."""
    folder = _folder(tmp_path / "kb", {f"z{i}.md": f"# Page {i}\nOffice {i} opens at {i % 12 + 1}." for i in range(4)})
    make_docx(folder / "bomb.docx", 1_500_000)
    page_tree_bomb(folder / "pages.pdf")
    svc.settings.ingest.max_files_per_job = 5
    started = time.monotonic()
    res = run_ingest(svc, [folder], "town")
    assert time.monotonic() - started < 60
    errors = {e["source"]: e["error"] for e in res.errors}
    assert "word/document.xml" in errors["bomb.docx"] and "65536 pages" in errors["pages.pdf"]
    assert "ingest.max_files_per_job" in errors["z3.md"]  # sorted: bomb, pages, z0, z1, z2, z3 (the 6th)
    assert res.state == "partial" and res.sources["added"] == 3 and res.sources["failed"] == 3


@pytest.fixture
def worker(svc: Any) -> Iterator[Worker]:
    w = Worker(svc.settings)
    thread = threading.Thread(target=w.run, name="test-worker", daemon=True)
    thread.start()
    yield w
    w.stop()
    thread.join(60)
    w.close()


def _slow_file(root: Path) -> Path:
    """One text file of ~1,500 chunks: minutes of embedding, all inside one source (no cooperative stop)."""
    root.mkdir(parents=True)
    text = "\n\n".join(f"Section {i}. Applications of type {i} are decided within {i % 30 + 1} working days "
                       f"after office {i % 17} receives form {i * 7} and proof of address number {i * 13}. " * 3
                       for i in range(1500))
    (root / "slow.txt").write_text(text, encoding="utf-8")
    return root


def _many_files(root: Path) -> Path:
    """1,000 small sources (the per-job file limit; ~17 s on 2 cores): a stop request is seen between two of them,
    however fast the machine (400 finished before the cancel was read on a quiet one)."""
    return _folder(root, {f"r{i}.md": f"# Rule {i}\nPermit type {i} costs {i + 5} dollars and lasts {i % 9 + 1} "
                                      f"years at office {i % 13}." for i in range(1000)})


def _running_with_version(svc: Any, job_id: str) -> bool:
    job = _job(svc, job_id)
    return job.state == "running" and job.version is not None


def test_worker_runs_stops_and_frees_the_tenant(svc: Any, worker: Worker, tmp_path: Path) -> None:
    first = _queue(svc, "town", _folder(tmp_path / "one", {"pool.md": "# Pool\nThe pool opens at seven."}),
                   publish=True)
    done = _wait(lambda: _job(svc, first).state in jobs.FINISHED and _job(svc, first), label="first job")
    assert done.state == "succeeded", done.errors
    assert done.pid != os.getpid() and done.done == done.total == 1  # ran in its own process, progress recorded

    # past its run-time limit inside one source: the worker kills the job process
    slow = _queue(svc, "town", _slow_file(tmp_path / "slow"))
    _wait(lambda: _running_with_version(svc, slow), label="slow job running")
    with svc.db.session() as s:  # the limit was reached (as if max_job_seconds had passed since the claim)
        s.execute(update(IngestJob).where(IngestJob.id == slow).values(deadline_at=utcnow()))
    stopped_at = time.monotonic()
    timed = _wait(lambda: _job(svc, slow).state in jobs.FINISHED and _job(svc, slow), 60, "timed out job")
    assert time.monotonic() - stopped_at < GRACE_S + 12
    assert timed.state == "timed_out" and "run-time limit" in timed.errors[-1]["error"], timed.errors

    # cancelled while running through many small sources: it stops itself between two of them
    many = _queue(svc, "town", _many_files(tmp_path / "many"))
    _wait(lambda: _running_with_version(svc, many) and _job(svc, many).done > 0, label="many-files job running")
    with svc.db.session() as s:
        assert jobs.request_cancel(s, "town", many, "erin").state == "running"
    cancelled = _wait(lambda: _job(svc, many).state in jobs.FINISHED and _job(svc, many), 60, "cancelled job")
    assert cancelled.state == "cancelled" and 0 < cancelled.done < cancelled.total
    assert any("cancelled by erin" in e["error"] for e in cancelled.errors), cancelled.errors

    # neither left a draft, and the tenant's next upload runs (no job left blocking it)
    with svc.db.session() as s:
        states = {v.version: v.state for v in versions.list_versions(s, "town")}
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.target.in_([slow, many]))).all()
    assert states[timed.version] == "failed" and states[cancelled.version] == "failed"
    assert not svc.store.has_version("town", timed.version) and not svc.store.has_version("town", cancelled.version)
    assert "ingest.timed_out" in actions and "ingest.cancel" in actions
    nxt = _queue(svc, "town", _folder(tmp_path / "two", {"gym.md": "# Gym\nThe gym opens at six."}), publish=True)
    after = _wait(lambda: _job(svc, nxt).state in jobs.FINISHED and _job(svc, nxt), label="next job")
    assert after.state == "succeeded", after.errors
    with svc.db.session() as s:
        live = versions.live_row(s, "town")
        assert live is not None and live.version == after.version and set(live.manifest) == {"pool.md", "gym.md"}


def test_a_dead_job_process_is_recorded_and_the_queue_moves_on(svc: Any, tmp_path: Path) -> None:
    """A job whose process died (here: the worker itself was gone) no longer blocks its tenant."""
    folder = _folder(tmp_path / "kb", {"a.md": "# A\nThe pool opens at seven."})
    stuck, waiting = _queue(svc, "town", folder), _queue(svc, "town", folder)
    assert jobs.claim(svc.db, "gone", svc.settings.ingest) == stuck
    with svc.db.session() as s:  # the claiming worker died on this host: its pid no longer exists
        s.execute(update(IngestJob).where(IngestJob.id == stuck).values(pid=2**22 + 12345))
    assert jobs.claim(svc.db, "w2", svc.settings.ingest) is None
    jobs.recover_lost(svc.db, svc.store, svc.settings.ingest)
    assert _job(svc, stuck).state == "failed"
    assert jobs.claim(svc.db, "w2", svc.settings.ingest) == waiting
    with svc.db.session() as s:  # another host's worker that stopped renewing its lease
        s.execute(update(IngestJob).where(IngestJob.id == waiting).values(
            host="elsewhere", lease_until=utcnow() - dt.timedelta(seconds=1)))
    assert jobs.recover_lost(svc.db, svc.store, svc.settings.ingest) == [waiting]
    assert "worker lost" in _job(svc, waiting).errors[-1]["error"]


def test_migration_0008_matches_the_model(svc: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from qa_service.db.models import Base

    with svc.db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "ingest_jobs" in repr(d)] == []

"""Upload jobs over HTTP: queued (202 with a job id), run by a worker subprocess, cancelled by route;
while a slow job runs, /api/v1/ask answers promptly; a stopped job does not block the next upload."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa_service import tenants
from qa_service.ingest.worker import WorkerProcess
from qa_service.users.accounts import create_user
from qa_service.web.app import create_app

pytestmark = pytest.mark.integration
ASK = {"question": "How much does a resident parking permit cost?"}
log = logging.getLogger(__name__)


def _slow_upload() -> bytes:
    return "\n\n".join(f"Section {i}. Applications of type {i} are decided within {i % 30 + 1} working days "
                       f"after office {i % 17} receives form {i * 7}. " * 3 for i in range(1500)).encode()


def _until(c: TestClient, h: dict[str, str], job_id: str, done: Any, seconds: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = c.get(f"/api/v1/kb/town/jobs/{job_id}", headers=h).json()
        if done(job):
            return dict(job)
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} never reached the expected state: {job}")


def test_upload_runs_in_the_worker_while_ask_answers(town: Any, tmp_path: Path) -> None:
    town.settings.server.default_tenant = "town"
    town.settings.server.citizen_rate_per_minute = 0
    town.settings.ingest.worker_poll_seconds = 0.2
    town.settings.ingest.worker_heartbeat_seconds = 0.3
    with town.db.session() as s:
        _, token = create_user(s, "erin", "editor", "town")
    h = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(town)) as c, WorkerProcess(town.settings) as worker:
        assert worker.pid != os.getpid()
        assert c.post("/api/v1/ask", json=ASK).json()["decision"] == "answered"  # first answer loads the lazy parts
        r = c.post("/api/v1/kb/town/ingest", headers=h, files=[("files", ("slow.txt", _slow_upload(), "text/plain"))])
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["state"] == "queued" and body["files"] == ["slow.txt"]
        slow = body["job_id"]
        running = _until(c, h, slow, lambda j: j["state"] == "running" and j["version"] is not None)
        assert running["total"] == 1 and running["worker"]

        latencies = []
        for _ in range(5):  # the API process is free: the job runs in the worker's child process
            started = time.perf_counter()
            ans = c.post("/api/v1/ask", json=ASK)
            latencies.append(time.perf_counter() - started)
            assert ans.status_code == 200 and ans.json()["decision"] == "answered"
        assert c.get(f"/api/v1/kb/town/jobs/{slow}", headers=h).json()["state"] == "running"
        log.info("ask while a job runs latencies_s=%s", [round(x, 3) for x in latencies])
        assert max(latencies) < 3.0, latencies

        r = c.post(f"/api/v1/kb/town/jobs/{slow}/cancel", headers=h)
        assert r.status_code == 202 and r.json()["cancel_requested"] is True
        stopped = _until(c, h, slow, lambda j: j["state"] == "cancelled", 60)
        assert "cancelled by erin" in stopped["errors"][-1]["error"]
        versions = {v["version"]: v["state"] for v in c.get("/api/v1/kb/town/versions", headers=h).json()}
        assert versions[running["version"]] == "failed"

        r = c.post("/api/v1/kb/town/ingest", headers=h, data={"publish": "true"},
                   files=[("files", ("pool.md", b"# Pool\nThe pool opens at 7.", "text/markdown"))])
        assert r.status_code == 202, r.text  # the stopped job blocks nothing
        nxt = _until(c, h, r.json()["job_id"], lambda j: j["state"] in ("succeeded", "partial", "failed"))
        assert nxt["state"] == "succeeded" and nxt["done"] == nxt["total"] == 1, nxt

        assert c.post(f"/api/v1/kb/town/jobs/{slow}/cancel", headers=h).status_code == 409
        assert c.post("/api/v1/kb/town/jobs/nope/cancel", headers=h).status_code == 404
        assert c.get("/api/v1/kb/town/jobs/nope", headers=h).status_code == 404
        # a tenant this deployment does not serve is 404 (the registry answers before the role check) ...
        assert c.post(f"/api/v1/kb/city/jobs/{slow}/cancel", headers=h).status_code == 404
        with town.db.session() as s:
            tenants.add(s, "city")
        # ... and a served tenant the editor does not belong to is 403
        assert c.post(f"/api/v1/kb/city/jobs/{slow}/cancel", headers=h).status_code == 403


def test_upload_limits_are_413(town: Any) -> None:
    town.settings.ingest.max_files_per_job = 2
    town.settings.ingest.max_job_mb = 1
    with town.db.session() as s:
        _, token = create_user(s, "erin", "editor", "town")
    h = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(town, warm=False)) as c:
        three = [("files", (f"{n}.md", b"# A\nText.", "text/markdown")) for n in "abc"]
        r = c.post("/api/v1/kb/town/ingest", headers=h, files=three)
        assert r.status_code == 413 and "ingest.max_files_per_job" in r.json()["detail"]
        big = [("files", (f"{n}.txt", b"x" * 700_000, "text/plain")) for n in "ab"]
        r = c.post("/api/v1/kb/town/ingest", headers=h, files=big)
        assert r.status_code == 413 and "ingest.max_job_mb" in r.json()["detail"]
        assert c.get("/api/v1/kb/town/jobs", headers=h).json()[0]["state"] != "queued"  # nothing was queued


def _start_worker_and_die(settings: Any, pids: Any) -> None:
    """A `qa serve` stand-in that starts its ingestion worker and then dies without stopping it."""
    pids.put(WorkerProcess(settings).start().pid)
    time.sleep(1.0)
    os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for init to reap it has ended too
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_the_worker_stops_when_the_process_that_started_it_dies(town: Any) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    pids = ctx.Queue()
    parent = ctx.Process(target=_start_worker_and_die, args=(town.settings, pids))
    parent.start()
    worker_pid = pids.get(timeout=60)
    parent.join(30)
    assert parent.exitcode == 0 and _alive(worker_pid)  # orphaned, still running
    deadline = time.monotonic() + 30
    while _alive(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(worker_pid), "the orphaned worker kept running"

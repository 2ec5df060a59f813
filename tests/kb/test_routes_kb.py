"""The KB routes refuse malformed version numbers with 422 and unknown ones with 404, and an upload can
name its parent version (issue 14 items 6 and 9). Through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa_service.ingest.pipeline import run_ingest
from qa_service.ingest.worker import WorkerProcess
from qa_service.kb.versions import MAX_VERSION
from qa_service.users.accounts import create_user
from qa_service.web.app import create_app
from tests.kbdata import write_folder

pytestmark = pytest.mark.integration
BAD = ["0", "-1", str(2**63), str(10**30), "abc"]
POOL = ("files", ("pool.md", b"# Pool\nThe pool opens at 7.", "text/markdown"))


@pytest.fixture
def kb(make_services: Any, db_url: str, tmp_path: Path) -> Any:
    svc = make_services(database_url=db_url)
    run_ingest(svc, [write_folder(tmp_path / "kb")], "town", publish=True)
    with svc.db.session() as s:
        _, token = create_user(s, "erin", "editor", "town")
    with TestClient(create_app(svc, warm=False)) as client, WorkerProcess(svc.settings):  # uploads run in a worker
        yield client, {"Authorization": f"Bearer {token}"}


def _says(r: Any, field: str) -> bool:
    return r.status_code == 422 and any(field in d["loc"] for d in r.json()["detail"])


@pytest.mark.parametrize("bad", BAD)
def test_every_version_parameter_refuses_malformed_numbers(kb: Any, bad: str) -> None:
    c, h = kb
    r = c.post(f"/api/v1/kb/town/versions/{bad}/publish", headers=h)
    assert _says(r, "version"), r.text
    r = c.get(f"/api/v1/kb/town/diff?v1={bad}&v2=1", headers=h)
    assert _says(r, "v1"), r.text
    r = c.get(f"/api/v1/kb/town/diff?v1=1&v2={bad}", headers=h)
    assert _says(r, "v2"), r.text
    r = c.post("/api/v1/kb/town/ingest", headers=h, data={"parent": bad}, files=[POOL])
    assert _says(r, "parent"), r.text
    assert c.get("/api/v1/kb/town/versions", headers=h).status_code == 200  # the server is still fine


def test_unknown_versions_are_404_and_wrong_states_409(kb: Any) -> None:
    c, h = kb
    r = c.post(f"/api/v1/kb/town/versions/{MAX_VERSION}/publish", headers=h)
    assert r.status_code == 404 and f"no version {MAX_VERSION}" in r.json()["detail"]
    r = c.get("/api/v1/kb/town/diff?v1=1&v2=7", headers=h)
    assert r.status_code == 404 and "no version 7" in r.json()["detail"]
    r = c.post("/api/v1/kb/town/ingest", headers=h, data={"parent": "7"}, files=[POOL])
    assert r.status_code == 404 and "no version 7" in r.json()["detail"]
    assert c.post("/api/v1/kb/town/versions/1/publish", headers=h).status_code == 200  # live again: fine


def test_upload_names_its_parent_and_the_job_shows_it(kb: Any) -> None:
    c, h = kb
    r = c.post("/api/v1/kb/town/ingest", headers=h, data={"parent": "1"}, files=[POOL])
    assert r.status_code == 202 and r.json()["parent"] == 1, r.text
    job = _wait(c, h)
    assert job["state"] == "succeeded" and job["version"] == 2 and job["result"]["parent"] == 1
    again = c.post("/api/v1/kb/town/ingest", headers=h, files=[POOL])  # same file on top of draft v2
    assert again.status_code == 202 and again.json()["parent"] == 2
    job = _wait(c, h, after=job["job_id"])
    assert job["state"] == "no_changes" and job["result"]["version"] is None and job["result"]["parent"] == 2
    listed = {v["version"]: (v["state"], v["parent"]) for v in c.get("/api/v1/kb/town/versions", headers=h).json()}
    assert listed == {1: ("live", None), 2: ("draft", 1), 3: ("discarded", 2)}


def _wait(c: TestClient, h: dict[str, str], after: str | None = None) -> Any:
    for _ in range(600):
        jobs = c.get("/api/v1/kb/town/jobs", headers=h).json()
        if jobs and jobs[0]["state"] not in ("queued", "running") and jobs[0]["result"] and jobs[0]["job_id"] != after \
                and jobs[0]["created_by"] == "erin":
            return jobs[0]
        time.sleep(0.1)
    raise AssertionError("upload job did not finish")

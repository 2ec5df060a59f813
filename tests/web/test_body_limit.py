"""Issue 14 item 3: request bodies are capped (server.max_body_kb; uploads server.max_upload_mb), with a clear
JSON 413, also for chunked bodies that carry no Content-Length."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from qa_service.users.accounts import create_user
from qa_service.web.app import create_app
from tests.web.conftest import LiveServer

pytestmark = pytest.mark.unit


@pytest.fixture
def app(town: Any) -> Any:
    town.settings.server.default_tenant = "town"
    town.settings.server.max_body_kb = 4
    town.settings.server.max_upload_mb = 1
    return create_app(town, warm=False)


def _big_ask(size: int) -> bytes:
    return json.dumps({"question": "parking permit fee " + "x" * size}).encode()


def _chunks(body: bytes, step: int = 1000) -> Iterator[bytes]:
    for i in range(0, len(body), step):
        yield body[i:i + step]


def test_a_body_over_the_cap_is_413_with_content_length_and_chunked(app: Any) -> None:
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        ok = c.post("/api/v1/ask", content=_big_ask(100), headers={"Content-Type": "application/json"})
        assert ok.status_code == 200
        big = _big_ask(5000)
        r = c.post("/api/v1/ask", content=big, headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and r.headers["content-type"].startswith("application/json")
        assert "4096 bytes" in r.json()["detail"] and "server.max_body_kb" in r.json()["detail"]
        chunked = c.post("/api/v1/ask", content=_chunks(big), headers={"Content-Type": "application/json"})
        assert "content-length" not in chunked.request.headers  # really sent chunked
        assert chunked.status_code == 413 and "server.max_body_kb" in chunked.json()["detail"]
        # the feedback route (another router) is held to the same cap
        fb = c.post("/api/v1/feedback", content=_chunks(json.dumps({"trace_id": "t", "helpful": False,
                                                                     "comment": "y" * 9000}).encode()),
                    headers={"Content-Type": "application/json"})
        assert fb.status_code == 413


def test_uploads_have_their_own_larger_cap(app: Any) -> None:
    services = app.state.services
    with services.db.session() as s:
        _, token = create_user(s, "erin", "editor", "town")
    h = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as c:
        mid = ("notes.txt", b"Parking permits are renewed every year.\n" * 500, "text/plain")  # 20 KB
        r = c.post("/api/v1/kb/town/ingest", headers=h, files={"files": mid}, data={"publish": "false"})
        assert r.status_code == 202, r.text
        deadline = time.time() + 120  # let the job finish: it must not outlive the test's data dir
        while time.time() < deadline:
            jobs = c.get("/api/v1/kb/town/jobs", headers=h).json()
            if len(jobs) >= 2 and jobs[0]["state"] != "running":  # the town fixture's own job, then this one
                break
            time.sleep(0.2)
        huge = ("huge.txt", b"z" * (1024 * 1024 + 10), "text/plain")
        r = c.post("/api/v1/kb/town/ingest", headers=h, files={"files": huge})
        assert r.status_code == 413 and "server.max_upload_mb" in r.json()["detail"]

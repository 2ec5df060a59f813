"""The HTTP API through the app factory: ask (JSON and SSE), health, readiness, metrics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa_service.web.app import create_app

pytestmark = pytest.mark.unit


@pytest.fixture
def client(town: Any) -> Any:
    town.settings.server.default_tenant = "town"
    with TestClient(create_app(town)) as c:
        yield c


def test_ask_json(client: TestClient) -> None:
    r = client.post("/api/v1/ask", json={"question": "How much does a resident parking permit cost?"})
    assert r.status_code == 200
    body = r.json()
    assert body["decision"] == "answered" and body["ai_generated"] is True
    assert body["citations"][0]["chunk_id"].startswith("parking.md:")
    assert body["risk"]["level"] in ("low", "medium")


def test_ask_validation_errors_are_422(client: TestClient) -> None:
    assert client.post("/api/v1/ask", json={}).status_code == 422
    assert client.post("/api/v1/ask", json={"question": "x", "channel": "admin"}).status_code == 422


def test_ask_stream_sse(client: TestClient) -> None:
    with client.stream("POST", "/api/v1/ask", json={"question": "户籍迁入需要提供哪些材料？", "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    events = [block.split("\n") for block in text.strip().split("\n\n")]
    names = [e[0].removeprefix("event: ") for e in events]
    assert names[0] == "meta" and names[-1] == "done" and "delta" in names
    done = json.loads(events[-1][1].removeprefix("data: "))
    assert done["decision"] == "answered" and done["citations"]


def test_conversation_follow_up(client: TestClient) -> None:
    client.post("/api/v1/ask", json={"question": "How much is a resident parking permit?", "conversation_id": "c1"})
    r = client.post("/api/v1/ask", json={"question": "And for a second car?", "conversation_id": "c1"})
    assert "80 dollars" in r.json()["answer"]


def test_health_ready_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    client.post("/api/v1/ask", json={"question": "How much does a resident parking permit cost?"})
    metrics = client.get("/metrics").text
    assert 'qa_answers_total{decision="answered"}' in metrics
    assert "qa_answer_step_seconds_bucket" in metrics and "qa_http_request_seconds" in metrics
    assert client.get("/openapi.json").json()["paths"]["/api/v1/ask"]

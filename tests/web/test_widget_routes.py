"""Widget-facing routes over HTTP: suggestions (tenant checked like every route) and the favicon."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa_service.web.app import create_app
from tests.web.widget_kb import river_services

pytestmark = pytest.mark.integration


@pytest.fixture
def client(make_services: Any, tmp_path: Path) -> Any:
    with TestClient(create_app(river_services(make_services, tmp_path), warm=False)) as c:
        yield c


def test_suggestions_route(client: TestClient) -> None:
    r = client.get("/api/v1/suggestions?tenant=river&lang=en&limit=3")
    assert r.status_code == 200
    body = r.json()
    assert body["tenant"] == "river" and body["lang"] == "en"
    assert [s["text"] for s in body["suggestions"]] == ["Can I pay for a parking permit online?",
                                                         "Where is the permit office?", "Permit fees"]
    assert client.get("/api/v1/suggestions?lang=zh").json()["suggestions"][0]["text"] == "停车许可证可以网上缴费吗？"
    assert client.get("/api/v1/suggestions?tenant=nowhere&lang=en").status_code == 404
    assert client.get("/api/v1/suggestions?tenant=Bad%20Name").status_code == 422
    assert client.get("/api/v1/suggestions?tenant=river&lang=fr").status_code == 422


def test_favicon_is_served_by_the_app(client: TestClient) -> None:
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert r.text.startswith("<svg") and "http" not in r.text.replace("http://www.w3.org/2000/svg", "")

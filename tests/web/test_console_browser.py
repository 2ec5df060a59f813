"""The staff/editor console in headless Chromium: sign in, assist, claim and resolve a review item,
upload a source and publish the new version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from qa_service.ingest.worker import WorkerProcess
from qa_service.users.accounts import create_user
from qa_service.web.app import create_app
from tests.web.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def site(town: Any) -> Any:
    town.settings.server.default_tenant = "town"
    with town.db.session() as s:
        _, token = create_user(s, "erin", "editor", "town")
    with LiveServer(create_app(town)) as server, WorkerProcess(town.settings):  # the worker runs uploads
        yield server, token


def test_console_assist_review_and_publish(site: Any, browser: Any, tmp_path: Path) -> None:
    server, token = site
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.set_default_timeout(90000)  # the machine is shared: a cold first answer can take a while
    page.goto(f"{server.url}/console")
    page.fill("#token", "qa_wrong")
    page.click("#signin-form button")
    page.wait_for_selector("#signin-error:has-text('not valid')")
    page.fill("#token", token)
    page.click("#signin-form button")
    page.wait_for_selector("#who:has-text('erin')")

    # assist: staff see internal guidance, with passages and risk reasons
    page.fill("#assist-q", "Can counter staff waive the permit fee?")
    page.click("#assist-form button")
    card = page.locator("#assist-out .card")
    card.wait_for()
    assert card.get_attribute("data-decision") == "answered"
    assert "staff-notes" in card.inner_text() and "risk" in card.inner_text()

    # review: a held citizen question → claim → edit → saved as curated
    held = httpx.post(f"{server.url}/api/v1/ask", json={"question": "How long is a parking permit valid?"}, timeout=120).json()
    assert held["decision"] == "held_for_review"
    page.click("[data-tab=review]")
    page.wait_for_selector("#queue tbody tr:has-text('parking permit valid')")
    page.click("#claim")
    page.wait_for_selector("#claimed .card")
    assert page.locator("#claimed .passage").count() >= 1
    page.fill("#review-answer", "A resident parking permit is valid for twelve months.")
    page.check("#save-curated")
    page.click("#claimed button.edit")
    page.wait_for_selector("#claimed .done")
    assert "edited" in page.inner_text("#claimed .done") and "curated" in page.inner_text("#claimed .done")
    ticket = httpx.get(f"{server.url}/api/v1/tickets/{held['ticket']}", timeout=120).json()
    assert ticket["status"] == "answered"

    # knowledge base: upload a new source, publish, see v2 live with a diff against v1
    src = tmp_path / "library.md"
    src.write_text("# Library cards\nA library card is free for residents of the town.", encoding="utf-8")
    page.click("[data-tab=kb]")
    page.wait_for_selector("#versions tbody tr[data-version='1']")
    page.set_input_files("#files", str(src))
    page.check("#publish")
    page.click("#upload-form button")
    page.wait_for_selector("#jobs .job[data-state=succeeded]", timeout=120000)
    page.wait_for_selector("#versions tbody tr[data-version='2']:has-text('live')")
    page.click("#versions tbody tr[data-version='2'] button:has-text('diff')")
    page.wait_for_selector("#diff:has-text('library.md')")
    ans = httpx.post(f"{server.url}/api/v1/ask", json={"question": "Is a library card free?"}, timeout=120).json()
    assert any(c["source_id"] == "library.md" for c in ans["citations"])
    page.close()

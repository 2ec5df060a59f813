"""The editor console in headless Chromium, as an editor: a version's documents with metadata, visibility and
expiry; upload with per-file metadata (title, URL, visibility, dates) so the source is cited with its link; a
readable diff with the changed passages as text; asking a draft before publishing it; publish, roll back and
discard only after a confirmation; no sideways scrolling at 375 px."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qa_service.ingest.worker import WorkerProcess
from qa_service.users.accounts import create_user
from qa_service.web.app import create_app
from tests.kbdata import PARKING
from tests.web.conftest import LiveServer
from tests.web.test_console_staff_browser import DESKTOP, PHONE, no_sideways_scroll, post, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(400)]
COST = {"question": "How much does a resident parking permit cost?", "lang": "en"}


@pytest.fixture
def site(town: Any) -> Any:
    town.settings.server.default_tenant = "town"
    town.settings.server.citizen_rate_per_minute = 0
    town.settings.ingest.worker_poll_seconds = 0.2
    with town.db.session() as s:
        _, editor = create_user(s, "erin", "editor", "town")
    with LiveServer(create_app(town)) as server, WorkerProcess(town.settings):
        yield server, editor


def _meta(page: Any, name: str, **fields: str) -> None:
    row = page.locator(f"#file-meta fieldset[data-file='{name}']")
    for key, value in fields.items():
        if key == "visibility":
            row.locator("select[name=visibility]").select_option(value)
        else:
            row.locator(f"input[name={key}]").fill(value)


def _confirm(page: Any, accept: bool) -> None:
    page.wait_for_selector("#confirm[open]")
    page.click("#confirm-ok" if accept else "#confirm-cancel")
    page.wait_for_selector("#confirm:not([open])", state="attached")


def test_editor_documents_upload_diff_try_publish_rollback_discard(site: Any, browser: Any, tmp_path: Path) -> None:
    server, editor = site
    page = browser.new_page(viewport=DESKTOP, locale="en-GB")
    sign_in(page, server.url, editor, "?tab=kb")
    page.wait_for_selector("#versions tbody tr[data-version='1']:has-text('live')")

    # the documents of v1, with link, visibility and expiry
    page.click("#versions tbody tr[data-version='1'] button.docs")
    docs = page.locator("#docs")
    docs.wait_for()
    assert docs.locator("tr[data-source='parking.md'] a").get_attribute("href") == "https://town.example/parking"
    assert "internal" in docs.locator("tr[data-source='staff-notes.txt']").inner_text()
    old = docs.locator("tr[data-source='old-fees.md']")
    assert "2020-12-31" in old.inner_text() and old.locator(".badge:has-text('expired')").count() == 1

    # upload with metadata typed in the form: a new guide and a changed one
    pool, parking = tmp_path / "pool.md", tmp_path / "parking.md"
    pool.write_text("# Swimming pool\nThe town pool opens at 7 every morning.", encoding="utf-8")
    parking.write_text(PARKING.replace("40 dollars", "45 dollars"), encoding="utf-8")
    page.set_input_files("#files", [str(pool), str(parking)])
    _meta(page, "pool.md", title="Swimming pool", url="https://town.example/pool", visibility="public",
          effective_date="2026-01-01", expiry_date="2030-12-31")
    _meta(page, "parking.md", title="Parking permits", url="https://town.example/parking", visibility="public")
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#versions tbody tr[data-version='2']:has-text('draft')", timeout=180000)

    # the diff by document, the changed passage as text
    page.click("#versions tbody tr[data-version='2'] button.diff")
    diff = page.locator("#diff")
    diff.wait_for()
    assert "Swimming pool" in diff.locator(".diff-added").inner_text()
    changed = diff.locator(".diff-changed .diff-doc[data-source='parking.md']")
    assert "40 dollars" in changed.locator("del").first.inner_text()
    assert "45 dollars" in changed.locator("ins").first.inner_text()
    shot(page, tmp_path, "console-kb-diff")

    # ask the draft before publishing it; citizens still get the live version
    page.click("#versions tbody tr[data-version='2'] button.try")
    page.fill("#try-q", COST["question"])
    page.click("#try .try-form button")
    answer = page.locator("#try .card[data-decision]")
    answer.wait_for(timeout=60000)
    assert "45 dollars" in answer.inner_text() and "v2" in answer.inner_text()
    assert "40 dollars" in post(f"{server.url}/api/v1/ask", json=COST).json()["answer"]
    shot(page, tmp_path, "console-kb-try")

    # publish only after confirming; cancelling changes nothing
    page.click("#versions tbody tr[data-version='2'] button.publish")
    assert "Publish v2?" in page.inner_text("#confirm-text")
    _confirm(page, accept=False)
    assert "draft" in page.inner_text("#versions tbody tr[data-version='2']")
    page.click("#versions tbody tr[data-version='2'] button.publish")
    _confirm(page, accept=True)
    page.wait_for_selector("#versions tbody tr[data-version='2']:has-text('live')")
    pool_answer = post(f"{server.url}/api/v1/ask", json={"question": "When does the pool open?",
                                                              "lang": "en"}).json()
    assert any(c["url"] == "https://town.example/pool" for c in pool_answer["citations"]), pool_answer

    # roll back after confirming
    page.click("#rollback")
    assert "from v2 to v1" in page.inner_text("#confirm-text")
    _confirm(page, accept=True)
    page.wait_for_selector("#versions tbody tr[data-version='1']:has-text('live')")

    # a new draft, discarded after confirming
    lib = tmp_path / "library.md"
    lib.write_text("# Library cards\nA library card is free for residents.", encoding="utf-8")
    page.set_input_files("#files", str(lib))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#versions tbody tr[data-version='3']:has-text('draft')", timeout=180000)
    page.click("#versions tbody tr[data-version='3'] button.discard")
    assert "Discard draft v3?" in page.inner_text("#confirm-text")
    _confirm(page, accept=True)
    page.wait_for_selector("#versions tbody tr[data-version='3']:has-text('discarded')")
    assert page.locator("#versions tbody tr[data-version='3'] button.publish").count() == 0
    page.click("#versions tbody tr[data-version='1'] button.docs")
    page.wait_for_selector("#docs")
    shot(page, tmp_path, "console-kb")
    page.close()

    phone = browser.new_page(viewport=PHONE, locale="en-GB")
    sign_in(phone, server.url, editor, "?tab=kb")
    phone.wait_for_selector("#versions tbody tr[data-version='2']")
    phone.click("#versions tbody tr[data-version='2'] button.diff")
    phone.wait_for_selector("#diff")
    phone.set_input_files("#files", str(pool))
    phone.wait_for_selector("#file-meta fieldset")
    no_sideways_scroll(phone)
    shot(phone, tmp_path, "console-kb-375")
    for tab in ("assist", "review", "curated"):
        phone.click(f"[data-tab={tab}]")
        phone.wait_for_timeout(300)
        no_sideways_scroll(phone)
    phone.close()

"""The editor console in headless Chromium (fake embedder): a version's documents show where each applies
(jurisdiction, issuing office, issue date, marked detected), and a correction is saved for the next version."""

from __future__ import annotations

from typing import Any

import pytest

from eval.suites.place import KB as FIXTURE
from qa_service.ingest.pipeline import run_ingest
from qa_service.users.accounts import create_user
from qa_service.web.app import create_app
from tests.web.conftest import LiveServer
from tests.web.test_console_staff_browser import DESKTOP, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.unit, pytest.mark.timeout(300)]


@pytest.fixture
def site(make_services: Any) -> Any:
    svc = make_services()
    run_ingest(svc, [FIXTURE], "place", publish=True)
    svc.settings.server.default_tenant = "place"
    with svc.db.session() as s:
        _, editor = create_user(s, "erin", "editor", "place")
    with LiveServer(create_app(svc, warm=False)) as server:
        yield server, editor


def _open_documents(site: Any, browser: Any) -> tuple[Any, Any]:
    """Sign the editor in and open version 1's documents; the page and the Tieling notice's row."""
    server, editor = site
    page = browser.new_page(viewport=DESKTOP, locale="en-GB")
    sign_in(page, server.url, editor, "?tab=kb")
    page.wait_for_selector("#versions tbody tr[data-version='1']")
    page.click("#versions tbody tr[data-version='1'] button.docs")
    row = page.locator("#docs tr[data-source='tieling-huanjiao.md']")
    row.wait_for()
    return page, row


def test_documents_show_and_correct_where_they_apply(site: Any, browser: Any) -> None:
    page, row = _open_documents(site, browser)
    place = row.locator(".scope-jurisdiction")
    assert "辽宁省铁岭市" in place.inner_text() and "(detected)" in place.inner_text()
    assert "铁岭市人力资源和社会保障局" in row.locator(".scope-office").inner_text()
    assert "2023-12-20" in row.locator(".scope-issue_date").inner_text()
    assert "national" in page.locator("#docs tr[data-source='national-deferral.md'] .scope-jurisdiction").inner_text()

    row.locator("button.scope-edit").click()
    form = row.locator("form.scope-form")
    assert form.locator("input[name=office]").input_value() == "铁岭市人力资源和社会保障局"
    form.locator("input[name=jurisdiction]").fill("铁岭县")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#docs tr[data-source='tieling-huanjiao.md'] .badge:has-text('next version')")
    badge = page.locator("#docs tr[data-source='tieling-huanjiao.md'] .badge").inner_text()
    assert "jurisdiction=铁岭县" in badge and "office" not in badge  # only the changed field is sent

    row = page.locator("#docs tr[data-source='tieling-huanjiao.md']")
    row.locator("button.scope-edit").click()
    row.locator("form.scope-form input[name=office]").fill("局" * 201)  # refused: longer than 200 characters
    row.locator("form.scope-form button[type=submit]").click()
    page.wait_for_selector("#docs tr[data-source='tieling-huanjiao.md'] .action-error:not(:empty)")


def test_documents_show_and_correct_the_period_they_are_in_force(site: Any, browser: Any) -> None:
    page, row = _open_documents(site, browser)
    period = row.locator(".scope-period").inner_text()
    assert "2024-01-01" in period and "2030-12-31" in period and "(detected)" in period
    assert row.locator(".scope-expired").count() == 0
    expired = page.locator("#docs tr[data-source='nanjing-wengang-2024.md'] .scope-period")
    assert "2024-12-31" in expired.inner_text() and "no longer in force" in expired.inner_text()

    row.locator("button.scope-edit").click()
    form = row.locator("form.scope-form")
    assert form.locator("input[name=effective_date]").input_value() == "2024-01-01"
    assert form.locator("input[name=expiry_date]").input_value() == "2030-12-31"
    form.locator("input[name=expiry_date]").fill("2031-06-30")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#docs tr[data-source='tieling-huanjiao.md'] .badge:has-text('next version')")
    badge = page.locator("#docs tr[data-source='tieling-huanjiao.md'] .badge").inner_text()
    assert "expiry_date=2031-06-30" in badge and "effective_date" not in badge

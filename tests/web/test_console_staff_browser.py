"""The staff panel in headless Chromium, as staff (and an editor where the role matters): open any queue item,
filter and group the queue, read the conversation, choose the passages an edit cites (a [n] without one is
refused where the action was), resolve identical questions together; the assist draft streams; curated answers
are listed, edited, extended and suspended by editors and only read by staff; zh and en with time zones;
no sideways scrolling at 375 px."""

from __future__ import annotations

import dataclasses
import os
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa_service.users.accounts import create_user
from qa_service.web.app import create_app
from tests.answer.fake_llm import FakeLlmServer
from tests.answer.test_llm import _llm_town, reply
from tests.web.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(300)]
SHOTS = Path(os.environ["QA_SCREENSHOTS"]) if os.environ.get("QA_SCREENSHOTS") else None
HELD = "How long is a parking permit valid?"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 800}


def post(url: str, **kw: Any) -> httpx.Response:
    """The test's own HTTP calls wait as long as the page does (a cold first answer on a busy machine)."""
    return httpx.post(url, timeout=120, **kw)


def get(url: str, **kw: Any) -> httpx.Response:
    return httpx.get(url, timeout=120, **kw)


def shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str((SHOTS or tmp_path) / f"{name}.png"), full_page=True)


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width} px wide at {page.viewport_size['width']} px"


def sign_in(page: Any, url: str, token: str, query: str = "") -> None:
    page.set_default_timeout(90000)  # the machine is shared: a cold first answer can take a while
    page.goto(f"{url}/console{query}")
    page.fill("#token", token)
    page.click("#signin-form button")
    page.wait_for_selector("#who:not(:empty)")


@pytest.fixture
def site(town: Any) -> Any:
    town.settings.server.default_tenant = "town"
    town.settings.server.citizen_rate_per_minute = 0
    # the queue counts below are exact: no answered (medium) question may be sampled into review (the sample is
    # drawn by a hash of the random trace id, one in five at the shipped rate)
    town.__dict__["risk_policy"] = dataclasses.replace(town.risk_policy, sample_rate_medium=0.0)
    with town.db.session() as s:
        _, staff = create_user(s, "sam", "staff", "town")
        _, editor = create_user(s, "erin", "editor", "town")
    with LiveServer(create_app(town)) as server:
        yield server, staff, editor


def test_staff_open_filter_group_and_cite(site: Any, browser: Any, tmp_path: Path) -> None:
    server, staff, _ = site
    api = f"{server.url}/api/v1/ask"
    assert post(api, json={"question": "How much does a resident parking permit cost?", "conversation_id": "c1"}).json()[
        "decision"] == "answered"
    tickets = [post(api, json={"question": HELD, "conversation_id": "c1"}).json()["ticket"]]
    tickets += [post(api, json={"question": HELD}).json()["ticket"] for _ in range(3)]
    page = browser.new_page(viewport=DESKTOP, locale="en-GB", timezone_id="Europe/London")
    sign_in(page, server.url, staff)
    page.click("[data-tab=review]")
    group = page.locator("#queue tbody tr .badge.group")
    group.wait_for()
    assert group.inner_text() == "×4" and page.locator("#queue tbody tr[data-item]").count() == 1
    page.uncheck("#f-group")  # ungrouped: the four rows
    assert page.locator("#queue tbody tr[data-item]").count() == 4
    page.select_option("#f-kind", "sampled")
    page.wait_for_selector("#queue tbody:has-text('No item matches')")
    page.select_option("#f-kind", "held")
    page.select_option("#f-sla", "on_time")
    page.wait_for_selector("#queue tbody tr[data-item] >> nth=3")
    assert re.search(r"(UTC|GMT)", page.locator("#queue tbody tr[data-item] td").nth(3).inner_text())

    # open the item of the conversation (not "claim next"): its earlier turn is shown
    rows = page.locator("#queue tbody tr[data-item]")
    for i in range(rows.count()):
        rows.nth(i).locator("button.open").click()
        page.wait_for_selector("#claimed .card.item")
        if page.locator("#claimed .conversation .turn").count():
            break
    conv = page.locator("#claimed .conversation .turn")
    assert conv.count() == 1 and "How much does a resident parking permit cost?" in conv.inner_text()
    page.click("#claimed button.claim-item")
    page.wait_for_selector("#claimed .card.item[data-state=claimed] #review-answer")
    assert page.locator("#save-curated").count() == 0  # staff may not save curated answers: no box
    assert page.locator("#same-for").is_checked()

    # an edit citing [2] with one chosen passage is refused, next to the buttons
    while page.locator("#claimed .chosen-passage button.remove").count():
        page.locator("#claimed .chosen-passage button.remove").first.click()
    page.fill("#review-answer", "A permit is valid for twelve months. [1] Renew it at the desk. [2]")
    assert "[1], [2] cites no chosen passage" in page.inner_text("#claimed .marker-warning")
    page.fill("#kb-search", "parking permit fees")
    page.click("#claimed .search-kb button")
    page.locator("#claimed .results .hit[data-chunk^='parking.md'] button.cite").first.click()
    page.wait_for_selector("#claimed .chosen-passage[data-chunk^='parking.md']")
    page.click("#claimed button.edit")
    err = page.locator("#claimed .card.item .action-error").last
    err.wait_for()
    assert "[2] cites no chosen passage" in err.inner_text()
    shot(page, tmp_path, "console-review")
    page.fill("#review-answer", "A resident parking permit is valid for twelve months. [1]")
    page.click("#claimed button.edit")
    page.wait_for_selector("#claimed .done")
    assert "edited" in page.inner_text("#claimed .done") and "also 3 identical items" in page.inner_text("#claimed .done")
    for t in tickets:
        ticket = get(f"{server.url}/api/v1/tickets/{t}").json()
        assert ticket["answer"].startswith("A resident parking permit is valid for twelve months")
        assert ticket["citations"][0]["url"] == "https://town.example/parking"
    page.close()

    phone = browser.new_page(viewport=PHONE, locale="en-GB")
    post(api, json={"question": HELD})
    sign_in(phone, server.url, staff, "?tab=review")
    phone.wait_for_selector("#queue tbody tr[data-item]")
    phone.locator("#queue tbody tr[data-item] button.open").first.click()
    phone.wait_for_selector("#claimed .card.item")
    no_sideways_scroll(phone)
    shot(phone, tmp_path, "console-review-375")
    phone.close()


def test_assist_streams_the_draft(town: Any, fake_llm: FakeLlmServer, browser: Any, tmp_path: Path) -> None:
    _llm_town(town, fake_llm)
    town.settings.server.default_tenant = "town"
    fake_llm.stream_chars, fake_llm.stream_delay_s = 4, 0.15  # ~6 s for the whole reply
    fake_llm.set_default(reply("A resident parking permit costs 40 dollars a year. [1] "
                               "A second car costs 80 dollars a year. [1] "
                               "Residents whose car is registered in the town centre can apply. [1]", [1]))
    with town.db.session() as s:
        _, token = create_user(s, "sam", "staff", "town")
    with LiveServer(create_app(town)) as server:
        page = browser.new_page(viewport=DESKTOP, locale="en-GB")
        sign_in(page, server.url, token)
        page.fill("#assist-q", "How much does a resident parking permit cost?")
        started = time.monotonic()
        page.click("#assist-form button")
        draft = page.locator("#assist-out .answer.draft[data-streaming='true']")
        draft.wait_for(timeout=60000)
        first_seen = time.monotonic() - started
        assert "40 dollars" in draft.inner_text()
        assert page.locator("#assist-out .card[data-decision]").count() == 0  # not final yet
        shot(page, tmp_path, "console-assist-streaming")
        final = page.locator("#assist-out .card[data-decision]")
        final.wait_for(timeout=60000)
        done = time.monotonic() - started
        assert final.get_attribute("data-decision") == "answered"
        assert page.locator("#assist-out .answer.draft").count() == 0
        assert "40 dollars" in final.inner_text() and "Parking permits" in final.inner_text()
        assert first_seen < done - 1.0, (first_seen, done)
        shot(page, tmp_path, "console-assist")
        page.close()


def test_curated_answers_page(site: Any, browser: Any, tmp_path: Path) -> None:
    server, staff, editor = site
    h = {"Authorization": f"Bearer {editor}"}
    made = post(f"{server.url}/api/v1/curated/town", headers=h,
                      json={"questions": ["Where do I renew a parking permit?"], "answer": "At the town hall desk.",
                            "lang": "en"})
    assert made.status_code == 201, made.text
    page = browser.new_page(viewport=DESKTOP, locale="en-GB")
    sign_in(page, server.url, editor, "?tab=curated")
    card = page.locator("#curated-list .card.curated").first
    card.wait_for()
    card.locator(".add-variant input").fill("parking permit renewal office")
    card.locator(".add-variant button").click()
    page.wait_for_selector("#curated-list .card.curated li:has-text('parking permit renewal office')")
    page.locator("#curated-list .card.curated button.edit").first.click()
    page.locator("#curated-list .edit-curated textarea").nth(1).fill("At the town hall desk, on weekdays.")
    page.locator("#curated-list .edit-curated button[type=submit]").click()
    page.wait_for_selector("#curated-list .card.curated .answer:has-text('on weekdays')")
    page.locator("#curated-list .card.curated button.suspend").click()
    page.wait_for_selector("#curated-list .card.curated[data-state=suspended]")
    shot(page, tmp_path, "console-curated")
    page.locator("#curated-list .card.curated button.reinstate").click()
    page.wait_for_selector("#curated-list .card.curated[data-state=active]")
    page.fill("#cur-questions", "Can I pay the permit fee by card?")
    page.fill("#cur-answer", "Yes, at the desk.")
    page.select_option("#cur-lang", "en")
    page.click("#curated-form button[type=submit]")
    page.wait_for_selector("#curated-list .card.curated >> nth=1")
    rows = get(f"{server.url}/api/v1/curated/town", headers=h).json()
    first = next(r for r in rows if r["id"] == made.json()["id"])
    assert first["questions"] == ["Where do I renew a parking permit?", "parking permit renewal office"]
    assert first["answer"] == "At the town hall desk, on weekdays." and first["state"] == "active"
    page.close()

    reader = browser.new_page(viewport=DESKTOP, locale="en-GB")  # staff: read only
    sign_in(reader, server.url, staff, "?tab=curated")
    reader.wait_for_selector("#curated-list .card.curated >> nth=1")
    assert reader.locator("#curated-form").is_hidden() and reader.locator("#curated-readonly").is_visible()
    assert reader.locator("#curated-list button").count() == 0
    reader.close()


def test_console_speaks_chinese_with_time_zones(site: Any, browser: Any, tmp_path: Path) -> None:
    server, staff, _ = site
    post(f"{server.url}/api/v1/ask", json={"question": HELD})
    page = browser.new_page(viewport=PHONE, locale="en-GB", timezone_id="Asia/Shanghai")
    sign_in(page, server.url, staff, "?tab=review")
    page.wait_for_selector("#queue tbody tr[data-item]")
    assert page.inner_text("[data-tab=review]") == "Review queue"
    page.click("#lang")
    page.wait_for_selector("[data-tab=review]:has-text('审核队列')")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    row = page.locator("#queue tbody tr[data-item]").first
    row.wait_for()
    assert "待审" in row.inner_text() and "高" in row.inner_text()
    assert re.search(r"GMT\+8|UTC\+8|CST", row.locator("td").nth(3).inner_text()), row.inner_text()
    assert page.inner_text("#claim") == "领取下一条"
    page.click("#claim")
    page.wait_for_selector("#claimed .card.item #review-answer")
    assert "通过" in page.inner_text("#claimed .actions")
    no_sideways_scroll(page)
    shot(page, tmp_path, "console-zh-375")
    page.reload()  # the choice is kept
    page.wait_for_selector("[data-tab=review]:has-text('审核队列')")
    page.close()

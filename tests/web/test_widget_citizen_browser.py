"""The citizen widget driven as a citizen would, in real headless Chromium against the real app and the 'river'
knowledge folder, at desktop (1280 px) and phone (375 px) widths: Markdown tables and lists, cited passages
readable in place, a kept conversation, suggestions and greeting in the widget language, ticket lookup with the
department's contact data, the question kept after a rate-limit refusal, one origin label, favicon, and the
network-error bubble in view on a phone. Screenshots go to $QA_SCREENSHOTS (docs/screenshots) when set."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa_service.users.accounts import create_user
from qa_service.web.app import create_app
from tests.web.conftest import LiveServer
from tests.web.test_widget_browser import _shot
from tests.web.widget_kb import river_services

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(300)]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
TABLE_Q = "How much is a temporary visitor permit?"
LIST_Q = "What do I need to bring to renew a parking permit?"
HELD_Q = "How much does a replacement permit cost?"


@pytest.fixture
def svc(make_services: Any, tmp_path: Path) -> Any:
    return river_services(make_services, tmp_path)


@pytest.fixture
def site(svc: Any) -> Any:
    with LiveServer(create_app(svc)) as server:
        yield server


def _open(browser: Any, site: LiveServer, viewport: dict[str, int], lang: str = "en") -> Any:
    page = browser.new_page(viewport=viewport)
    page.goto(f"{site.url}/?lang={lang}&tenant=river&open=true")
    page.locator("#qa-widget-host .greeting").wait_for()
    return page


def _ask(page: Any, question: str) -> Any:
    """Type and send like a citizen (Enter key); the new answer bubble once it has its decision."""
    host = page.locator("#qa-widget-host")
    before = host.locator(".msg.bot[data-decision]").count()
    host.locator("textarea").fill(question)
    host.locator("textarea").press("Enter")
    box = host.locator(".msg.bot[data-decision]").nth(before)
    box.wait_for(timeout=120000)
    return box


def _staff(svc: Any, role: str = "staff") -> dict[str, str]:
    with svc.db.session() as s:
        _, token = create_user(s, f"{role}-1", role, "river")
    return {"Authorization": f"Bearer {token}"}


def _resolve(site: LiveServer, auth: dict[str, str], **body: Any) -> None:
    item = httpx.post(f"{site.url}/api/v1/review/river/claim", json={}, headers=auth).json()
    r = httpx.post(f"{site.url}/api/v1/review/river/items/{item['id']}", json=body, headers=auth)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_tables_and_lists_are_rendered_not_raw_markdown(site: LiveServer, browser: Any, tmp_path: Path,
                                                        viewport: dict[str, int]) -> None:
    page = _open(browser, site, viewport)
    box = _ask(page, TABLE_Q)
    assert box.get_attribute("data-decision") == "answered"
    table = box.locator(".answer table")
    assert table.count() == 1
    assert table.locator("th").all_inner_texts() == ["Item", "Fee", "Notes"]  # header from the cited passage
    assert "5 dollars a day" in table.locator("td").all_inner_texts()
    assert "|" not in box.locator(".answer").inner_text()
    assert table.locator("sup button").count() >= 1  # the citation stays a button inside the cell
    _shot(page, tmp_path, f"widget-table-{viewport['width']}")
    page.locator("#qa-widget-host .tools button.new").click()  # a question of its own, not a follow-up
    box = _ask(page, LIST_Q)
    items = box.locator(".answer ol li").all_inner_texts()
    assert any(t.startswith("Your current parking permit.") for t in items), items
    assert box.locator(".answer ol li, .answer ul li").count() >= 2  # the guide numbers its list: kept as one
    text = box.locator(".answer").inner_text()
    assert not re.search(r"(^|\s)- |\s\d\. ", text), text  # no raw "- " or "2. " markers
    _shot(page, tmp_path, f"widget-lists-{viewport['width']}")
    page.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_cited_passage_opens_in_place_from_the_keyboard(site: LiveServer, browser: Any, tmp_path: Path,
                                                        viewport: dict[str, int]) -> None:
    page = _open(browser, site, viewport)
    box = _ask(page, LIST_Q)
    toggle = box.locator(".sources button.toggle").first
    assert toggle.inner_text().startswith("Show the cited passage [")
    assert toggle.get_attribute("aria-expanded") == "false"
    passage = box.locator(".sources .passage").first
    assert passage.is_hidden()
    toggle.focus()
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true" and passage.is_visible()
    assert passage.get_attribute("id") == toggle.get_attribute("aria-controls")
    assert passage.locator(".ptitle").inner_text().startswith("Renewing a parking permit")
    assert "Proof of address" in passage.inner_text() or "30 days" in passage.inner_text()
    link = passage.locator("a.open")
    assert link.inner_text() == "Open the official page" and link.get_attribute("href") == "https://river.example/renew"
    assert link.get_attribute("rel") == "noopener noreferrer"
    passage.scroll_into_view_if_needed()
    _shot(page, tmp_path, f"widget-passage-{viewport['width']}")
    page.keyboard.press("Space")  # the same button closes it
    assert passage.is_hidden() and toggle.get_attribute("aria-expanded") == "false"
    box.locator(".answer sup button").first.click()  # a citation marker opens its passage and focuses it
    n = box.locator(".answer sup button").first.get_attribute("data-n")
    opened = box.locator(f'.sources li[data-n="{n}"] .passage')
    assert opened.is_visible()
    assert page.evaluate("document.querySelector('#qa-widget-host').shadowRoot.activeElement.className") == "toggle"
    page.close()


def test_conversation_survives_a_reload_until_a_new_one_is_started(site: LiveServer, browser: Any) -> None:
    page = _open(browser, site, DESKTOP)
    host = page.locator("#qa-widget-host")
    _ask(page, TABLE_Q)
    page.reload()
    host.locator(".greeting").wait_for()
    assert host.locator(".msg.user").all_inner_texts() == [TABLE_Q]
    restored = host.locator(".msg.bot[data-decision]")
    assert restored.count() == 1 and restored.first.locator(".answer table").count() == 1
    _ask(page, LIST_Q)  # the restored conversation goes on
    assert host.locator(".msg.user").count() == 2
    host.locator(".tools button.new").click()
    assert host.locator(".msg.user").count() == 0 and host.locator(".msg.bot[data-decision]").count() == 0
    assert host.locator(".greeting .intro").inner_text().startswith("Hello!")
    page.reload()
    host.locator(".greeting").wait_for()
    assert host.locator(".msg.user").count() == 0
    page.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_greeting_and_suggestions_follow_the_widget_language(site: LiveServer, browser: Any, tmp_path: Path,
                                                             viewport: dict[str, int]) -> None:
    page = _open(browser, site, viewport, lang="zh")
    host = page.locator("#qa-widget-host")
    assert host.locator(".greeting .intro").inner_text().startswith("您好")
    chips = host.locator(".greeting .suggest button")
    chips.first.wait_for()
    assert chips.all_inner_texts()[:2] == ["停车许可证可以网上缴费吗？", "许可证办公室在哪里？"]
    _shot(page, tmp_path, f"widget-suggestions-zh-{viewport['width']}")
    host.locator("header button.lang").click()
    assert host.locator(".greeting .intro").inner_text().startswith("Hello!")
    host.locator(".greeting .suggest button", has_text="Where is the permit office?").wait_for()
    texts = host.locator(".greeting .suggest button").all_inner_texts()
    assert "Counter waiver notes" not in texts and "Old visitor fees" not in texts  # internal, expired
    assert not any(re.search(r"[\u4e00-\u9fff]", t) for t in texts)
    host.locator(".greeting .suggest button", has_text="Where is the permit office?").click()
    box = host.locator(".msg.bot[data-decision]").last
    box.wait_for(timeout=120000)
    assert host.locator(".msg.user").last.inner_text() == "Where is the permit office?"
    assert "12 Market Street" in box.locator(".answer").inner_text()
    page.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_ticket_lookup_box_and_a_rejection_with_contact_data(site: LiveServer, svc: Any, browser: Any,
                                                              tmp_path: Path, viewport: dict[str, int]) -> None:
    page = _open(browser, site, viewport)
    host = page.locator("#qa-widget-host")
    box = _ask(page, HELD_Q)
    assert box.get_attribute("data-decision") == "held_for_review"
    ticket = box.locator(".ticket").inner_text()
    assert re.fullmatch(r"T[0-9A-F]{12}", ticket)
    host.locator(".tools button.new").click()  # later, in a new conversation: only the number is left
    host.locator(".tools button.lookup-toggle").click()
    field = host.locator(".lookup input")
    assert field.is_visible() and host.locator(".tools button.lookup-toggle").get_attribute("aria-expanded") == "true"
    field.fill("12345")
    field.press("Enter")
    assert host.locator(".lookup-result .ticket-status").last.get_attribute("data-status") == "invalid"
    field.fill("TABCDEF012345")
    field.press("Enter")
    host.locator('.lookup-result .ticket-status[data-status="not_found"]').wait_for()
    field.fill(ticket.lower())
    field.press("Enter")
    status = host.locator('.lookup-result .ticket-status[data-status="pending"]')
    status.wait_for()
    assert "still checking" in status.inner_text()
    _resolve(site, _staff(svc), action="reject")
    host.locator(".lookup button.check-ticket").click()
    rejected = host.locator('.lookup-result .ticket-status[data-status="rejected"]')
    rejected.wait_for()
    text = rejected.inner_text()
    for part in ("River Town Permits Office", "0571-5550 2000", "12 Market Street, River Town", "Mon-Fri 9:00-17:00",
                 "12345"):
        assert part in text, (part, text)
    assert rejected.locator(".contact a[href='tel:057155502000']").count() == 1
    assert rejected.locator(".contact a[href='tel:12345']").count() == 1
    _shot(page, tmp_path, f"widget-ticket-rejected-{viewport['width']}")
    page.close()


def test_rate_limited_question_stays_in_the_box(svc: Any, browser: Any) -> None:
    svc.settings.server.citizen_rate_per_minute = 1
    with LiveServer(create_app(svc)) as site:
        page = _open(browser, site, DESKTOP)
        _ask(page, TABLE_Q)
        box = _ask(page, LIST_Q)
        assert box.get_attribute("data-decision") == "rate_limited"
        assert page.locator("#qa-widget-host textarea").input_value() == LIST_Q
        page.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_a_staff_written_curated_answer_carries_one_label(site: LiveServer, svc: Any, browser: Any,
                                                          tmp_path: Path, viewport: dict[str, int]) -> None:
    page = _open(browser, site, viewport)
    host = page.locator("#qa-widget-host")
    held = _ask(page, HELD_Q)
    assert held.get_attribute("data-decision") == "held_for_review"
    _resolve(site, _staff(svc, "editor"), action="edit", answer="A replacement permit costs 10 dollars. [1]",
             save_curated=True)
    host.locator(".tools button.new").click()  # each question on its own, not as a follow-up
    ai = _ask(page, TABLE_Q)
    assert ai.locator(".badge.ai").inner_text() == "AI-generated" and ai.locator(".badge.curated").count() == 0
    host.locator(".tools button.new").click()
    box = _ask(page, HELD_Q)
    assert box.get_attribute("data-decision") == "answered_curated"
    assert box.locator(".badge.curated").inner_text() == "Reviewed by staff"
    assert box.locator(".badge.ai").count() == 0
    _shot(page, tmp_path, f"widget-curated-{viewport['width']}")
    page.close()


def test_favicon_and_the_network_error_in_view_on_a_phone(site: LiveServer, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport=PHONE)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(f"{site.url}/?lang=en&tenant=river&open=true")
    page.locator("#qa-widget-host .greeting").wait_for()
    icon = page.request.get(f"{site.url}/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert page.locator("link[rel=icon]").get_attribute("href") == "/favicon.ico"
    _ask(page, TABLE_Q)
    _ask(page, LIST_Q)  # the log now scrolls
    page.route("**/api/v1/ask", lambda route: route.abort())
    box = _ask(page, "How do I cancel my permit?")
    assert box.get_attribute("data-decision") == "network_error"
    log = page.locator("#qa-widget-host .log")
    assert log.evaluate("e => e.scrollHeight > e.clientHeight")
    b, v = box.bounding_box(), log.bounding_box()
    assert b is not None and v is not None
    assert b["y"] >= v["y"] - 1 and b["y"] + b["height"] <= v["y"] + v["height"] + 1, (b, v)  # fully in view
    assert page.locator("#qa-widget-host textarea").input_value() == "How do I cancel my permit?"
    assert failed == [], failed
    _shot(page, tmp_path, "widget-network-error-375")
    page.close()


def test_markup_in_tables_passages_and_suggestions_stays_text(site: LiveServer, browser: Any) -> None:
    """The Markdown renderer builds elements from text only: markup inside a table cell, a list item, a passage
    or a suggestion is shown, never run (the server's replies are replaced here to carry it)."""
    evil = {"decision": "answered", "ai_generated": True, "kb_version": 1, "trace_id": "t", "lang": "en",
            "generator": "extractive", "timings_ms": {}, "risk": {"level": "low", "reasons": []},
            "answer": "| <img src=x onerror=\"window.pwned=1\"> | **<b>bold</b>** |[1] - <script>window.pwned=2</script>[1]",
            "citations": [{"n": 1, "chunk_id": "a:0", "source_id": "a", "title": "<i>T</i>",
                           "url": "https://river.example/a", "heading": "<u>h</u>",
                           "snippet": "| <svg onload=window.pwned=3> | x |\n| --- | --- |\n- <iframe src=x>"}]}
    sugg = {"tenant": "river", "lang": "en", "suggestions": [{"text": "<img src=x onerror=window.pwned=4>",
                                                              "kind": "faq", "source_id": "a"}]}
    page = browser.new_page(viewport=DESKTOP)
    page.route("**/api/v1/ask", lambda route: route.fulfill(status=200, content_type="application/json",
                                                            body=json.dumps(evil)))
    page.route("**/api/v1/suggestions*", lambda route: route.fulfill(status=200, content_type="application/json",
                                                                     body=json.dumps(sugg)))
    page.goto(f"{site.url}/?lang=en&tenant=river&open=true")
    host = page.locator("#qa-widget-host")
    host.locator(".greeting .suggest button").first.wait_for()
    assert host.locator(".greeting .suggest button").first.inner_text() == "<img src=x onerror=window.pwned=4>"
    box = _ask(page, "anything")
    box.locator(".sources button.toggle").first.click()
    assert page.evaluate("window.pwned === undefined")
    assert box.locator(".answer table td").first.inner_text().startswith("<img")
    assert box.locator(".answer strong").inner_text() == "<b>bold</b>"
    assert "<script>" in box.locator(".answer li").inner_text()
    assert "<svg" in box.locator(".passage").inner_text() and "<iframe" in box.locator(".passage").inner_text()
    assert host.locator("img, script, svg, iframe, b, i, u").count() == 0
    page.close()

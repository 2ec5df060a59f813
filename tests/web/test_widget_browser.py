"""The citizen widget in real headless Chromium against the real app and the small 'town' KB."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from qa_service.web.app import create_app
from tests.web.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.integration]
SHOTS = Path(os.environ.get("QA_SCREENSHOTS", "")) if os.environ.get("QA_SCREENSHOTS") else None


@pytest.fixture
def site(town: Any) -> Any:
    town.settings.server.default_tenant = "town"
    with LiveServer(create_app(town)) as server:
        yield server


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    path = (SHOTS or tmp_path) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))


def _ask(page: Any, question: str) -> Any:
    host = page.locator("#qa-widget-host")
    host.locator("textarea").fill(question)
    host.locator("form button").click()
    box = host.locator(".msg.bot[data-decision]").last
    box.wait_for(timeout=120000)  # the first question of a new app also embeds the guard exemplars
    return box


def test_answer_with_citations_ai_mark_and_risk(site: LiveServer, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page()
    page.goto(f"{site.url}/?lang=en&tenant=town&open=true")
    box = _ask(page, "How much does a resident parking permit cost?")
    assert box.get_attribute("data-decision") == "answered"
    assert box.locator(".badge.ai").inner_text() == "AI-generated"
    assert box.locator(".badge.risk").count() == 1
    assert "40 dollars" in box.locator(".answer").inner_text()
    link = box.locator(".sources a").first
    assert link.get_attribute("href") == "https://town.example/parking"
    assert link.get_attribute("rel") == "noopener noreferrer"
    box.locator("sup button").first.click()  # a citation marker points at its source
    assert box.locator(".feedback button").count() == 2
    _shot(page, tmp_path, "widget-answer-en")
    page.close()


def test_chinese_answer_and_language_switch(site: LiveServer, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page()
    page.goto(f"{site.url}/?lang=zh&tenant=town&open=true")
    host = page.locator("#qa-widget-host")
    assert host.locator("form button").inner_text() == "发送"
    box = _ask(page, "户籍迁入需要提供哪些材料？")
    assert box.get_attribute("data-decision") == "answered"
    assert box.locator(".badge.ai").inner_text() == "AI 生成"
    assert "居民户口簿" in box.locator(".answer").inner_text()
    _shot(page, tmp_path, "widget-answer-zh")
    host.locator("header button.lang").click()
    assert host.locator("form button").inner_text() == "Send"
    page.close()


def test_server_text_is_inert_and_unsafe_links_dropped(site: LiveServer, browser: Any) -> None:
    """Even if an answer carried markup, the widget shows it as text and runs nothing."""
    page = browser.new_page()
    evil = {"decision": "answered", "answer": "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script>[1]",
            "citations": [{"n": 1, "chunk_id": "a:0", "source_id": "a", "title": "<b>T</b>",
                           "url": "javascript:window.pwned=3", "snippet": "<svg onload=window.pwned=4>"}],
            "risk": {"level": "low", "reasons": []}, "ai_generated": True, "kb_version": 1, "trace_id": "t",
            "lang": "en", "generator": "extractive", "timings_ms": {}}
    page.route("**/api/v1/ask", lambda route: route.fulfill(status=200, content_type="application/json",
                                                            body=json.dumps(evil)))
    page.goto(f"{site.url}/?lang=en&tenant=town&open=true")
    box = _ask(page, "anything")
    assert page.evaluate("window.pwned === undefined")
    assert "<script>" in box.locator(".answer").inner_text()
    assert box.locator(".answer img, .answer script, .sources svg").count() == 0
    assert box.locator(".sources a").count() == 0  # javascript: URL is not a link
    page.close()


def test_network_failure_keeps_the_question(site: LiveServer, browser: Any) -> None:
    page = browser.new_page()
    page.route("**/api/v1/ask", lambda route: route.abort())
    page.goto(f"{site.url}/?lang=en&tenant=town&open=true")
    box = _ask(page, "How do I renew my permit?")
    assert box.get_attribute("data-decision") == "network_error"
    assert page.locator("#qa-widget-host textarea").input_value() == "How do I renew my permit?"
    page.close()


def test_held_answer_shows_a_ticket(site: LiveServer, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page()
    page.goto(f"{site.url}/?lang=en&tenant=town&open=true")
    box = _ask(page, "What is the procedure for appealing a planning refusal for a listed windmill?")
    decision = box.get_attribute("data-decision")
    assert decision in ("held_for_review", "unanswerable_no_content", "unanswerable_cannot_answer", "out_of_scope")
    assert box.locator(".sources").count() == 0  # nothing unreviewed is shown
    if decision == "held_for_review":
        assert box.locator(".ticket").inner_text().startswith("T")
    _shot(page, tmp_path, "widget-held")
    page.close()

"""Streaming reaches the citizen widget: with the llm backend (a scripted OpenAI-compatible server that streams
slowly), checked sentences appear in the widget as a provisional, AI-marked draft before the final answer
replaces them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from qa_service.web.app import create_app
from tests.answer.fake_llm import FakeLlmServer
from tests.answer.test_llm import _llm_town, reply
from tests.web.conftest import LiveServer
from tests.web.test_widget_browser import _shot

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(300)]


def test_the_widget_shows_checked_sentences_while_the_model_writes(town: Any, fake_llm: FakeLlmServer,
                                                                   browser: Any, tmp_path: Path) -> None:
    _llm_town(town, fake_llm)
    town.settings.server.default_tenant = "town"
    fake_llm.stream_chars, fake_llm.stream_delay_s = 4, 0.15  # ~6 s for the whole reply
    fake_llm.set_default(reply("A resident parking permit costs 40 dollars a year. [1] "
                               "A second car costs 80 dollars a year. [1] "
                               "Residents whose car is registered in the town centre can apply. [1]", [1]))
    with LiveServer(create_app(town)) as site:
        page = browser.new_page()
        page.goto(f"{site.url}/?lang=en&tenant=town&open=true")
        host = page.locator("#qa-widget-host")
        host.locator("textarea").fill("How much does a resident parking permit cost?")
        started = time.monotonic()
        host.locator("form button").click()
        draft = host.locator(".answer.draft[data-streaming='true']")
        draft.wait_for(timeout=60000)
        first_seen = time.monotonic() - started
        assert "40 dollars" in draft.inner_text()
        assert host.locator(".msg.bot .badge.ai").last.inner_text() == "AI-generated"  # marked while drafting
        assert host.locator(".msg.bot[data-decision]").count() == 0  # not final yet
        _shot(page, tmp_path, "widget-streaming-draft")
        box = host.locator(".msg.bot[data-decision]").last
        box.wait_for(timeout=60000)
        done = time.monotonic() - started
        assert box.get_attribute("data-decision") == "answered"
        assert host.locator(".answer.draft").count() == 0  # the final answer replaced the draft
        assert "40 dollars" in box.locator(".answer").inner_text()
        assert first_seen < done - 1.0, (first_seen, done)  # the first sentence came well before the end
        page.close()

"""Suggested questions come from the live version's public, in-date knowledge: FAQ questions first, then guide
titles, in the language asked for; never an internal or expired source."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from qa_service.kb.suggestions import SuggestionCache, build
from tests.web.widget_kb import river_services

pytestmark = pytest.mark.integration


def test_public_faq_questions_then_guide_titles_per_language(make_services: Any, tmp_path: Path) -> None:
    svc = river_services(make_services, tmp_path)
    _version, reader = svc.live.get("river")
    en = build(reader, "en")
    assert [(s.text, s.kind) for s in en] == [
        ("Can I pay for a parking permit online?", "faq"), ("Where is the permit office?", "faq"),
        ("Permit fees", "guide"), ("Renewing a parking permit", "guide")]
    zh = build(reader, "zh")
    assert [s.text for s in zh] == ["停车许可证可以网上缴费吗？", "许可证办公室在哪里？"]
    texts = " ".join(s.text for s in en + zh)
    assert "Counter waiver" not in texts and "Old visitor" not in texts  # internal, expired
    # a page is offered only while it is in date: on a day in 2019 the expired page was valid
    assert "Old visitor fees" in [s.text for s in build(reader, "en", today=dt.date(2019, 6, 1))]


def test_cache_follows_a_new_version(make_services: Any, tmp_path: Path) -> None:
    from qa_service.ingest.pipeline import run_ingest

    svc = river_services(make_services, tmp_path)
    cache = SuggestionCache()
    version, reader = svc.live.get("river")
    assert len(cache.get("river", version, reader, "en")) == 4
    folder = tmp_path / "river-kb"
    (folder / "faq-en.csv").write_text("question,answer\nHow do I cancel a permit?,Write to the permit office.\n",
                                       encoding="utf-8")
    run_ingest(svc, [folder], "river", publish=True)
    new_version, new_reader = svc.live.get("river")
    assert new_version != version
    assert cache.get("river", new_version, new_reader, "en")[0].text == "How do I cancel a permit?"

"""Issue 14 item 11: the API returns text only. Titles, headings, snippets and answers built from sources that
carry <script>, <img onerror> and entity-encoded tags reach the client as plain text (JSON and SSE)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa_service.ingest.pipeline import run_ingest
from qa_service.users.accounts import create_user
from qa_service.web.app import create_app

pytestmark = pytest.mark.integration
CATALOG = """
tenant: web
department: Town Hall
defaults: {visibility: public}
sources:
  - file: fees.html
    title: Parking <script>alert(1)</script> fees &lt;img src=x onerror=alert(11)&gt;
    url: javascript:alert(12)
  - file: library.md
    title: Library cards
    url: https://town.example/library
"""
FEES_HTML = """<html lang="en"><head><title>ignored</title></head><body>
<h1>Parking permit <img src=x onerror=alert(2)>fees</h1>
<h2>Annual fee &lt;b onmouseover=alert(3)&gt;</h2>
<p>A resident parking permit costs 40 dollars a year.<script>alert(4)</script> <img src=x onerror="alert(5)">
Pay the resident parking permit fee at the town hall &lt;img src=x onerror=alert(6)&gt; or online.</p>
<textarea>&lt;script&gt;alert(7)&lt;/script&gt;</textarea><xmp><script>alert(13)</script></xmp>
</body></html>
"""
LIBRARY_MD = """# Library cards

A library card is free for residents of the town. <script>alert(8)</script> <img src=x onerror=alert(9)>
Bring &lt;b&gt;proof of address&lt;/b&gt; &amp;lt;i&amp;gt;to the library desk&amp;lt;/i&amp;gt;.
"""
MARKUP = ("<", "&lt;", "&gt;", "&amp;", "onerror", "onmouseover", "alert(", "javascript:")  # ">" joins headings


def _markup_in(fields: dict[str, Any]) -> list[str]:
    return [f"{k}: {v!r}" for k, v in fields.items() if isinstance(v, str) and any(m in v for m in MARKUP)]


def _text_fields(out: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {"answer": out["answer"]}
    for c in out["citations"]:
        for key in ("title", "heading", "snippet", "url"):
            fields[f"citation {c['n']} {key}"] = c.get(key)
    return fields


@pytest.fixture
def client(make_services: Any, tmp_path: Path) -> Any:
    svc = make_services()
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
    (folder / "fees.html").write_text(FEES_HTML, encoding="utf-8")
    (folder / "library.md").write_text(LIBRARY_MD, encoding="utf-8")
    run_ingest(svc, [folder], "web", publish=True)
    svc.settings.server.default_tenant = "web"
    with svc.db.session() as s:
        _, token = create_user(s, "sam", "staff", "web")
    with TestClient(create_app(svc, warm=False)) as c:
        yield c, token


@pytest.mark.parametrize("question", ["How much does a resident parking permit cost?",
                                      "Is a library card free for residents?"])
@pytest.mark.parametrize("channel", ["citizen", "staff"])
def test_answers_and_citations_are_plain_text(client: tuple[TestClient, str], question: str, channel: str) -> None:
    c, token = client
    headers = {"Authorization": f"Bearer {token}"} if channel == "staff" else {}
    out = c.post("/api/v1/ask", json={"question": question, "channel": channel}, headers=headers).json()
    assert out["decision"] in ("answered", "held_for_review"), out
    assert out["citations"], out  # there is something to check
    assert not _markup_in(_text_fields(out)), _markup_in(_text_fields(out))
    with c.stream("POST", "/api/v1/ask", json={"question": question, "channel": channel, "stream": True},
                       headers=headers) as r:
        text = "".join(r.iter_text())
    done = json.loads(text.strip().split("\n\n")[-1].split("\n")[1].removeprefix("data: "))
    assert not _markup_in(_text_fields(done))
    assert "40 dollars" in out["answer"] or "free" in out["answer"]


@pytest.mark.unit
def test_plain_text_strips_tags_and_entity_encoded_tags_but_keeps_text() -> None:
    from qa_service.plaintext import plain_text

    assert plain_text("Fee <script>alert(1)</script>40 <img src=x onerror=alert(2)>dollars") == "Fee 40 dollars"
    assert plain_text("a &lt;script&gt;alert(1)&lt;/script&gt; b") == "a b"
    assert plain_text("x &amp;lt;b&amp;gt;bold&amp;lt;/b&amp;gt; y") == "x bold y"
    assert plain_text("收入<12万元，AT&amp;T, 3 < 5 and 6 > 2") == "收入<12万元，AT&T, 3 < 5 and 6 > 2"
    assert plain_text("<!-- hidden --><p>Line one</p><br/>Line two") == "Line one Line two"
    assert plain_text("keep\nlines [1]\n- item") == "keep\nlines [1]\n- item"

"""Issue 14 item 11: the HTML loader lets no markup into chunk text or titles — not entity-encoded tags,
not the raw text of <textarea>, <xmp>, <noembed>, <plaintext> or <title>."""

from __future__ import annotations

import pytest

from qa_service.ingest.loaders.html_page import parse_html

pytestmark = pytest.mark.unit
PAGE = """<html><head><title>Fees &lt;script&gt;alert(1)&lt;/script&gt; guide</title></head><body>
<h1>Permit <img src=x onerror=alert(2)> fees</h1>
<h2>Annual &lt;b onmouseover=alert(3)&gt;fee&lt;/b&gt;</h2>
<p>The fee is 40 dollars.<script>alert(4)</script> <img src=x onerror="alert(5)"> &lt;img src=x onerror=alert(6)&gt;
Pay online.</p>
<textarea>&lt;script&gt;alert(7)&lt;/script&gt;</textarea><xmp><script>alert(8)</script></xmp>
<noembed><b onclick=alert(9)>ne</b></noembed><noframes><i>nf</i></noframes>
<p>Income &lt; 5000 yuan is exempt; AT&amp;T is a company.</p>
<plaintext><i onclick=alert(10)>pt</i>
</body></html>"""


def test_no_markup_reaches_chunk_text_headings_or_title() -> None:
    doc = parse_html(PAGE)
    texts = [doc.title or ""] + [s.text for s in doc.sections] + [h for s in doc.sections for h in s.heading_path]
    joined = "\n".join(texts)
    for bad in ("<script", "<img", "<b", "<i", "onerror", "onmouseover", "onclick", "alert(", "</"):
        assert bad not in joined, (bad, joined)
    assert doc.title == "Fees guide"
    assert "The fee is 40 dollars." in joined and "Pay online." in joined
    assert "Income < 5000 yuan is exempt; AT&T is a company." in joined  # text that merely uses < and & stays
    assert ["Permit fees", "Annual fee"] in [s.heading_path for s in doc.sections]

"""Unicode normalisation notes and language detection."""

from __future__ import annotations

import pytest

from qa_service.ingest.normalise import normalise
from qa_service.text import language

pytestmark = pytest.mark.unit


def test_removes_invisible_characters_and_reports_counts() -> None:
    tags = "".join(chr(0xE0000 + ord(c)) for c in "hello")
    raw = f"Fee\u200b is\u200d 20\ufeff yuan.{tags}\u202eA\u2066B\x07\x1b\r\nNext\tline"
    text, notes = normalise(raw)
    assert text == "Fee is 20 yuan.AB\nNext\tline"
    assert notes == ["zero_width:3", "bidi:2", "tag_chars:5", "control:2"]


def test_nfkc_spaces_and_newlines() -> None:
    text, notes = normalise("ＡＢＣ１２３  full\u3000width\r\rx   y  \n\n\n\nz ")
    assert text == "ABC123 full width\n\nx y\n\nz"
    assert notes == []
    assert normalise("") == ("", [])
    assert normalise("plain ascii") == ("plain ascii", [])


@pytest.mark.parametrize(
    ("text", "lang"),
    [("办理居住证需要哪些材料？", "zh"), ("How do I renew my passport?", "en"),
     ("请携带ID card和passport到窗口办理业务", "zh"), ("The fee for 居住证 replacement is 20 yuan per card", "en"),
     ("12345", "en")],
)
def test_detect_language(text: str, lang: str) -> None:
    assert language(text) == lang


def test_chinese_full_width_punctuation_is_kept() -> None:
    text, _ = normalise("居住证明：租赁合同，或不动产权证书；（一）需要吗？是！ＡＢＣ１２３")
    assert text == "居住证明：租赁合同，或不动产权证书；（一）需要吗？是！ABC123"  # letters and digits still NFKC
    from qa_service.answer.text import terms
    from qa_service.text import split_sentences

    assert terms(text) == terms("居住证明:租赁合同,或不动产权证书;(一)需要吗?是!ABC123")  # matching reads both forms
    assert len(split_sentences("需要吗？是的。")) == len(split_sentences("需要吗?是的。")) == 2

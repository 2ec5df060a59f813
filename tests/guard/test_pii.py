"""The one PII detector (qa_service/guard/pii.py): the formats issue 14 found stored unredacted, the two
strictness modes, and the words around each placeholder."""

from __future__ import annotations

import pytest
from stdnum import luhn

from qa_service.guard.pii import find, hkid_check_digit, redact

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的身份证号110105 1949 1231 002X丢了怎么办？", "我的身份证号[CN_ID]丢了怎么办？"),
        ("身份证 110105-19491231-002X 补办", "身份证 [CN_ID] 补办"),
        ("手机138.1234.5678收不到短信", "手机[CN_MOBILE]收不到短信"),
        ("Call me on +44 20 7946 0958 please.", "Call me on [PHONE] please."),
        ("My number is (202) 555-0143.", "My number is [PHONE]."),
        ("我的香港身份证A123456(7)能用吗", "我的香港身份证[HK_ID]能用吗"),
        ("mail li.si (at) example (dot) com today", "mail [EMAIL] today"),
        ("mail li.si[at]example[dot]com today", "mail [EMAIL] today"),
        ("我叫张伟，住在北京市朝阳区建国路88号3单元502室，想办居住证。",
         "我叫[NAME]，住在北京市朝阳区[ADDRESS]，想办居住证。"),
        ("姓名：欧阳明，地址：上海市徐汇区幸福小区3栋2单元501室", "姓名：[NAME]，地址：上海市徐汇区[ADDRESS]"),
        ("My name is John Smith and I live at 12 Oak Street, Apt 4.", "My name is [NAME] and I live at [ADDRESS]."),
        ("IBAN GB82 WEST 1234 5698 7654 32 please", "IBAN [IBAN] please"),
    ],
)
def test_issue_formats_are_redacted_and_the_words_around_stay(text: str, expected: str) -> None:
    assert redact(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "依据《民法典》第一千零三十四条，2007 2009 2011 2013 年度数据；金额 1,234,567,890.12 元",
        "在2024-01-15到2024-03-01之间办理，案号(2019)京0105民初12345号，国发〔2020〕12号文件",
        "我是个体工商户，想问营业执照怎么办？",
        "居住证丢了怎么办？工本费20元，拨打12345热线。",
        "Look at example.com for the form; Chapter 11 Bankruptcy Court; Section 12 Main Street Act.",
        "I am Canadian and I'm Unable to renew my permit at 9:30.",
        "Where is the office on Oak Street?",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert find(text) == []


def test_hkid_check_digit_and_modes() -> None:
    assert hkid_check_digit("A", "123456") == "3"
    good, bad = "A123456(3)", "A123456(7)"
    assert [m.valid_checksum for m in find(f"HKID {good} and {bad}")] == [True, False]  # guard: both
    assert [m.value for m in find(f"HKID {good} and {bad}", "ingest")] == [good]  # ingest: checksum required
    assert find("ref A1234563") and not find("ref A1234567")  # unbracketed: only with a valid check digit


def test_ingest_mode_requires_checksums_and_skips_names_and_addresses() -> None:
    card = "6222021234567890"
    card = card[:-1] + luhn.calc_check_digit(card[:-1])
    bad = card[:-1] + str((int(card[-1]) + 1) % 10)
    text = (f"卡号{card}，另一张{bad}；我叫张伟，住在建国路88号；办公电话010-12345678；"
            f"身份证110105 1949 1231 002X")
    assert [m.kind for m in find(text, "ingest")] == ["BANK_CARD", "CN_ID"]
    assert {"NAME", "ADDRESS", "PHONE"} <= {m.kind for m in find(text, "guard")}


def test_stdnum_table_gap_is_not_a_crash() -> None:
    # stdnum 2.2 raises KeyError inside ric.is_valid for some region codes; the guard must still answer
    from stdnum.cn import ric

    body = "42143019900101049"  # region 421430: stdnum 2.2 raises KeyError inside is_valid for this one
    number = body + ric.calc_check_digit(body)
    with pytest.raises(KeyError):
        ric.is_valid(number)
    text, found = redact(f"证件号 {number}")
    assert found and found[0].kind == "CN_ID" and found[0].valid_checksum is False and number not in text

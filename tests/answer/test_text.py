"""Sentence splitting and lexical terms shared by the answer steps."""

from __future__ import annotations

import pytest

from qa_service.answer.text import is_elliptical, overlap, split_sections, split_sentences, terms

pytestmark = pytest.mark.unit


def test_a_list_marker_stays_with_the_text_it_numbers() -> None:
    text = "1. Your identity card (original).\n2. Proof of residence.\n三、\n办理时限为十五个工作日。"
    assert split_sentences(text) == ["1. Your identity card (original).", "2. Proof of residence.",
                                     "三、 办理时限为十五个工作日。"]


def test_a_year_at_a_sentence_end_still_ends_the_sentence() -> None:
    assert split_sentences("The rule changed in 2025. Apply online.") == ["The rule changed in 2025.", "Apply online."]


def test_english_terms_are_stemmed_so_word_forms_overlap() -> None:
    assert terms("processing permits") == terms("processed permit")
    assert overlap(terms("How long does processing take?"), "Processing time: 10 working days.") > 0
    assert "居住" in terms("办理居住证")


def test_an_english_line_wrapped_into_lower_case_is_one_sentence() -> None:
    text = ("Social insurance: a guide for employers and\nemployees\nThe centre explains the five\n"
            "schemes and who pays what.\nScheme\nEmployer\n居住证\n办理")
    assert split_sentences(text) == ["Social insurance: a guide for employers and employees",
                                     "The centre explains the five schemes and who pays what.", "Scheme", "Employer",
                                     "居住证", "办理"]


def test_sentences_carry_the_numbered_heading_above_them_and_headings_are_not_sentences() -> None:
    text = ("Intro line.\n3. Flexibly employed\npeople\nThey pay 20%. At the lower limit this is 1,293.98 yuan a month.\n"
            "4. Social security card\nThe first card is free.\n五、公积金贷款\n连续缴存满6个月。\n"
            "一、什么是小规模纳税人？\n年销售额500万元以下。")
    assert split_sections(text) == [
        ("Intro line.", ""), ("They pay 20%.", "Flexibly employed people"),
        ("At the lower limit this is 1,293.98 yuan a month.", "Flexibly employed people"),
        ("The first card is free.", "Social security card"), ("连续缴存满6个月。", "公积金贷款"),
        ("年销售额500万元以下。", "什么是小规模纳税人？")]


def test_a_numbered_list_is_not_taken_for_headings() -> None:
    text = "Bring:\n1. ID card\n2. Two photos\n3. The form\n- a copy\n- the original"
    assert [s for s, _ in split_sections(text)] == ["Bring:", "1. ID card", "2. Two photos", "3. The form",
                                                     "- a copy", "- the original"]
    assert all(h == "" for _, h in split_sections(text))
    # a numbered line that ends like a sentence is a list item or a statement, never a heading
    assert split_sections("2. Apply online.\nIt takes a day.") == [("2. Apply online.", ""), ("It takes a day.", "")]


def test_a_table_header_row_is_the_context_of_its_rows_not_a_sentence() -> None:
    text = ("3. Refund review\n退税金额 | 审核方式 | 时限\n2万元以下 | 系统自动审核 | 1个工作日\n"
            "2万元以上 | 人工审核 | 5个工作日\nAfter the table.")
    assert split_sections(text) == [
        ("2万元以下 | 系统自动审核 | 1个工作日", "Refund review 退税金额 | 审核方式 | 时限"),
        ("2万元以上 | 人工审核 | 5个工作日", "Refund review 退税金额 | 审核方式 | 时限"),
        ("After the table.", "Refund review")]
    # a lone row, or a first row with figures in it, is data, not a header
    assert [s for s, _ in split_sections("Fee | 20 yuan\nIt is paid at the window.")] == [
        "Fee | 20 yuan", "It is paid at the window."]


@pytest.mark.unit
@pytest.mark.parametrize("question,elliptical", [
    ("And for a second car?", True), ("How much is it?", True), ("那要多久？", True), ("要多长时间？", True),
    ("需要带什么材料？", True), ("What about fees?", True),
    ("What documents do we need to bring to register our marriage?", False),
    ("How long is a parking permit valid?", False), ("学生公交卡怎么办？", False), ("社保卡怎么补办？", False),
])
def test_only_an_elliptical_follow_up_takes_the_previous_turn(question: str, elliptical: bool) -> None:
    assert is_elliptical(question) is elliptical


def test_an_english_semicolon_does_not_split_an_answer_sentence_a_chinese_one_does() -> None:
    # the second half carries the fact ("refunded"); quoting the first half alone dropped it
    assert split_sentences("If you sell the car, cancel the permit in the app; unused whole months are refunded.") \
        == ["If you sell the car, cancel the permit in the app; unused whole months are refunded."]
    assert split_sentences("补领20元；当日办结。") == ["补领20元；", "当日办结。"]

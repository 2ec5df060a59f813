"""Answer types: what kind of fact a question asks for, and which sentences state it (zh / en)."""

from __future__ import annotations

import pytest

from qa_service.answer.answer_types import asked_types, stated_types

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("question,kind", [
    ("补领身份证要多长时间？", "duration"), ("How long does processing take?", "duration"),
    ("居住证丢了补办要交多少钱？", "money"), ("How much is a replacement licence?", "money"),
    ("办事大厅周六几点开门？", "when"), ("When is the deadline for the tax return?", "when"),
    ("在哪里办理结婚登记？", "place"), ("Where do I hand in the form?", "place"),
    ("社保中心的咨询电话是多少？", "contact"), ("What number do I call? Is there a hotline?", "contact"),
    ("办理户口迁入需要什么材料？", "documents"), ("What documents do I need to bring?", "documents"),
    ("去年全市有多少人申请？", "count"), ("How many visitor permits can I buy?", "count"),
])
def test_questions_ask_for_a_kind_of_fact(question: str, kind: str) -> None:
    assert kind in asked_types(question)


def test_a_question_that_asks_for_no_particular_kind_asks_for_none() -> None:
    assert asked_types("个体工商户可以转让吗？") == set()
    assert asked_types("Can my son renew my passport for me?") == set()


@pytest.mark.parametrize("sentence,kind,states", [
    ("跨省通办三十个工作日。", "duration", True), ("Processing takes 10 working days.", "duration", True),
    ("需本人到场签署遗失声明。", "duration", False), ("Bring your identity card.", "duration", False),
    ("补领工本费20元。", "money", True), ("First issue is free of charge.", "money", True),
    ("A permit costs $40.", "money", True), ("Apply at the window.", "money", False),
    ("周一至周五9:00-17:00办公。", "when", True), ("Open Monday to Friday.", "when", True),
    ("地址：滨江大道188号。", "place", True), ("Go to the counter on the second floor.", "place", True),
    ("咨询电话0571-55501100。", "contact", True), ("Call 020 7946 0000.", "contact", True),
    ("携带身份证和户口簿原件。", "documents", True), ("Bring your passport and two photos.", "documents", True),
])
def test_sentences_state_a_kind_of_fact(sentence: str, kind: str, states: bool) -> None:
    assert (kind in stated_types(sentence, {kind})) is states


def test_the_askers_own_redacted_details_are_not_what_they_ask_for() -> None:
    from qa_service.answer.answer_types import asked_elements, asks_broadly

    # "my phone is ..." gives a number, it does not ask for the office's: the broad "how do I replace it" remains
    redacted = "我的电话是[CN_MOBILE],身份证丢了怎么补办?"
    assert asked_elements(redacted) == [] and "contact" not in asked_types(redacted) and asks_broadly(redacted)
    assert asked_elements("My email is [EMAIL]. Where do I renew my passport?") == ["place_time"]
    assert asked_elements("身份证补办的咨询电话是多少？") == ["contact"]  # a question about the phone still asks it


@pytest.mark.parametrize("question", ["身份证丢了怎么补办？", "驾驶证到期了如何换领？", "How do I claim back tax I overpaid?"])
def test_how_do_i_replace_or_claim_asks_broadly(question: str) -> None:
    from qa_service.answer.answer_types import asks_broadly

    assert asks_broadly(question)

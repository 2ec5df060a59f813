"""Greetings and thanks around a question are not searched with: the same answer with or without them."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from sqlalchemy import select

from qa_service.answer.courtesy import core
from qa_service.answer.service import ask
from qa_service.db.models import AnswerRecord


@pytest.mark.unit
@pytest.mark.parametrize(("question", "expected"), [
    ("请问居住证怎么办理？谢谢。", "居住证怎么办理？"),
    ("您好，请问，身份证丢了怎么补办？麻烦了！", "身份证丢了怎么补办？"),
    ("Hello, how do I apply for a residence permit? Thanks in advance.", "how do I apply for a residence permit?"),
    ("Excuse me, what documents do I need? Thank you very much!", "what documents do I need?"),
    ("How do I apply for a highway permit?", "How do I apply for a highway permit?"),  # "hi" only as a word
    ("Thank you for the answer. How long does it take?", "Thank you for the answer. How long does it take?"),
    ("我的电话是[CN_MOBILE]，身份证丢了怎么补办？", "身份证丢了怎么补办？"),  # the asker's own contact details
    ("My email is [EMAIL]. How do I renew my ID card?", "How do I renew my ID card?"),
    ("我的身份证[CN_ID]丢了，怎么补办？", "我的身份证[CN_ID]丢了，怎么补办？"),  # the document is the question
    ("我的电话是[CN_MOBILE]", "我的电话是[CN_MOBILE]"),  # nothing else left
    ("谢谢", "谢谢"),  # nothing but courtesy: left as it is
    ("Hi", "Hi"),
])
def test_core_takes_courtesy_off_the_ends_only(question: str, expected: str) -> None:
    assert core(question) == expected


@pytest.mark.integration
def test_a_question_with_the_askers_phone_gets_the_plain_questions_answer(city: Any) -> None:
    _, a = ask(city, "身份证丢了怎么补办？", "city")
    _, b = ask(city, "我的电话是13800138000，身份证丢了怎么补办？", "city")
    assert a["decision"] == "answered", a
    assert (b["decision"], b["answer"]) == (a["decision"], a["answer"])
    assert "pii_in_question" in b["risk"]["reasons"] and "13800138000" not in str(b)


@pytest.mark.integration
@pytest.mark.parametrize(("plain", "polite"), [
    ("逾期缴税会怎么样？", "您好，请问逾期缴税会怎么样？谢谢！"),
    ("What happens if I pay my tax late?", "Hello, what happens if I pay my tax late? Many thanks!"),
])
def test_a_polite_question_gets_the_plain_questions_answer(tax: Any, plain: str, polite: str) -> None:
    _, a = ask(tax, plain, "tax")
    _, b = ask(tax, polite, "tax")
    assert a["decision"] == "answered", a
    assert (b["decision"], b["risk"]["level"], b["answer"]) == (a["decision"], a["risk"]["level"], a["answer"])
    assert [c["source_id"] for c in b["citations"]] == [c["source_id"] for c in a["citations"]]
    with tax.db.session() as s:  # the record keeps what the citizen wrote
        row = s.scalars(select(AnswerRecord).where(AnswerRecord.trace_id == b["trace_id"])).one()
    assert row.question == unicodedata.normalize("NFKC", polite)

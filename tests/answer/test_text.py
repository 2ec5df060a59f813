"""Sentence splitting and lexical terms shared by the answer steps."""

from __future__ import annotations

from qa_service.answer.text import overlap, split_sentences, terms


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

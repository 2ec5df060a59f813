"""Answers composed from a guide's typed sections: an element question gets that section whole (lists and tables
kept), a broad question an overview of the one best guide, an FAQ entry its whole answer, an untyped document the
chosen sentences; and the composed lines pass the citation check."""

from __future__ import annotations

import pytest

from qa_service.answer.context import AnswerContext, Passage
from qa_service.answer.generate.compose import Composer, blocks, unit_lines, units_of
from qa_service.answer.generate.extractive import ExtractiveGenerator
from qa_service.answer.steps.check import SupportChecker
from qa_service.kb.fake_embed import FakeDenseEmbedder
from qa_service.settings import GenerateSettings

pytestmark = pytest.mark.unit

GUIDE = "juzhuzheng.html"
TITLE = "居住证办理指南"
SECTIONS = [  # (heading, section_type, text)
    ("", "overview", "本指南适用于户籍不在河滨市、在本市居住的人员申领居住证。"),
    ("一、申领条件", "eligibility", "在本市办理居住登记满6个月，并符合下列条件之一：\n- 有合法稳定就业；\n- 有合法稳定住所；\n- 连续就读。"),
    ("二、所需材料", "documents", "- 本人居民身份证原件；\n- 居住证明：租赁合同或不动产权证书；\n- 就业或就读证明。\n窗口现场免费采集照片，无需自带相片。"),
    ("三、办理地点和时间", "place_time", "河滨市政务服务中心一楼1—6号窗口，或居住地派出所。\n工作时间：周一至周五9:00—17:30。"),
    ("四、收费和办理时限", "fees+duration", "事项 | 收费 | 时限\n首次申领 | 免费 | 10个工作日\n遗失补领 | 工本费20元 | 10个工作日"),
    ("五、年度签注", "other", "居住证每年签注一次。逾期未签注的，居住证暂停使用。"),
]


def guide_passages(retrieved: list[int], *, source: str = GUIDE, title: str = TITLE, start: int = 1) -> list[Passage]:
    """The guide's sections as passages: ``retrieved`` (chunk numbers) first as retrieved, the rest added beside."""
    out: list[Passage] = []
    order = retrieved + [i for i in range(len(SECTIONS)) if i not in retrieved]
    for k, i in enumerate(order):
        heading, kind, text = SECTIONS[i]
        out.append(Passage(start + k, f"{source}:{i}", source, title, text, f"d{i}", 0.5 - k / 100,
                           heading=f"{title} > {heading}" if heading else title, section_type=kind,
                           via=None if i in retrieved else start))
    return out


def composer() -> Composer:
    return Composer(overview_lines=4, overview_min_sections=2)


def test_an_element_question_gets_that_section_whole_with_its_list() -> None:
    passages = guide_passages([0, 5])  # the documents section was not retrieved: it was added beside
    got = composer().compose("办居住证要准备哪些材料？", passages)
    assert got is not None and got.sections == 1
    texts = [s.text for s in got.sentences]
    assert texts == ["- 本人居民身份证原件；", "- 居住证明：租赁合同或不动产权证书；", "- 就业或就读证明。",
                     "窗口现场免费采集照片，无需自带相片。"]
    documents = next(p for p in passages if p.chunk_id == f"{GUIDE}:2")
    assert all(s.cites == [documents.n] for s in got.sentences)


def test_a_table_stays_a_table_and_two_asked_elements_are_labelled() -> None:
    got = composer().compose("居住证在哪里办？要收钱吗？", guide_passages([3]))
    assert got is not None and got.sections == 2
    text = "\n".join(s.text for s in got.sentences)
    assert "**办理地点和时间**：河滨市政务服务中心一楼1—6号窗口，或居住地派出所。" in text
    assert "| 事项 | 收费 | 时限 |\n| --- | --- | --- |\n| 首次申领 | 免费 | 10个工作日 |" in text
    assert "居住证每年签注一次" not in text


def test_a_broad_question_gets_an_overview_of_the_one_best_guide() -> None:
    other = [Passage(2, "hukou.docx:1", "hukou.docx", "户口迁入指南", "申请人居民身份证、户口簿。", "h1", 0.45,
                     heading="户口迁入指南 > 二、申请材料", section_type="documents")]
    passages = guide_passages([1], start=1)[:1] + other + guide_passages([1], start=1)[1:]
    for i, p in enumerate(passages, start=1):
        p.n = i
    got = composer().compose("居住证怎么办理？", passages)
    assert got is not None and got.sections == 4
    text = "\n".join(s.text for s in got.sentences)
    for label in ("申领条件", "所需材料", "办理地点和时间", "收费和办理时限"):
        assert f"**{label}**" in text
    assert "户口簿" not in text  # nothing from the other guide
    assert "年度签注" not in text and "本指南适用于" not in text
    assert {passages[n - 1].source_id for s in got.sentences for n in s.cites} == {GUIDE}


def test_no_composition_for_untyped_documents_other_questions_and_sub_topics() -> None:
    untyped = [Passage(1, "pdf:0", "pdf", "公积金指南", "三、购房提取 购房后2年内可提取。", "x", 0.9)]
    assert composer().compose("公积金怎么提取？", untyped) is None  # no typed section: sentences are chosen
    assert composer().compose("居住证暂停使用后会怎样？", guide_passages([0])) is None  # asks for no element
    # an asked element the guide has no section for
    assert composer().compose("居住证咨询电话是多少？", guide_passages([0])) is None


def test_a_question_about_an_untyped_section_gets_that_section_whole() -> None:
    # the best passage is the untyped 年度签注 section and the question names it: not the guide's 办理时限
    got = composer().compose("居住证年度签注要多久？", guide_passages([5, 4]))
    assert got is not None and [s.text for s in got.sentences] == ["居住证每年签注一次。逾期未签注的，居住证暂停使用。"]
    # a question naming none of the section heading's words is not about that section
    assert composer().compose("居住证怎么样？", guide_passages([5])) is None


def test_chunks_of_one_section_are_joined_without_the_chunkers_overlap() -> None:
    a = Passage(1, "g:1", "g", "T", "第一句很长的一句话。\n第二句也很长的一句话。", "a", 0.5, heading="T > 材料",
                section_type="documents")
    b = Passage(2, "g:2", "g", "T", "第二句也很长的一句话。\n第三句。", "b", 0.4, heading="T > 材料",
                section_type="documents")
    lines = unit_lines(units_of([b, a], "g")[0])
    assert lines == [("第一句很长的一句话。", [1]), ("第二句也很长的一句话。", [1]), ("第三句。", [2])]
    assert [s.text for s in blocks([("| a | b |", [1]), ("| --- | --- |", [1]), ("| 1 | 2 |", [2])])] == \
        ["| a | b |\n| --- | --- |\n| 1 | 2 |"]


def _generator(**settings: object) -> ExtractiveGenerator:
    return ExtractiveGenerator(FakeDenseEmbedder(), GenerateSettings(**settings))  # type: ignore[arg-type]


def test_the_generator_composes_and_the_composed_lines_pass_the_citation_check() -> None:
    passages = guide_passages([1])
    draft = _generator().generate("居住证怎么办理？", passages, "zh")
    assert draft.units == 4 and draft.completeness == "full"
    kept, removed, _ = SupportChecker(FakeDenseEmbedder(), 0.5).check(draft.sentences, passages, generated=False)
    assert removed == [] and len(kept) == len(draft.sentences)
    ctx = AnswerContext(question="居住证怎么办理？", tenant="t", lang="zh", sentences=kept)
    lines = ctx.answer_text.split("\n")
    assert lines[0].startswith("**申领条件**：在本市办理居住登记满6个月") and lines[1].startswith("- 有合法稳定就业；[")
    assert any(ln.startswith("| 首次申领 | 免费 | 10个工作日 |") for ln in lines)
    off = _generator(compose_units=False).generate("居住证怎么办理？", passages, "zh")
    assert off.units is None  # switched off: sentences chosen one by one


def test_a_matching_faq_entry_still_gives_its_whole_answer() -> None:
    faq = Passage(1, "faq.csv:0", "faq.csv", "FAQ", "居住证丢了怎么办？\n携带身份证到受理点申请补领。工本费20元。", "f",
                  0.9, kind="faq", section_type="faq")
    passages = [faq, *guide_passages([4], start=2)]
    draft = _generator().generate("居住证丢了怎么办？", passages, "zh")
    assert [s.text for s in draft.sentences] == ["携带身份证到受理点申请补领。", "工本费20元。"]
    assert all(s.cites == [1] for s in draft.sentences) and draft.units is None


def test_a_composed_answer_counts_as_its_sections_and_ranks_as_its_guide() -> None:
    from qa_service.answer import confidence
    from qa_service.answer.context import Draft

    passages = guide_passages([0, 5, 1])  # retrieved: overview (1), 年度签注 (2), eligibility (3); the rest added
    draft = _generator().generate("居住证怎么办理？", passages, "zh")
    ctx = AnswerContext(question="居住证怎么办理？", tenant="t", lang="zh", passages=passages, draft=draft,
                        sentences=draft.sentences)
    f = confidence.extract(ctx, services=None)  # type: ignore[arg-type]  # no query vector: no store features
    assert f["passages"] == 3.0  # the sections added beside are not retrieved passages
    assert f["sentences"] == 4.0 and len(draft.sentences) > 4  # four sections quoted, one choice each
    assert f["cited_rank"] == 1.0  # the guide's best retrieved passage, though the first section cited ranked 3rd
    picked = AnswerContext(question="q", tenant="t", lang="zh", passages=passages, draft=Draft([]),
                           sentences=[s for s in draft.sentences if passages[2].n in s.cites])
    assert confidence.extract(picked, services=None)["cited_rank"] == 3.0  # type: ignore[arg-type]


def test_a_broad_question_is_not_answered_by_a_narrow_faq_entry() -> None:
    faq = Passage(1, "faq.csv:3", "faq.csv", "FAQ", "居住证申领有年龄要求吗？\n没有年龄要求。", "f", 0.9, kind="faq",
                  section_type="faq")
    passages = [faq, *guide_passages([1], start=2)]
    draft = _generator().generate("居住证怎么办理？", passages, "zh")
    assert draft.units == 4 and all(1 not in s.cites for s in draft.sentences)  # the guide's overview instead


def test_a_follow_up_asks_for_what_its_own_words_ask_for() -> None:
    """A follow-up rewritten with the earlier question ("居住证怎么签注？ 那要多久？") takes its topic from the rewrite
    but what it asks for from its own words: the duration, not the section the earlier question named."""
    passages = guide_passages([5, 4])  # the annual-endorsement section ranks first for the rewrite
    rewritten = "居住证年度签注怎么办？ 那要多久？"
    assert composer().compose(rewritten, passages).sentences[0].text.startswith("居住证每年签注一次")  # type: ignore[union-attr]
    got = composer().compose(rewritten, passages, intent="那要多久？")
    assert got is not None and "10个工作日" in "\n".join(s.text for s in got.sentences)

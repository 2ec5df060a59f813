"""Section typing by heading wording: zh and en vocabularies, numbering, variants, unknown headings, overview, FAQ."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_service.ingest.sections import SectionVocabulary, normalise_heading, strip_numbering, types_of

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def vocab() -> SectionVocabulary:
    return SectionVocabulary.from_file()


@pytest.mark.parametrize(("path", "expected"), [
    ("居住证办理指南 > 一、申请条件", "eligibility"),
    ("居住证办理指南 > （二）所需材料", "documents"),
    ("居住证办理指南 > 3. 办理流程", "procedure"),
    ("居住证办理指南 > 第四章 办理地点和时间", "place_time"),
    ("居住证办理指南 > 五、收费标准", "fees"),
    ("居住证办理指南 > 六、办理时限", "duration"),
    ("居住证办理指南 > 七、咨询方式", "contact"),
    ("Residence permit guide > Who can apply", "eligibility"),
    ("Residence permit guide > 2. What to bring", "documents"),
    ("Residence permit guide > How to apply", "procedure"),
    ("Residence permit guide > Where and when", "place_time"),
    ("Residence permit guide > FEES", "fees"),
    ("Residence permit guide > Processing time", "duration"),
    ("Residence permit guide > Contact", "contact"),
])
def test_standard_headings_zh_and_en(vocab: SectionVocabulary, path: str, expected: str) -> None:
    assert vocab.type(path, "Residence permit guide") == expected


def test_small_wording_variants_match_without_a_rule_each(vocab: SectionVocabulary) -> None:
    assert vocab.type("指南 > 一、办理地点与时间", "指南") == "place_time"  # 与 for 和
    assert vocab.type("指南 > 一、申领材料", "指南") == "documents"  # the core word 材料
    assert vocab.type("Guide > Document", "Guide") == "documents"  # singular
    assert vocab.type("Guide > Documents requested", "Guide") == "documents"
    assert vocab.type("Guide > Labour contract", "Guide") == "other"  # not "contact": short phrases match as written
    assert vocab.type("指南 > 一、办理时间", "指南") == "place_time"  # not 办理时限
    assert vocab.type("Guide > Who can register", "Guide") == "eligibility"


def test_a_heading_naming_two_elements_gets_both_in_its_order(vocab: SectionVocabulary) -> None:
    assert vocab.type("指南 > 四、收费和办理时限", "指南") == "fees+duration"
    assert types_of(vocab.type("Guide > Fees and processing time", "Guide")) == ("fees", "duration")
    assert types_of(vocab.type("指南 > 三、办理流程和时限", "指南")) == ("procedure", "duration")


def test_unknown_heading_is_other_and_the_deepest_typed_heading_decides(vocab: SectionVocabulary) -> None:
    assert vocab.type("居住证办理指南 > 五、年度签注", "居住证办理指南") == "other"
    assert vocab.type("Guide > Annual endorsement (签注)", "Guide") == "other"
    assert vocab.type("ID card > Replacing a lost card > Documents", "ID card") == "documents"
    assert vocab.type("ID card > Documents > For children", "ID card") == "documents"  # the parent decides


def test_text_under_the_title_is_overview_and_faq_entries_keep_their_kind(vocab: SectionVocabulary) -> None:
    assert vocab.type("", "Anything") == "overview"
    assert vocab.type("河滨市居住证办理指南", "居住证办理指南 - 河滨市政务服务中心") == "overview"
    assert vocab.type("Fee waivers at the counter", "Fee waivers at the counter") == "overview"  # not "fees"
    assert vocab.type("一、中心地址", "联系方式") == "place_time"  # a flat document's first-level heading
    assert vocab.type("Guide > Fees", "Guide", kind="faq") == "faq"


def test_numbering_is_removed_and_the_vocabulary_is_editable(tmp_path: Path) -> None:
    assert strip_numbering("四、收费和办理时限") == "收费和办理时限"
    assert strip_numbering("（二）Fees") == "Fees"
    assert normalise_heading("3.1 Where To Apply") == "where to apply"
    custom = tmp_path / "types.yaml"
    custom.write_text("min_score: 90\ntypes:\n  fees:\n    en: [tariff]\n    zh: [价目]\n", encoding="utf-8")
    own = SectionVocabulary.from_file(custom)
    assert own.type("Guide > Tariff", "Guide") == "fees"
    assert own.type("指南 > 二、价目表", "指南") == "fees"
    assert own.type("Guide > Fees", "Guide") == "other"  # only the listed phrases
    bad = tmp_path / "bad.yaml"
    bad.write_text("types:\n  prices: {en: [price]}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown section types"):
        SectionVocabulary.from_file(bad)

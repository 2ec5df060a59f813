"""Issue 22: the place, office and period detector (Chinese places by cpca-new, English ones from the catalog),
and the place check step (other places' citations, figures of another office, the plain note)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from qa_service.answer.context import AnswerContext, Passage, Sentence
from qa_service.answer.steps.place import PlaceCheckStep, PlaceMessage
from qa_service.kb.places import PlaceCheck
from qa_service.place import (
    NATIONAL,
    Place,
    applies,
    detect_document,
    detect_question,
    known_places,
    parse_place,
    patch_payload,
    same_office,
    zh_places,
)

pytestmark = pytest.mark.unit

TIELING = Place("city", ("辽宁省", "铁岭市"), "211200")
NANJING = Place("city", ("江苏省", "南京市"), "320100")
RIVERTON = Place("city", ("Riverton",))
NORTHGATE = Place("district", ("Riverton", "Northgate"))
KNOWN = known_places([RIVERTON, NORTHGATE, Place("city", ("Lakeside",))])


def test_chinese_places_resolve_with_their_province_and_adcode() -> None:
    assert zh_places("铁岭市关于社会保险费缓缴的通知") == [TIELING]
    [dongcheng] = zh_places("东城区政务服务中心")
    assert dongcheng.adcode == "110101" and dongcheng.path[0] == "北京市" and dongcheng.level == "district"
    [jiangning] = zh_places("南京市江宁区人力资源和社会保障局")  # the city and its district are one place
    assert jiangning.adcode == "320115" and jiangning.path == ("江苏省", "南京市", "江宁区")
    assert zh_places("南京的企业", abbreviations=True)[0].adcode == "320100"
    assert zh_places("南京的企业", abbreviations=False) == []  # documents are read with full names only
    assert zh_places("河滨市人社局") == [] and zh_places("How do I renew my passport?") == []


def test_questions_name_a_place_an_office_and_a_year() -> None:
    q = detect_question("铁岭经济开发区管委会的咨询电话是多少？")
    assert q.place == TIELING and q.office is not None and same_office(q.office, "铁岭经济开发区管理委员会")
    assert detect_question("2024年个人所得税汇算截止时间").year == 2024
    assert not detect_question("缓缴社保期间要交滞纳金吗？").any
    # English places come from the knowledge base's catalog, so a district resolves to its city
    assert detect_question("When is the Northgate District Office open?", KNOWN).place == NORTHGATE
    assert detect_question("Can a firm in Riverton defer contributions?", KNOWN).place == RIVERTON
    unknown = detect_question("Can firms in Lakeford City defer contributions?", KNOWN).place
    assert unknown is not None and unknown.path == ("Lakeford",)
    assert detect_question("How do I renew my passport?", KNOWN).place is None


def test_a_rule_applies_in_its_place_and_below_it_national_everywhere() -> None:
    [jiangning] = zh_places("江宁区")
    [shenyang] = zh_places("沈阳市")
    assert applies(NANJING, jiangning) and not applies(jiangning, NANJING)  # a district's rule is not the city's
    assert not applies(TIELING, shenyang) and applies(NATIONAL, shenyang) and applies(None, shenyang)
    assert applies(RIVERTON, NORTHGATE) and not applies(NORTHGATE, RIVERTON)
    assert not applies(Place("city", ("Lakeside",)), NORTHGATE)


def test_offices_compare_without_places_and_with_short_forms() -> None:
    assert same_office("人社局", "铁岭市人力资源和社会保障局")
    assert same_office("江宁区政务服务中心", "南京市江宁区政务服务中心")
    assert not same_office("政务服务中心", "铁岭市社会保险事业服务中心")
    assert not same_office("管委会", "铁岭市公安局")
    assert not same_office("Riverton Social Insurance Office", "Lakeside Social Insurance Office")


def test_a_document_scope_is_detected_from_title_issuer_line_and_text_unless_given() -> None:
    text = ("各有关单位：\n现就缓缴社会保险费通知如下。\n自2024年1月1日起施行，有效期至2030年12月31日。\n"
            "铁岭市人力资源和社会保障局\n2023年12月20日")
    scope = detect_document("铁岭市人力资源和社会保障局关于阶段性缓缴社会保险费的通知", text, {})
    assert scope.place == TIELING and scope.office == "铁岭市人力资源和社会保障局"
    assert (scope.issue_date, scope.effective_date, scope.expiry_date) == (
        dt.date(2023, 12, 20), dt.date(2024, 1, 1), dt.date(2030, 12, 31))
    assert set(scope.detected) == {"office", "jurisdiction", "issue_date", "effective_date", "expiry_date"}
    given = detect_document("Deferral", "Firms may defer.", {"jurisdiction": "Riverton > Northgate",
                                                             "office": "Northgate District Office",
                                                             "expiry_date": "2031-01-01"})
    assert given.place == NORTHGATE and given.expiry_date == dt.date(2031, 1, 1) and given.detected == []
    assert detect_document("国家税务总局关于发票的公告", "x", {}).place == NATIONAL
    assert detect_document("国家税务总局铁岭市税务局关于发票的公告", "x", {}).place == TIELING
    assert parse_place("211200") == TIELING and parse_place("national") == NATIONAL


def test_an_editors_correction_patches_a_copied_payload() -> None:
    payload = {"place": "辽宁省铁岭市", "place_level": "city", "place_path": ["辽宁省", "铁岭市"], "adcode": "211200",
               "office": "x", "effective": 0, "expiry": 99991231, "issued": 0}
    out = patch_payload(payload, {"jurisdiction": "南京市", "expiry_date": "2030-12-31"})
    assert out["adcode"] == "320100" and out["expiry"] == 20301231 and out["office"] == "x"


def test_the_place_library_is_not_imported_by_the_cli_help() -> None:
    code = ("import sys; from qa_service.cli.main import app; from typer.testing import CliRunner; "
            "CliRunner().invoke(app, ['--help']); import qa_service.place; print('cpca_new' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


# --- the place check step ------------------------------------------------------------------------------------

def _passage(n: int, source: str, text: str, place: Place | None, office: str | None = None) -> Passage:
    return Passage(n=n, chunk_id=f"{source}:0", source_id=source, title=source, text=text, digest="d", score=1.0,
                   place=place, office=office)


def _ctx(question: str, passages: list[Passage], sentences: list[Sentence], check: PlaceCheck,
         lang: str = "zh") -> AnswerContext:
    ctx = AnswerContext(question=question, tenant="t", lang=lang)
    ctx.passages, ctx.sentences, ctx.place = passages, sentences, check
    return ctx


def test_another_places_passage_is_never_the_answer() -> None:
    [shenyang] = zh_places("沈阳市")
    ps = [_passage(1, "tieling.md", "缓缴期限最长不超过6个月。", TIELING),
          _passage(2, "nation.md", "缓缴期间免收滞纳金。", NATIONAL)]
    check = PlaceCheck(detect_question("沈阳市企业缓缴社保要交滞纳金吗？"), excluded=[], elsewhere=["辽宁省铁岭市"])
    ctx = _ctx("沈阳市企业缓缴社保要交滞纳金吗？", ps, [Sentence("缓缴期限最长不超过6个月。", [1]),
                                                     Sentence("缓缴期间免收滞纳金。", [2])], check)
    assert check.asked.place == shenyang
    PlaceCheckStep().run(ctx)
    assert "place_mismatch" in ctx.risk_reasons and "place_not_held" in ctx.risk_reasons
    assert [s.cites for s in ctx.sentences] == [[], [2]]  # the note, then the national rule only
    assert "沈阳市" in ctx.sentences[0].text and "铁岭市" in ctx.sentences[0].text
    assert ctx.removed[0]["reason"] == "place_mismatch"


def test_a_number_of_another_office_is_not_quoted_as_the_asked_offices() -> None:
    text = ("开发区管委会企业服务科咨询电话：024-7255 6600。\n对治安管理处罚决定不服的，可以向铁岭市公安局申请行政复议，"
            "铁岭市公安局行政复议电话：024-7233 9999。")
    p = _passage(1, "kaifaqu.md", text, TIELING, "铁岭经济开发区管理委员会")
    q = "铁岭经济开发区管委会的咨询电话是多少？"
    ctx = _ctx(q, [p], [Sentence("铁岭市公安局行政复议电话：024-7233 9999。", [1]),
                        Sentence("开发区管委会企业服务科咨询电话：024-7255 6600。", [1])], PlaceCheck(detect_question(q)))
    PlaceCheckStep().run(ctx)
    assert [s.text for s in ctx.sentences] == ["开发区管委会企业服务科咨询电话：024-7255 6600。"]
    assert ctx.removed[0]["owner"] == "铁岭市公安局" and "figure_owner_mismatch" in ctx.risk_reasons


def test_a_contact_question_naming_no_office_gets_one_offices_numbers() -> None:
    ps = [_passage(1, "a.md", "铁岭市社会保险事业服务中心咨询电话：024-7288 1234。", TIELING),
          _passage(2, "b.md", "铁岭市政务服务中心咨询电话：024-7266 0000。", TIELING)]
    q = "铁岭市社保缓缴的咨询电话是多少？"
    ctx = _ctx(q, ps, [Sentence(ps[0].text, [1]), Sentence(ps[1].text, [2])], PlaceCheck(detect_question(q)))
    PlaceCheckStep().run(ctx)
    assert [s.cites for s in ctx.sentences] == [[1]]


def test_one_places_answer_to_a_question_naming_none_says_whose_rule_it_is() -> None:
    p = _passage(1, "riverton.md", "Firms may defer for up to 3 months.", RIVERTON)
    q = "How long can a firm defer contributions?"
    check = PlaceCheck(detect_question(q, KNOWN), place_count=3)
    ctx = _ctx(q, [p], [Sentence(p.text, [1])], check, lang="en")
    PlaceCheckStep().run(ctx)
    assert ctx.sentences[0].text == "This is Riverton's rule." and ctx.risk_reasons == []


def test_a_decline_for_a_place_without_documents_says_so_before_the_contact_line() -> None:
    q = "How long can a firm in Lakeford City defer contributions?"
    ctx = AnswerContext(question=q, tenant="t", lang="en")
    ctx.place = PlaceCheck(detect_question(q, KNOWN), excluded=["riverton.md"], elsewhere=["Riverton > Northgate"])
    ctx.stop("unanswerable_no_content")
    PlaceMessage().run(ctx)
    assert ctx.message.startswith("We hold nothing for Lakeford on this; the rules we hold are for Northgate "
                                  "(Riverton)") and "12345" in ctx.message


def test_a_notice_no_longer_in_force_is_cited_with_its_dates_and_a_warning() -> None:
    from qa_service.kb.places import Lapsed

    for lang, question, text, title, successor, marks in (
            ("zh", "2022年铁岭市企业社保缓缴期限最长几个月？", "缓缴期限最长不超过3个月。", "铁岭市关于缓缴的通知（2022年）",
             "铁岭市关于缓缴的通知", ("2022年5月10日发布", "已被《铁岭市关于缓缴的通知》取代", "2023年12月31日后不再适用")),
            ("en", "Can a Lakeside firm get a flood recovery grant?", "Apply within 30 days.", "Flood recovery grant",
             None, ("no longer in force", "issued 10 May 2022", "in force until 31 December 2023"))):
        ps = [_passage(1, "old.md", text, TIELING if lang == "zh" else Place("city", ("Lakeside",)))]
        check = PlaceCheck(detect_question(question, KNOWN))
        check.lapsed["old.md"] = Lapsed("old.md", title, 20220510, 0, 20231231, successor)
        ctx = _ctx(question, ps, [Sentence(text, [1])], check, lang)
        PlaceCheckStep().run(ctx)
        assert "source_expired" in ctx.risk_reasons
        assert ctx.sentences[0].cites == [] and all(m in ctx.sentences[0].text for m in marks), ctx.sentences[0].text
        assert ctx.sentences[1].text == text
    # a current passage beside it gets no warning
    ps = [_passage(1, "new.md", "缓缴期限最长不超过6个月。", TIELING)]
    ctx = _ctx("铁岭市企业社保缓缴期限最长几个月？", ps, [Sentence("缓缴期限最长不超过6个月。", [1])],
               PlaceCheck(detect_question("铁岭市企业社保缓缴期限最长几个月？")))
    PlaceCheckStep().run(ctx)
    assert "source_expired" not in ctx.risk_reasons and len(ctx.sentences) == 1


def test_a_question_names_a_month_as_its_period() -> None:
    assert detect_question("2023年6月铁岭企业申请缓缴社保要提交什么材料？").period == (20230601, 20230631)
    assert detect_question("What was the allowance in January 2024?").period == (20240101, 20240131)
    assert detect_question("2024年度个人所得税汇算").period == (20240101, 20241231)
    assert detect_question("自2024年3月15日起施行的规定").period is None  # a day, not a period

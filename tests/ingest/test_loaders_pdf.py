"""PDF loader on PDFs made with reportlab in tmp_path, and on the real letter-spaced eval PDF."""

from __future__ import annotations

from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from eval.data import eval_data_dir
from qa_service.ingest.loaders import LoaderError, detect_type, load_file
from qa_service.ingest.loaders.letterspacing import is_letter_spaced, repair_line

pytestmark = pytest.mark.unit

EVAL_PDFS = eval_data_dir() / "h2o-evals-gov-pdfs"
VA_PDF = EVAL_PDFS / "Government_US_Veterans_Affairs" / "US_Veterans_Affairs.pdf"


def make_pdf(path: Path) -> Path:
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle("Passport renewal guide")
    c.drawString(72, 780, "Passport renewal")
    c.drawString(72, 760, "Adults renew their passport online. The fee is 75 dollars.")
    c.showPage()
    c.rect(100, 100, 300, 300, fill=1)  # a page with a drawing and no text, like a scan
    c.showPage()
    c.drawString(72, 780, "T h e  D e p a r t m e n t  o f  H o m e  A f f a i r s")
    c.drawString(72, 760, "Offices open at nine.")
    c.showPage()
    c.save()
    return path


def test_pdf_pages_title_scanned_warning_and_letter_spacing(tmp_path: Path) -> None:
    doc = load_file(make_pdf(tmp_path / "guide.pdf"), "pdf")
    assert doc.pages == 3
    assert doc.title == "Passport renewal guide"
    assert [s.page for s in doc.sections] == [1, 3]
    assert "The fee is 75 dollars." in doc.sections[0].text
    assert doc.sections[0].heading_path == []
    assert doc.warnings == ["page 2: no extractable text (scanned image?)"]
    assert doc.sections[1].text.splitlines()[0] == "The Department of Home Affairs"
    assert "Offices open at nine." in doc.sections[1].text


def test_pdf_without_any_text_raises(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.rect(50, 50, 200, 200)
    c.showPage()
    c.save()
    with pytest.raises(LoaderError, match=r"none of its 1 page\(s\) has extractable text"):
        load_file(path, "pdf")


def test_broken_pdf_raises_loader_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4 this is not really a pdf")
    assert detect_type(path) == "pdf"
    with pytest.raises(LoaderError, match=r"broken\.pdf is not a readable PDF"):
        load_file(path, "pdf")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("T h e  D e p a r t m e n t  o f", "The Department of"),
        ("V A  F Y 2 0 1 8  -  2 0 2 4  S t r a t e g i c  P l a n   11 ", "VA FY 2018 - 2024 Strategic Plan 11"),
        ("中 华 人 民 共 和 国", "中华人民共和国"),
        ("T h e D e p a r t m e n t", "The Department"),  # no word gaps: split where case changes
    ],
)
def test_repair_line(line: str, expected: str) -> None:
    assert is_letter_spaced(line)
    assert repair_line(line) == expected


@pytest.mark.parametrize("line", ["0 0 0 0 0 0", "12/30/2015 X X X", "New and replacement assets 0 0 0 0 0 0",
                                  "A resident permit costs 40 dollars a year."])
def test_normal_lines_are_not_letter_spaced(line: str) -> None:
    assert not is_letter_spaced(line)
    assert repair_line(line) == line


@pytest.mark.skipif(not VA_PDF.is_file(), reason="eval PDFs not available")
def test_real_letter_spaced_pdf_is_repaired() -> None:
    doc = load_file(VA_PDF, "pdf")
    assert doc.pages == 55
    assert doc.title == "Department of Veterans Affairs 2018-2024 Strategic Plan"
    text = "\n".join(s.text for s in doc.sections)
    assert "S t r a t e g i c" not in text
    page3 = next(s for s in doc.sections if s.page == 3)
    assert page3.text.splitlines()[0] == "VA FY 2018 - 2024 Strategic Plan 2"
    assert text.count("Strategic Plan") >= 50
    assert not any(is_letter_spaced(line) for line in text.splitlines())


KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


def test_numbered_headings_of_the_page_text_give_sections_across_pages(tmp_path: Path) -> None:
    path = tmp_path / "guide.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    lines = ["Fishing licences in Riverton", "1. Who can apply", "Anyone aged 16 or over can apply.",
             "2. Documents", "1. Your identity card.", "2. A recent photo.", "0.5% to 1.9% by river class",
             "3. Fees"]
    for i, line in enumerate(lines):
        c.drawString(72, 780 - 20 * i, line)
    c.showPage()
    c.drawString(72, 780, "The licence costs 30 yuan a year.")
    c.drawString(72, 760, "4. Contact")
    c.drawString(72, 740, "Call 12345.")
    c.showPage()
    c.save()
    doc = load_file(path, "pdf")
    got = [(s.page, s.heading_path, s.text.splitlines()[0]) for s in doc.sections]
    assert got == [
        (1, [], "Fishing licences in Riverton"),
        (1, ["1. Who can apply"], "Anyone aged 16 or over can apply."),
        (1, ["2. Documents"], "1. Your identity card."),  # a numbered line followed by one is a list item
        (2, ["3. Fees"], "The licence costs 30 yuan a year."),  # the heading runs on to the next page
        (2, ["4. Contact"], "Call 12345."),
    ]
    documents = doc.sections[2].text
    assert "2. A recent photo." in documents and "0.5% to 1.9% by river class" in documents


def test_chinese_numbered_headings_are_not_joined_to_the_text_below() -> None:
    doc = load_file(KNOWLEDGE / "city" / "shebao-linghuo-jiuye.pdf", "pdf")
    headings = [s.heading_path[-1] for s in doc.sections if s.heading_path]
    assert headings[:4] == ["一、参保条件", "二、缴费基数和费率", "三、办理流程", "四、断缴和补缴"]
    section = next(s for s in doc.sections if s.heading_path == ["四、断缴和补缴"])
    assert section.text.startswith("因余额不足未能扣款的")  # not "四、断缴和补缴因余额不足…"
    assert not any("四、断缴和补缴" in s.text for s in doc.sections)


def test_a_pdf_outline_still_wins_over_the_page_text(tmp_path: Path) -> None:
    path = tmp_path / "outlined.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    for n in range(4):
        c.bookmarkPage(f"p{n}")
        c.addOutlineEntry(f"Part {n + 1}", f"p{n}", level=0)
        c.drawString(72, 780, f"{n + 1}. Numbered line")
        c.drawString(72, 760, "Body text of the part.")
        c.showPage()
    c.save()
    doc = load_file(path, "pdf")
    assert [s.heading_path for s in doc.sections] == [["Part 1"], ["Part 2"], ["Part 3"], ["Part 4"]]


def test_bullets_become_list_items_and_table_cells_stay_lines() -> None:
    doc = load_file(KNOWLEDGE / "city" / "shebao-linghuo-jiuye.pdf", "pdf")
    by_heading = {s.heading_path[-1]: s.text for s in doc.sections if s.heading_path}
    assert by_heading["一、参保条件"].splitlines()[0] == "- 年满16周岁、未达到法定退休年龄；"
    rates = by_heading["二、缴费基数和费率"].splitlines()
    assert "险种" in rates and "基本养老保险" in rates  # cells of the table, not "险种费率按下限…基本养老保险"
    assert rates[0].startswith("灵活就业人员可在本市缴费基数上下限之间自主选择缴费基数。2025年度")  # a wrap is joined

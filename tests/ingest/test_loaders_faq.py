"""FAQ sheets (CSV, XLSX, JSON, JSONL), NotFaqSheet, jsonl sniffing and corpus streaming."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from qa_service.ingest.loaders import LoaderError, NotFaqSheet, detect_type, iter_corpus, load_file

pytestmark = pytest.mark.unit


def test_csv_chinese_columns_with_category(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text("问题,答案,分类\n居住证补领要多少钱？,工本费20元。,居住证\n营业时间？,工作日9点至17点。,\n",
                    encoding="utf-8-sig")
    assert detect_type(path) == "faq"
    doc = load_file(path, "faq")
    assert [(s.kind, s.question, s.answer, s.heading_path) for s in doc.sections] == [
        ("faq", "居住证补领要多少钱？", "工本费20元。", ["居住证"]),
        ("faq", "营业时间？", "工作日9点至17点。", []),
    ]
    assert doc.sections[0].text == "居住证补领要多少钱？\n工本费20元。"


def test_xlsx_english_columns_case_insensitive_all_sheets(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "General"
    ws.append(["Category", " QUESTION ", "Answer", "URL"])
    ws.append(["Hours", "When are you open?", "Monday to Friday.", "https://city.example/hours"])
    ws.append([None, None, None, None])
    notes = wb.create_sheet("Notes")
    notes.append(["Remark"])
    notes.append(["internal"])
    tax = wb.create_sheet("Tax")
    tax.append(["q", "a"])
    tax.append(["Is there a fee?", 20])
    path = tmp_path / "faq.xlsx"
    wb.save(str(path))
    doc = load_file(path, "faq")
    assert [(s.question, s.answer, s.heading_path) for s in doc.sections] == [
        ("When are you open?", "Monday to Friday.", ["Hours"]), ("Is there a fee?", "20", [])]
    assert doc.meta["url"] == "https://city.example/hours"
    assert any("Notes" in w for w in doc.warnings)


def test_json_list_and_faqs_object_and_jsonl(tmp_path: Path) -> None:
    a = tmp_path / "a.json"
    a.write_text(json.dumps([{"Q": "问1", "A": "答1"}, {"q": "", "a": ""}], ensure_ascii=False), encoding="utf-8")
    b = tmp_path / "b.json"
    b.write_text(json.dumps({"faqs": [{"问": "问2", "答": "答2", "回答": "ignored"}]}, ensure_ascii=False),
                 encoding="utf-8")
    c = tmp_path / "c.jsonl"
    c.write_text('{"question": "Q3?", "answer": "A3."}\nnot json\n{"question": "Q4?", "answer": "A4."}\n',
                 encoding="utf-8")
    assert [s.text for s in load_file(a, "faq").sections] == ["问1\n答1"]
    assert [s.answer for s in load_file(b, "faq").sections] == ["答2"]
    assert detect_type(c) == "faq"
    doc = load_file(c, "faq")
    assert [s.question for s in doc.sections] == ["Q3?", "Q4?"]
    assert doc.warnings == ["c.jsonl line 2: not valid JSON (Expecting value); skipped"]


def test_not_faq_sheets(tmp_path: Path) -> None:
    plain = tmp_path / "table.csv"
    plain.write_text("name,phone\nLi,123\n", encoding="utf-8")
    with pytest.raises(NotFaqSheet, match=r"no question and answer columns \(found: name, phone\)"):
        load_file(plain, "faq")
    evalset = tmp_path / "question_type_x.csv"
    evalset.write_text("question,answer,question_type,filename\nWhat?,That.,fact,x.pdf\n", encoding="utf-8")
    with pytest.raises(NotFaqSheet, match="evaluation set"):
        load_file(evalset, "faq")
    obj = tmp_path / "o.json"
    obj.write_text('{"name": "x"}', encoding="utf-8")
    with pytest.raises(NotFaqSheet):
        load_file(obj, "faq")
    bad = tmp_path / "bad.json"
    bad.write_text("[{", encoding="utf-8")
    with pytest.raises(LoaderError, match="not valid JSON") as info:
        load_file(bad, "faq")
    assert not isinstance(info.value, NotFaqSheet)


def test_corpus_detection_and_streaming_with_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    lines = [json.dumps({"doc_id": i, "title": f"第{i}条", "text": f"条文{i}。", "department": "法制办",
                         "visibility": "internal"}, ensure_ascii=False) for i in range(3)]
    lines.insert(2, '{"doc_id": 99, "text": ')
    lines.append(json.dumps({"doc_id": 7}))
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    assert detect_type(path) == "corpus"
    stream = iter_corpus(path)
    record, doc = next(stream)  # a generator: records come one by one
    assert record["doc_id"] == 0 and doc.title == "第0条" and doc.sections[0].text == "条文0。"
    assert doc.meta == {"doc_id": 0, "title": "第0条", "department": "法制办", "visibility": "internal"}
    rest = list(stream)
    assert [r.get("doc_id") for r, _ in rest] == [1, None, 2, None]
    assert rest[1][1].warnings == ["corpus.jsonl line 3: not valid JSON (Expecting value); skipped"]
    assert rest[3][1].warnings == ["corpus.jsonl line 5: missing doc_id or text; skipped"]
    with pytest.raises(LoaderError, match="iter_corpus"):
        load_file(path, "corpus")


def test_jsonl_that_is_neither(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n', encoding="utf-8")
    assert detect_type(path) is None

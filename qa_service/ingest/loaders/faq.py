"""FAQ sheets (CSV, XLSX, JSON, JSONL): one section per question/answer entry.

Columns are found by name, case-insensitively, in English and Chinese. A sheet without both a
question and an answer column, or one that looks like an evaluation set, is not an FAQ sheet.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from qa_service.ingest.loaders.errors import LoaderError, NotFaqSheet
from qa_service.ingest.loaders.limits import DEFAULT_LIMITS, LoadLimits, check_zip
from qa_service.ingest.loaders.textfile import read_text
from qa_service.ingest.types import LoadedDocument, Section

log = logging.getLogger(__name__)

QUESTION_NAMES = ("question", "questions", "q", "问题", "问", "提问", "常见问题")
ANSWER_NAMES = ("answer", "answers", "a", "答案", "答", "回答", "解答", "答复")
CATEGORY_NAMES = ("category", "categories", "topic", "section", "分类", "类别", "栏目", "主题")
URL_NAMES = ("url", "link", "source_url", "链接", "网址")
# Columns that mark an evaluation or test set rather than an FAQ meant for citizens.
EVAL_NAMES = frozenset({"context", "contexts", "choices", "question_type", "tokens_present", "ground_truth",
                        "expected_answer", "reference_answer", "gold_answer", "filename", "document"})


def _norm(name: object) -> str:
    return "".join(str(name or "").split()).strip(":：").lower()


def find_columns(header: Iterable[object]) -> dict[str, str] | None:
    """Map role (question/answer/category/url) to the header's column name; None without Q and A."""
    by_norm: dict[str, str] = {}
    for name in header:
        if name is not None and _norm(name) and _norm(name) not in by_norm:
            by_norm[_norm(name)] = str(name)
    roles: dict[str, str] = {}
    for role, names in (("question", QUESTION_NAMES), ("answer", ANSWER_NAMES),
                        ("category", CATEGORY_NAMES), ("url", URL_NAMES)):
        for candidate in names:
            if candidate in by_norm:
                roles[role] = by_norm[candidate]
                break
    if "question" not in roles or "answer" not in roles:
        return None
    return roles


def _eval_columns(header: Iterable[object]) -> list[str]:
    return sorted({str(h) for h in header if _norm(h) in EVAL_NAMES})


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def rows_to_document(rows: Iterable[dict[str, Any]], header: list[str], where: str) -> LoadedDocument:
    """Turn records into FAQ sections; raise NotFaqSheet when the columns do not fit."""
    roles = find_columns(header)
    if roles is None:
        shown = ", ".join(str(h) for h in header[:8]) or "(none)"
        raise NotFaqSheet(f"{where}: not an FAQ sheet, no question and answer columns (found: {shown})")
    extra = _eval_columns(header)
    if extra:
        raise NotFaqSheet(f"{where}: looks like an evaluation set, not an FAQ (columns {', '.join(extra)})")
    sections: list[Section] = []
    warnings: list[str] = []
    urls: list[str] = []
    for n, row in enumerate(rows, start=1):
        question, answer = _cell(row.get(roles["question"])), _cell(row.get(roles["answer"]))
        if not question and not answer:
            continue
        if not question or not answer:
            warnings.append(f"{where} entry {n}: {'question' if not question else 'answer'} is empty; skipped")
            continue
        category = _cell(row.get(roles["category"])) if "category" in roles else ""
        if "url" in roles and _cell(row.get(roles["url"])):
            urls.append(_cell(row.get(roles["url"])))
        sections.append(Section(text=f"{question}\n{answer}", heading_path=[category] if category else [],
                                kind="faq", question=question, answer=answer))
    meta: dict[str, object] = {}
    if urls and len(set(urls)) == 1:
        meta["url"] = urls[0]
    elif urls:
        meta["entry_urls"] = urls
    if not sections:
        warnings.append(f"{where}: the sheet has no question/answer entries")
    return LoadedDocument(sections=sections, meta=meta, warnings=warnings)


def _load_csv(path: Path) -> LoadedDocument:
    text = read_text(path)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    try:
        header = list(reader.fieldnames or [])
        return rows_to_document(list(reader), header, path.name)
    except csv.Error as exc:
        raise LoaderError(f"{path.name} is not a readable CSV file ({exc})") from exc


def _sheet_rows(ws: Any) -> tuple[list[str], Iterator[dict[str, Any]]]:
    it = ws.iter_rows(values_only=True)
    header: list[str] = []
    for first in it:
        if any(c not in (None, "") for c in first):
            header = [_cell(c) for c in first]
            break

    def rows() -> Iterator[dict[str, Any]]:
        for values in it:
            yield {header[i]: v for i, v in enumerate(values) if i < len(header)}

    return header, rows()


def _load_xlsx(path: Path, limits: LoadLimits) -> LoadedDocument:
    check_zip(path, limits)
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(str(path), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise LoaderError(f"{path.name} is not a readable Excel (.xlsx) file; old .xls files must be "
                          "saved as .xlsx first") from exc
    try:
        merged = LoadedDocument(sections=[])
        skipped: list[str] = []
        for ws in wb.worksheets:
            header, rows = _sheet_rows(ws)
            try:
                doc = rows_to_document(rows, header, f"{path.name} sheet {ws.title!r}")
            except NotFaqSheet as exc:
                skipped.append(str(exc))
                continue
            merged.sections.extend(doc.sections)
            merged.warnings.extend(doc.warnings)
            merged.meta.update(doc.meta)
        if not merged.sections and skipped:
            raise NotFaqSheet("; ".join(skipped))
        merged.warnings.extend(f"sheet skipped: {s}" for s in skipped)
        return merged
    finally:
        wb.close()


def _records(data: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(data, dict):
        lists = [v for k, v in data.items() if str(k).lower() in ("faqs", "faq", "items", "data", "entries")
                 and isinstance(v, list)]
        if not lists:
            raise NotFaqSheet(f"{where}: not an FAQ file (expected a list of entries or {{\"faqs\": [...]}})")
        data = lists[0]
    if not isinstance(data, list):
        raise NotFaqSheet(f"{where}: not an FAQ file (expected a list of entries)")
    return [r for r in data if isinstance(r, dict)]


def _header_of(records: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for r in records[:50]:
        for k in r:
            seen.setdefault(str(k), None)
    return list(seen)


def _load_json(path: Path) -> LoadedDocument:
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise LoaderError(f"{path.name} is not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    records = _records(data, path.name)
    return rows_to_document(records, _header_of(records), path.name)


def _load_jsonl(path: Path) -> LoadedDocument:
    records: list[dict[str, Any]] = []
    warnings: list[str] = []
    for n, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            warnings.append(f"{path.name} line {n}: not valid JSON ({exc.msg}); skipped")
            continue
        if isinstance(obj, dict):
            records.append(obj)
    doc = rows_to_document(records, _header_of(records), path.name)
    doc.warnings = warnings + doc.warnings
    return doc


def load(path: Path, limits: LoadLimits = DEFAULT_LIMITS) -> LoadedDocument:
    """An FAQ sheet in any supported format (by extension); an .xlsx is checked against ``limits`` first."""
    suffix = path.suffix.lower()
    loaders = {".csv": _load_csv, ".tsv": _load_csv, ".json": _load_json, ".jsonl": _load_jsonl}
    if suffix == ".xlsx":
        doc = _load_xlsx(path, limits)
    elif suffix in loaders:
        doc = loaders[suffix](path)
    else:
        raise LoaderError(f"{path.name}: FAQ sheets must be .csv, .xlsx, .json or .jsonl")
    log.debug("faq loaded file=%s entries=%d", path.name, len(doc.sections))
    return doc

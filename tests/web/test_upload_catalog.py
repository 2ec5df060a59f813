"""Upload-form metadata into the upload folder's catalog.yaml, read back by the ingest pipeline's own loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa_service.ingest.catalog import load_catalog
from qa_service.web.upload_catalog import UploadMetaError, parse_form, write_catalog

pytestmark = pytest.mark.unit


def test_form_fields_are_checked() -> None:
    names = {"guide.pdf": "guide.pdf"}
    ok = parse_form(json.dumps({"guide.pdf": {"title": " Guide ", "url": "", "expiry_date": "2027/01/31"}}), names)
    assert ok == {"guide.pdf": {"title": "Guide", "expiry_date": "2027-01-31"}}
    assert parse_form(None, names) == {}
    for bad, message in [({"other.pdf": {}}, "not among the uploaded files"),
                         ({"guide.pdf": {"colour": "red"}}, "unknown field 'colour'"),
                         ({"guide.pdf": {"url": "ftp://x"}}, "url must start with http"),
                         ({"guide.pdf": {"visibility": "secret"}}, "visibility is public or internal"),
                         ({"guide.pdf": {"effective_date": "soon"}}, "unreadable date"),
                         ({"guide.pdf": {"title": "x" * 301}}, "longer than 300")]:
        with pytest.raises(UploadMetaError, match=message):
            parse_form(json.dumps(bad), names)
    with pytest.raises(UploadMetaError, match="not JSON"):
        parse_form("{", names)


def test_catalog_written_merged_and_read_by_the_pipeline(tmp_path: Path) -> None:
    assert write_catalog(tmp_path, {"a.md": {}}) is None  # nothing typed, no catalog: nothing written
    (tmp_path / "catalog.yaml").write_text("defaults: {visibility: public}\nsources:\n"
                                           "  - file: My Guide.md\n    title: From the catalog\n"
                                           "  - file: b.md\n    title: B\n", encoding="utf-8")
    write_catalog(tmp_path, {"My_Guide.md": {"url": "https://x.example/g"}, "c.md": {"title": "C"}},
                  {"My Guide.md": "My_Guide.md", "b.md": "b.md"})
    cat = load_catalog(tmp_path)
    assert cat is not None
    assert cat.meta_for(tmp_path / "My_Guide.md") == {"visibility": "public", "title": "From the catalog",
                                                      "url": "https://x.example/g"}
    assert cat.meta_for(tmp_path / "b.md")["title"] == "B"
    assert cat.meta_for(tmp_path / "c.md") == {"visibility": "public", "title": "C"}

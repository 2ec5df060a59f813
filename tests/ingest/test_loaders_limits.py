"""Upload amplification: a DOCX/XLSX zip bomb and a PDF whose page tree expands to 65,536 pages are
refused before parsing, quickly and in bounded memory, with an editor-readable reason."""

from __future__ import annotations

import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from qa_service.ingest.loaders import LoaderError, load_file
from qa_service.ingest.loaders.limits import LoadLimits

pytestmark = pytest.mark.unit

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="word/document.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
    "</Relationships>"
)
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
PARA = "<w:p><w:r><w:t>The fee is 20 yuan.</w:t></w:r></w:p>"


def make_docx(path: Path, paragraphs: int, padding: int = 0) -> Path:
    """A minimal valid .docx whose document.xml holds ``paragraphs`` paragraphs (a bomb when large),
    after one paragraph of ``padding`` repeated letters (a large part that parses fast)."""
    head = f'<?xml version="1.0" encoding="UTF-8"?><w:document {W}><w:body>'
    if padding:
        head += f"<w:p><w:r><w:t>The fee is 20 yuan. {'a' * padding}</w:t></w:r></w:p>"
    tail = "</w:body></w:document>"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", RELS)
        with z.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(head.encode())
            block = (PARA * 1000).encode()
            for _ in range(paragraphs // 1000):
                member.write(block)
            member.write(tail.encode())
    return path


def _guarded(path: Path, doc_type: str, limits: LoadLimits | None = None) -> tuple[str, float, int]:
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(LoaderError) as exc:
            load_file(path, doc_type, limits)
        return str(exc.value), time.monotonic() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_docx_zip_bomb_is_refused_fast_in_bounded_memory(tmp_path: Path) -> None:
    bomb = make_docx(tmp_path / "bomb.docx", 1_500_000)  # ~55 MB of XML
    assert bomb.stat().st_size < 400_000
    message, seconds, peak = _guarded(bomb, "docx")
    assert "bomb.docx" in message and "word/document.xml" in message and "MB" in message
    assert seconds < 3 and peak < 32 * 2**20, (seconds, peak)


def test_docx_compression_ratio_is_checked_below_the_size_cap(tmp_path: Path) -> None:
    dense = make_docx(tmp_path / "dense.docx", 0, padding=4_000_000)  # 4 MB part, ratio near 1000:1
    message, _, _ = _guarded(dense, "docx")
    assert "compression ratio" in message
    relaxed = LoadLimits(max_compression_ratio=10_000)
    assert len(load_file(dense, "docx", relaxed).sections) == 1


def test_docx_total_unpacked_cap(tmp_path: Path) -> None:
    small = make_docx(tmp_path / "small.docx", 0, padding=1_100_000)  # 1.1 MB of XML
    relaxed = LoadLimits(max_compression_ratio=10_000)
    message, _, _ = _guarded(small, "docx", LoadLimits(max_unpacked_mb=1, max_compression_ratio=10_000))
    assert "uncompressed" in message and "limit is 1 MB" in message
    assert load_file(small, "docx", relaxed).sections[0].text.startswith("The fee is 20 yuan.")


def test_xlsx_bomb_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "faq.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("xl/sharedStrings.xml", "<sst>" + "<si><t>a</t></si>" * 2_000_000 + "</sst>")
    message, seconds, _ = _guarded(bomb, "faq")
    assert "xl/sharedStrings.xml" in message and seconds < 3


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def page_tree_bomb(path: Path, fanout: int = 16, depth: int = 4, declared: int | None = None) -> Path:
    """``fanout ** depth`` pages from a few objects: each level's Kids repeat one reference."""
    objs: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(depth):
        below = fanout ** (depth - level - 1)
        kid = 3 + level
        count = declared if (declared is not None and level == 0) else fanout * below
        objs.append(f"<< /Type /Pages /Kids [{' '.join([f'{kid} 0 R'] * fanout)}] /Count {count} >>".encode())
    stream = b"BT /F1 12 Tf 72 720 Td (Fee 20 yuan) Tj ET"
    objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {depth + 3} 0 R "
                f"/Resources << /Font << /F1 {depth + 4} 0 R >> >> >>".encode())
    objs.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    path.write_bytes(_pdf(objs))
    return path


def test_pdf_with_65536_pages_is_refused_before_extraction(tmp_path: Path) -> None:
    bomb = page_tree_bomb(tmp_path / "pages.pdf")
    assert bomb.stat().st_size < 2_000
    message, seconds, peak = _guarded(bomb, "pdf")
    assert "65536 pages" in message and "limit is" in message
    assert seconds < 3 and peak < 32 * 2**20, (seconds, peak)


def test_pdf_page_tree_lying_about_its_count_is_counted_with_a_cap(tmp_path: Path) -> None:
    liar = page_tree_bomb(tmp_path / "liar.pdf", fanout=32, depth=4, declared=1)  # 1,048,576 pages
    message, seconds, _ = _guarded(liar, "pdf")
    assert "more than" in message and seconds < 3


def test_pdf_within_the_limit_still_loads(tmp_path: Path) -> None:
    ok = page_tree_bomb(tmp_path / "ok.pdf", fanout=4, depth=2)
    doc = load_file(ok, "pdf")
    assert doc.pages == 16 and "Fee 20 yuan" in doc.sections[0].text
    message, _, _ = _guarded(ok, "pdf", LoadLimits(max_pdf_pages=10))
    assert "16 pages" in message

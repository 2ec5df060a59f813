"""The ingestion scan's personal-data findings come from the guard's detector (one set of rules), in its strict
mode: so the formats the guard now redacts are reported at ingestion too, with checksums where one exists."""

from __future__ import annotations

import pytest

from qa_service.guard import pii
from qa_service.ingest.scan import find_pii

pytestmark = pytest.mark.unit


def test_scan_reports_what_the_shared_detector_finds_in_ingest_mode() -> None:
    text = ("Applicant ID 110105 1949 1231 002X, mobile 138.1234.5678, UK mobile +44 7911 123456, "
            "HKID A123456(3), mail li.si@example.com, IBAN GB82 WEST 1234 5698 7654 32.")
    found = find_pii(text)
    assert [k for k, _ in found] == ["cn_id", "cn_mobile", "phone", "hk_id", "email", "iban"]
    assert ("cn_id", "110***********002X") in found and ("cn_mobile", "138****5678") in found
    assert len(found) == len(pii.find(text, "ingest"))


def test_scan_follows_the_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    """No second set of rules: change the detector's answer and the scan's changes with it."""
    monkeypatch.setattr("qa_service.ingest.scan.find",
                        lambda text, mode: [pii.PiiMatch("EMAIL", 0, 5, None, "a@b.c")] if mode == "ingest" else [])
    assert find_pii("anything") == [("email", "a***@b.c")]

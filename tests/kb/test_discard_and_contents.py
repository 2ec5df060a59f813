"""Discarding a draft (audited, index dropped, only drafts), a version's documents and the diff by document, on
both databases with the real Edge store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from qa_service.db.models import AuditEvent
from qa_service.ingest.pipeline import run_ingest
from qa_service.kb import contents, versions

pytestmark = pytest.mark.integration


def _folder(root: Path, dollars: int, extra: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "catalog.yaml").write_text("sources:\n  - file: pool.md\n    title: Swimming pool\n"
                                       "    url: https://town.example/pool\n    expiry_date: 2099-12-31\n",
                                       encoding="utf-8")
    (root / "pool.md").write_text(f"# Pool\n\n## Tickets\nA swimming pool ticket costs {dollars} dollars.\n\n"
                                  "## Hours\nThe pool opens at 7.", encoding="utf-8")
    if extra:
        (root / "gym.md").write_text("# Gym\nThe gym opens at 6.", encoding="utf-8")
    return root


def test_discard_draft_documents_and_readable_diff(make_services: Any, db_url: str, tmp_path: Path) -> None:
    svc = make_services(database_url=db_url)
    assert run_ingest(svc, [_folder(tmp_path / "a", 10)], "town", publish=True).version == 1
    assert run_ingest(svc, [_folder(tmp_path / "b", 12, extra=True)], "town").version == 2
    with svc.db.session() as s:
        docs = contents.documents(s, "town", 1)
        assert [(d["source_id"], d["title"], d["url"], d["expiry_date"], d["expired"]) for d in docs] == [
            ("pool.md", "Swimming pool", "https://town.example/pool", "2099-12-31", False)]
        diff = contents.readable_diff(s, svc.store, "town", 1, 2)
    assert [d["source_id"] for d in diff["added"]] == ["gym.md"] and diff["removed"] == []
    [pool] = diff["changed"]
    [tickets] = pool["passages"]
    assert tickets["change"] == "changed" and "10 dollars" in tickets["old"] and "12 dollars" in tickets["new"]
    assert diff["counts"] == {"added": 1, "removed": 0, "changed": 1, "passages": 2}  # gym's passage too

    with svc.db.session() as s, pytest.raises(versions.VersionError, match="only a draft"):
        versions.discard_draft(s, svc.store, "town", 1, "erin")
    with svc.db.session() as s:
        row = versions.discard_draft(s, svc.store, "town", 2, "erin")
        assert row.state == "discarded"
    assert not svc.store.has_version("town", 2) and svc.store.live_version("town") == 1
    with svc.db.session() as s:
        [ev] = s.scalars(select(AuditEvent).where(AuditEvent.action == "kb.discard"))
        assert (ev.actor, ev.role, ev.target) == ("erin", "editor", "v2")
    assert run_ingest(svc, [_folder(tmp_path / "c", 14)], "town").version == 3  # builds on live again

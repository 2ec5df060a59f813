"""The console's API over HTTP (SQLite): the filtered, grouped queue; an item with its conversation; staff-chosen
citations and the [n] check; resolving identical questions together; editing curated answers; a version's
documents, the readable diff, asking a draft, discarding it; upload metadata into the catalog."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from qa_service.db.models import AuditEvent, Source
from qa_service.ingest.pipeline import run_ingest
from qa_service.ingest.worker import Worker
from qa_service.review import queue
from qa_service.users.accounts import create_user
from qa_service.web.app import create_app

pytestmark = pytest.mark.integration
HELD = "How long is a parking permit valid?"


@pytest.fixture
def client(town: Any) -> Any:
    town.settings.server.default_tenant = "town"
    town.settings.server.citizen_rate_per_minute = 0
    # the queue counts below are exact: no answered (medium) question may be sampled into review (the sample is
    # drawn by a hash of the random trace id, one in five at the shipped rate)
    town.__dict__["risk_policy"] = dataclasses.replace(town.risk_policy, sample_rate_medium=0.0)
    with town.db.session() as s:
        _, editor = create_user(s, "erin", "editor", "town")
        _, staff = create_user(s, "sam", "staff", "town")
    with TestClient(create_app(town, warm=False)) as c:
        yield c, {"Authorization": f"Bearer {editor}"}, {"Authorization": f"Bearer {staff}"}, town


def _actions(town: Any, action: str) -> list[AuditEvent]:
    with town.db.session() as s:
        rows = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        for r in rows:
            s.expunge(r)
        return rows


def test_queue_filters_groups_and_conversation(client: Any) -> None:
    c, _, staff, _ = client
    first = c.post("/api/v1/ask", json={"question": "居住证丢了怎么办?",
                                        "conversation_id": "conv-1"}).json()
    assert first["decision"] == "answered"
    held = c.post("/api/v1/ask", json={"question": HELD, "conversation_id": "conv-1"}).json()
    assert held["decision"] == "held_for_review"
    for _ in range(3):
        assert c.post("/api/v1/ask", json={"question": HELD.lower() + "  "}).json()["decision"] == "held_for_review"

    q = c.get("/api/v1/review/town/queue", headers=staff).json()
    assert q["total"] == 4
    [(key, ids)] = q["groups"].items()
    assert len(ids) == 4 and key == "how long is a parking permit valid"
    assert c.get("/api/v1/review/town/queue?kind=sampled", headers=staff).json()["total"] == 0
    assert c.get("/api/v1/review/town/queue?kind=held&risk=high", headers=staff).json()["total"] == 4
    assert c.get("/api/v1/review/town/queue?sla=overdue", headers=staff).json()["total"] == 0
    assert c.get("/api/v1/review/town/queue?sla=on_time", headers=staff).json()["total"] == 4
    assert c.get("/api/v1/review/town/queue?min_age_hours=1", headers=staff).json()["total"] == 0
    assert c.get("/api/v1/review/town/queue?risk=extreme", headers=staff).status_code == 422

    item = next(i for i in q["items"] if i["ticket"] == held["ticket"])
    view = c.get(f"/api/v1/review/town/items/{item['id']}", headers=staff).json()
    assert [t["question"] for t in view["conversation"]] == ["居住证丢了怎么办?"]
    assert "身份证" in view["conversation"][0]["answer"] and view["conversation"][0]["decision"] == "answered"
    assert len(view["same_question"]) == 3
    other = next(i for i in q["items"] if i["id"] != item["id"])
    assert c.get(f"/api/v1/review/town/items/{other['id']}", headers=staff).json()["conversation"] == []
    assert c.get("/api/v1/review/town/items/nope", headers=staff).status_code == 404


def test_staff_choose_citations_and_markers_are_checked(client: Any) -> None:
    c, _, staff, _ = client
    held = c.post("/api/v1/ask", json={"question": HELD}).json()
    item = c.post("/api/v1/review/town/claim", headers=staff, json={}).json()
    hits = c.get("/api/v1/review/town/passages", headers=staff, params={"q": "parking permit fees"}).json()["hits"]
    assert hits and hits[0]["text"]
    staff_only = c.get("/api/v1/review/town/passages", headers=staff, params={"q": "waive the permit fee"}).json()
    assert any(h["visibility"] == "internal" for h in staff_only["hits"])  # staff search sees internal guidance
    chosen = [next(h["chunk_id"] for h in hits if h["source_id"] == "parking.md")]
    url = f"/api/v1/review/town/items/{item['id']}"
    bad = c.post(url, headers=staff, json={"action": "edit", "answer": "Twelve months [1]. Ask at the desk [2].",
                                           "citations": chosen})
    assert bad.status_code == 422 and "[2] cites no chosen passage" in bad.json()["detail"]
    none = c.post(url, headers=staff, json={"action": "edit", "answer": "Twelve months [1].", "citations": []})
    assert none.status_code == 422 and "no passage is chosen" in none.json()["detail"]
    draft_n = {p["n"] for p in item["citations"]}
    far = max(draft_n) + 5
    kept = c.post(url, headers=staff, json={"action": "edit", "answer": f"Twelve months [{far}]."})
    assert kept.status_code == 422 and f"[{far}] cites no passage of the draft" in kept.json()["detail"]
    missing = c.post(url, headers=staff, json={"action": "edit", "answer": "x [1]", "citations": ["nope:0"]})
    assert missing.status_code == 422 and "not in the live knowledge base" in missing.json()["detail"]
    ok = c.post(url, headers=staff, json={"action": "edit", "answer": "A permit is valid for twelve months. [1]",
                                          "citations": chosen})
    assert ok.status_code == 200, ok.text
    assert [x["chunk_id"] for x in ok.json()["final_citations"]] == chosen
    ticket = c.get(f"/api/v1/tickets/{held['ticket']}").json()
    assert ticket["status"] == "answered" and ticket["citations"][0]["chunk_id"] == chosen[0]
    assert ticket["citations"][0]["url"] == "https://town.example/parking"


def test_identical_questions_are_resolved_together_and_curated_needs_the_editor(client: Any) -> None:
    c, _, staff, town = client
    tickets = [c.post("/api/v1/ask", json={"question": HELD}).json()["ticket"] for _ in range(3)]
    q = c.get("/api/v1/review/town/queue", headers=staff).json()
    ids = [i["id"] for i in q["items"]]
    first = c.post("/api/v1/review/town/claim", headers=staff, json={"item_id": ids[0]}).json()
    r = c.post(f"/api/v1/review/town/items/{first['id']}", headers=staff,
               json={"action": "edit", "answer": "Twelve months.", "save_curated": True, "same_for": ids[1:]})
    assert r.status_code == 403 and "editor role" in r.json()["detail"]
    with town.db.session() as s:
        other = queue.new_item(s, town.settings.review, tenant="town", kind="feedback", question="Another question",
                               lang="en", draft_answer="x")
        other_id = other.id
    r = c.post(f"/api/v1/review/town/items/{first['id']}", headers=staff,
               json={"action": "edit", "answer": "Twelve months.", "same_for": [other_id]})
    assert r.status_code == 409 and "asks a different question" in r.json()["detail"]
    assert c.get(f"/api/v1/review/town/items/{first['id']}", headers=staff).json()["state"] == "claimed"  # rolled back
    r = c.post(f"/api/v1/review/town/items/{first['id']}", headers=staff,
               json={"action": "edit", "answer": "Twelve months.", "same_for": ids[1:]})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["also_resolved"]) == sorted(ids[1:])
    for t in tickets:
        assert c.get(f"/api/v1/tickets/{t}").json()["answer"] == "Twelve months."
    assert [i["id"] for i in c.get("/api/v1/review/town/queue", headers=staff).json()["items"]] == [other_id]
    assert len(_actions(town, "review.edit")) == 3


def test_curated_answers_are_listed_edited_suspended_and_reinstated(client: Any) -> None:
    c, editor, staff, town = client
    row = c.post("/api/v1/curated/town", headers=editor,
                 json={"questions": ["Where do I renew a parking permit?"], "answer": "At the town hall desk.",
                       "lang": "en"}).json()
    url = f"/api/v1/curated/town/{row['id']}"
    assert c.patch(url, headers=staff, json={"answer": "x"}).status_code == 403
    r = c.patch(url, headers=editor, json={"answer": "At the town hall desk, weekdays.",
                                           "questions": ["Where do I renew a parking permit?",
                                                         "parking permit renewal office"]})
    assert r.status_code == 200, r.text
    assert r.json()["questions"][1] == "parking permit renewal office" and r.json()["embedded_with"]
    assert c.patch(url, headers=editor, json={"questions": []}).status_code == 422
    assert c.patch("/api/v1/curated/town/nope", headers=editor, json={"answer": "x"}).status_code == 404
    assert c.post(f"{url}/suspend", headers=editor).json()["state"] == "suspended"
    assert c.patch(url, headers=editor, json={"activate": True}).json()["state"] == "active"
    listed = c.get("/api/v1/curated/town", headers=staff).json()
    assert [x["answer"] for x in listed] == ["At the town hall desk, weekdays."]
    edits = _actions(town, "curated.edit")
    assert [e.actor for e in edits] == ["erin", "erin"]


def test_documents_diff_ask_draft_and_discard(client: Any, tmp_path: Path) -> None:
    c, editor, staff, town = client
    docs = c.get("/api/v1/kb/town/versions/1/sources", headers=editor).json()
    by_id = {d["source_id"]: d for d in docs}
    assert by_id["parking.md"]["url"] == "https://town.example/parking"
    assert by_id["staff-notes.txt"]["visibility"] == "internal"
    assert by_id["old-fees.md"]["expired"] is True and by_id["old-fees.md"]["expiry_date"] == "2020-12-31"
    assert c.get("/api/v1/kb/town/versions/1/sources", headers=staff).status_code == 403

    from tests.kbdata import write_folder

    folder = write_folder(tmp_path / "kb2")
    (folder / "parking.md").write_text((folder / "parking.md").read_text(encoding="utf-8")
                                       .replace("40 dollars", "45 dollars"), encoding="utf-8")
    (folder / "library.md").write_text("# Library cards\nA library card is free for residents.", encoding="utf-8")
    run_ingest(town, [folder], "town", publish=False)
    d = c.get("/api/v1/kb/town/changes", headers=editor, params={"v1": 1, "v2": 2}).json()
    assert [x["source_id"] for x in d["added"]] == ["library.md"]
    [changed] = d["changed"]
    assert changed["title"] == "Parking permits"
    [p] = [p for p in changed["passages"] if p["change"] == "changed"]
    assert "40 dollars" in p["old"] and "45 dollars" in p["new"]

    q = {"question": "How much does a resident parking permit cost?", "lang": "en"}
    draft = c.post("/api/v1/kb/town/versions/2/ask", headers=editor, json=q).json()
    live = c.post("/api/v1/kb/town/versions/1/ask", headers=editor, json=q).json()
    assert draft["kb_version"] == 2 and "45 dollars" in draft["answer"] and draft["preview"] is True, draft
    assert ("town", 2) not in town.term_stats._cache  # the live path's statistics are not evicted by a preview
    assert live["kb_version"] == 1 and "40 dollars" in live["answer"]
    assert "40 dollars" in c.post("/api/v1/ask", json=q).json()["answer"]  # citizens still get the live version
    assert len(_actions(town, "kb.preview")) == 2

    assert c.post("/api/v1/kb/town/versions/1/discard", headers=editor).status_code == 409  # live: not a draft
    r = c.post("/api/v1/kb/town/versions/2/discard", headers=editor)
    assert r.status_code == 200 and r.json()["state"] == "discarded"
    assert not town.store.has_version("town", 2)
    [ev] = _actions(town, "kb.discard")
    assert ev.actor == "erin" and ev.target == "v2"
    assert c.post("/api/v1/kb/town/versions/2/ask", headers=editor, json=q).status_code == 409


def test_upload_metadata_goes_into_the_catalog(client: Any) -> None:
    c, editor, _, town = client
    meta = {"pool.md": {"title": "Swimming pool", "url": "https://town.example/pool", "visibility": "public",
                        "effective_date": "2026-01-01", "expiry_date": "2030-12-31"}}
    bad = c.post("/api/v1/kb/town/ingest", headers=editor, data={"meta": json.dumps(
        {"pool.md": {"url": "javascript:alert(1)"}})}, files=[("files", ("pool.md", b"# Pool\nOpen at 7.", "text/md"))])
    assert bad.status_code == 422 and "url must start with http" in bad.json()["detail"]
    dates = c.post("/api/v1/kb/town/ingest", headers=editor, data={"meta": json.dumps(
        {"pool.md": {"effective_date": "2030-01-01", "expiry_date": "2029-01-01"}})},
        files=[("files", ("pool.md", b"# Pool\nOpen at 7.", "text/md"))])
    assert dates.status_code == 422 and "before effective_date" in dates.json()["detail"]
    r = c.post("/api/v1/kb/town/ingest", headers=editor, data={"meta": json.dumps(meta), "publish": "true"},
               files=[("files", ("pool.md", b"# Pool\nThe pool opens at 7 every morning.", "text/markdown"))])
    assert r.status_code == 202, r.text
    worker = Worker(town.settings)
    try:
        worker.run(once=True)
    finally:
        worker.close()
    with town.db.session() as s:
        src = s.scalar(select(Source).where(Source.tenant == "town", Source.source_id == "pool.md"))
        assert src is not None
        assert (src.title, src.url, str(src.effective_date), str(src.expiry_date)) == (
            "Swimming pool", "https://town.example/pool", "2026-01-01", "2030-12-31")
    ans = c.post("/api/v1/ask", json={"question": "When does the pool open?", "lang": "en"}).json()
    assert any(x["url"] == "https://town.example/pool" for x in ans["citations"]), ans


def test_an_uploaded_catalog_is_read_and_the_form_wins(client: Any) -> None:
    c, editor, _, town = client
    catalog = ("sources:\n  - file: gym hours.md\n    title: Gym opening hours\n    url: https://town.example/old\n"
               "    visibility: internal\n")
    meta = {"gym hours.md": {"url": "https://town.example/gym"}}
    r = c.post("/api/v1/kb/town/ingest", headers=editor, data={"meta": json.dumps(meta)},
               files=[("files", ("gym hours.md", b"# Gym\nThe gym opens at 6 on weekdays.", "text/markdown")),
                      ("files", ("catalog.yaml", catalog.encode(), "application/yaml"))])
    assert r.status_code == 202, r.text
    assert sorted(r.json()["files"]) == ["catalog.yaml", "gym_hours.md"]  # the stored name differs
    worker = Worker(town.settings)
    try:
        worker.run(once=True)
    finally:
        worker.close()
    with town.db.session() as s:
        src = s.scalar(select(Source).where(Source.tenant == "town", Source.source_id == "gym_hours.md"))
        assert src is not None
        assert (src.title, src.url, src.visibility) == ("Gym opening hours", "https://town.example/gym", "internal")
